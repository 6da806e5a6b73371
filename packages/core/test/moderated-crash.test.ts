/**
 * A moderation block survives SIGKILL at any point (issue 14): the record is
 * on disk before anything acts on it, and at open what the records imply
 * but a crash left half done is finished. The fixture blocks a member's
 * feed and is killed right after the record is written, or while the feed's
 * core is being deleted; the re-opened founder no longer lists, holds nor
 * admits the feed.
 */
import { rm } from 'node:fs/promises'
import CorestoreClass from 'corestore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { Multifeed } from '../src/index.js'
import { outputOf, runFixture } from './fixtures/child.js'
import { link, onCleanup, tmpDir, until } from './helpers.js'

describe('a moderation block across SIGKILL', () => {
  for (const round of ['record', 'purge']) {
    it(`killed ${round === 'record' ? 'right after the record is written' : 'while the core is deleted'}: re-opened, the feed is gone, purged and refused`, async () => {
      const dir = await tmpDir()
      onCleanup(() => rm(`${dir}-peer`, { recursive: true, force: true }))
      const out = await outputOf(runFixture('crash-moderate.mjs', [dir, round]))
      const killedAt = round === 'record' ? 'recorded still in the set' : 'purging out of the set'
      expect(out.split('\n')).toContain(killedAt)
      const [keyHex, feedHex] = out.match(/^set (\S+) (\S+)$/m)!.slice(1) as [string, string]
      const F = Buffer.from(feedHex, 'hex')

      const store = new CorestoreClass(dir, { wait: true })
      onCleanup(() => store.close())
      const founder = (await Multifeed.open(store, keyHex)) as Multifeed
      onCleanup(() => founder.close())
      expect(founder.moderation!.blocked()).toMatchObject([{ target: { feed: F }, reason: 'spam' }])
      expect(founder.feed(F)).toBeNull()
      expect(await store.storage.hasCore(crypto.discoveryKey(F))).toBe(false)

      // The member that still holds F offers it again: refused. Its next writer
      // arrives after F's offer, and F stays out.
      const peerStore = new CorestoreClass(`${dir}-peer`, { wait: true })
      onCleanup(() => peerStore.close())
      const member = (await Multifeed.open(peerStore, founder.invite)) as Multifeed
      onCleanup(() => member.close())
      expect(member.feed(F)).not.toBeNull()
      link(founder.replicate(true), member.replicate(false))
      const signal = await member.writer('signal')
      await signal.append(Buffer.from('after'))
      await signal.close()
      await until(() => founder.feed(signal.key!)?.length === 1, 'the founder got the signal feed')
      expect(founder.feed(F)).toBeNull()
    })
  }
})
