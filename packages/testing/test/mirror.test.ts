// `peers.mirror(set)`: a mirror of an encrypted set on a peer of its own, that stays while
// the writers come and go (issue 15's harness helper).
import type { Multifeed } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { createPeers, untilSynced, waitUntil } from '../src/index.js'

const entries = async (multi: Multifeed<unknown>): Promise<string[]> => {
  const out: string[] = []
  for await (const entry of multi.read()) if ('value' in entry) out.push(String(entry.value))
  return out.sort()
}

describe('peers.mirror()', () => {
  for (const networker of ['in-process', 'hyperswarm'] as const) {
    it(`serves a late reader after the writer left, alone (${networker})`, async () => {
      await using peers = await createPeers(1, { networker, multifeed: { encrypted: true } })
      const [alice] = await peers.multifeed()
      const w = await alice!.writer()
      await w.append(['one', 'two', 'three'].map((text) => Buffer.from(text)))
      await w.close()

      const mirror = await peers.mirror(alice!)
      expect(mirror.tier).toBe('mirror')
      expect(mirror.key.equals(alice!.mirrorKey!)).toBe(true)
      expect(peers.at(-1).multifeeds()).toEqual([mirror])
      await untilSynced(peers, { timeout: 20_000 })

      // The writer goes; a reader comes and meets the mirror alone.
      await peers.at(0).disconnect()
      const bob = await peers.addPeer()
      const reader = await bob.join(alice!.key)
      await untilSynced([bob, peers.at(1)], { timeout: 20_000 })
      expect(await entries(reader)).toEqual(['one', 'three', 'two'])
      const mirrorPeer = peers.at(1).networker
      await waitUntil(() => bob.networker.peers().length === 1, { timeout: 20_000 })
      expect(bob.networker.peers()).toHaveLength(1)
      expect(mirrorPeer.peers()).toHaveLength(1)
      // The mirror holds the blocks and cannot read them.
      expect(() => mirror.read()).toThrow(expect.objectContaining({ code: 'ERR_NOT_READABLE' }))
    }, 60_000)
  }

  it('takes a member key or a mirror key too, and refuses a plain set or junk with a code', async () => {
    await using peers = await createPeers(1, { networker: 'in-process' })
    const [plain] = await peers.multifeed()
    await expect(peers.mirror(plain!)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(peers.mirror(42 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    await expect(peers.mirror('junk')).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    await using store = await createPeers(1, {
      networker: 'in-process',
      multifeed: { encrypted: true }
    })
    const [member] = await store.multifeed()
    for (const key of [member!.key, member!.mirrorKey!.toString('hex')]) {
      const mirror = await peers.mirror(key, { swarm: false })
      expect(mirror.key.equals(member!.mirrorKey!)).toBe(true)
      await mirror.close()
    }
  })
})
