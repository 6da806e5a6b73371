/**
 * Moderated sets between real peers (protocol minor 3): their records are
 * reconciled on the set's channel before the feeds, the feeds then sync as
 * in any set; a peer that speaks no moderation on a moderated set is
 * ERR_VERSION_MISMATCH and gets no feed; plain sets still open in minor 2.
 */
import {
  type ModerationEvent,
  Multifeed,
  type MultifeedError,
  type MultifeedPeer,
  type SyncInfo
} from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { decodeOpen, decodeVersion, encodeOpen } from '../src/protocol/messages.js'
import { link, next, onCleanup, pipe, tmpStore, until } from './helpers.js'
import { openBytes, puppet } from './puppet.js'
import { type Received, spy } from './spy.js'
import { open } from './support.js'

/** A moderated set founded here (no invite), or joined by its invite. */
async function moderated(invite?: string | null): Promise<Multifeed> {
  const options = invite ? {} : { moderated: true }
  const multi = (await Multifeed.open(await tmpStore(), invite ?? null, options)) as Multifeed
  onCleanup(() => multi.close())
  return multi
}

describe('moderated sets on the wire', () => {
  it('founder and member reconcile their records, then their feeds, both ways', async () => {
    const a = await moderated()
    const b = await moderated(a.invite)
    const wa = await a.writer('alice')
    const wb = await b.writer('bob')
    await wa.append(Buffer.from('a0'))
    await wb.append(Buffer.from('b0'))
    onCleanup(async () => {
      await wa.close()
      await wb.close()
    })
    const synced = Promise.all([
      next<[MultifeedPeer, SyncInfo]>(a, 'reconciled'),
      next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
    ])
    pipe(a, b)
    const [[peerOfA, infoA], [peerOfB, infoB]] = await synced
    expect(infoA.added.map((f) => f.key)).toEqual([wb.key])
    expect(infoB.added.map((f) => f.key)).toEqual([wa.key])
    // Both records summaries were announced (minor 3); the records agree.
    expect(peerOfA.stats.recordsRefused.malformed).toBe(0)
    expect(peerOfB.stats.recordsRefused.signature).toBe(0)
    await Promise.all([a.downloaded({ timeout: 10_000 }), b.downloaded({ timeout: 10_000 })])
    const fromA = await b.get(wa.key!)
    expect((await fromA.get(0))?.toString()).toBe('a0')
    await fromA.close()
  })

  it('a peer without moderation on a moderated set: ERR_VERSION_MISMATCH, no feed named to it', async () => {
    const a = await moderated()
    const w = await a.writer('alice')
    await w.append(Buffer.from('a0'))
    onCleanup(() => w.close())
    const errorSeen = next<[MultifeedError]>(a, 'peer-error')
    const p = await puppet(a.replicate(true), a.key, {
      // An honest open of minor 2: no records summary.
      open: (self) => openBytes({ minor: 2, capability: self.capability() })
    })
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_VERSION_MISMATCH')
    expect(err.message).toMatch(/moderat/)
    await p.closed
    // No feed travelled.
    expect(p.received.symbols).toEqual([])
    expect(p.received.elements).toEqual([])
  })

  it('a plain set still opens in minor 2, its open byte for byte without records', async () => {
    const a = await open()
    const p = await puppet(a.replicate(true), a.key, {
      open: (self) => openBytes({ minor: 2, capability: self.capability() })
    })
    const raw = await p.opened
    expect(decodeVersion(raw).minor).toBe(2)
    // The open ends with the sketch: nothing appended.
    expect(encodeOpen(decodeOpen(raw)).equals(raw)).toBe(true)
  })
})

/** Two multifeeds linked, each side's received plaintext spied on; destroyed after the test. */
function watched(x: Multifeed, y: Multifeed) {
  const sx = x.replicate(true)
  const sy = y.replicate(false)
  const byX = spy(sx)
  const byY = spy(sy)
  return { pipe: link(sx, sy), byX, byY }
}

/** How many times `bytes` occurs in what one side received. */
function occurrences(received: Received, bytes: Buffer): number {
  const all = Buffer.concat(received.plaintext)
  let n = 0
  for (let at = all.indexOf(bytes); at !== -1; at = all.indexOf(bytes, at + 1)) n++
  return n
}

/** True when `bytes` crossed either way on a watched link. */
const crossed = (w: ReturnType<typeof watched>, bytes: Buffer) =>
  w.byX.contains(bytes) || w.byY.contains(bytes)

describe('a block reaches a stale peer before the blocked feed can', () => {
  for (const staleInitiates of [true, false]) {
    it(`the stale peer (${staleInitiates ? 'initiator' : 'responder'}) takes the block first: the feed never crosses the reconnect`, async () => {
      const founder = await moderated()
      const spammer = await moderated(founder.invite)
      const stale = await moderated(founder.invite)
      const w = await spammer.writer('spam')
      onCleanup(() => w.close())
      await w.append([Buffer.from('spam-block-0'), Buffer.from('spam-block-1')])
      const F = Buffer.from(w.key!)
      const discoveryKey = Buffer.from(w.discoveryKey!)
      // The stale peer and the founder both hold the spam, then the stale one goes away.
      const first = watched(spammer, stale)
      pipe(founder, spammer)
      await until(
        () => stale.feed(F)?.length === 2 && founder.feed(F)?.length === 2,
        'both hold the spam'
      )
      await stale.downloaded({ timeout: 10_000 })
      await first.pipe.destroy()

      const removedAtSpammer = next<[ModerationEvent]>(spammer, 'moderation')
      await founder.moderation!.block({ feed: F }, { reason: 'spam' })
      expect(founder.feed(F)).toBeNull()
      // The spammer took the record over the live link (its writer removed there too).
      expect((await removedAtSpammer)[0].blocked.map((b) => b.reason)).toEqual(['spam'])

      // The stale peer comes back, to the founder.
      const tookBlock = next<[ModerationEvent]>(stale, 'moderation')
      const reconciled = Promise.all([
        next<[MultifeedPeer, SyncInfo]>(stale, 'reconciled'),
        next<[MultifeedPeer, SyncInfo]>(founder, 'reconciled')
      ])
      const back = staleInitiates ? watched(stale, founder) : watched(founder, stale)
      const [event] = await tookBlock
      expect(event.removed.map((f) => f.key.toString('hex'))).toEqual([F.toString('hex')])
      const [[peerOfStale]] = await reconciled
      // Counted on the wire, both ways: no core of F (its discovery key), no block of F; its
      // key crossed once, inside the block record, to the stale peer.
      const byStale = staleInitiates ? back.byX : back.byY
      const byFounder = staleInitiates ? back.byY : back.byX
      for (const bytes of [discoveryKey, Buffer.from('spam-block-')]) {
        expect(crossed(back, bytes)).toBe(false)
      }
      expect(back.byX.opensOf('hypercore/alpha') + back.byY.opensOf('hypercore/alpha')).toBe(0)
      expect(occurrences(byStale, F)).toBe(1)
      expect(occurrences(byFounder, F)).toBe(0)
      expect(stale.feed(F)).toBeNull()
      expect(peerOfStale.stats.recordsAdded).toBe(1)
    })
  }
})

describe('records new while connected', () => {
  it('reach the peer live, and a record taken from a peer never goes back to it', async () => {
    const founder = await moderated()
    const member = await moderated(founder.invite)
    const w = await member.writer('member')
    onCleanup(() => w.close())
    const synced = Promise.all([next(founder, 'reconciled'), next(member, 'reconciled')])
    const link1 = watched(founder, member)
    await synced
    const F = Buffer.from(w.key!)
    const took = next<[ModerationEvent]>(member, 'moderation')
    await founder.moderation!.grant(member.moderation!.identity)
    expect((await took)[0].moderators).toBe(true)
    // What the member sends after it took the grant comes after any echo of it.
    await w.append(Buffer.from('after the grant'))
    await until(() => founder.feed(F)?.length === 1, 'the member’s append arrived')
    const [peerOfFounder] = founder.peers()
    expect(peerOfFounder!.stats.recordsSent).toBeGreaterThanOrEqual(1)
    expect(peerOfFounder!.stats.recordsRefused.duplicate).toBe(0)
    expect(link1.byY.plaintext.length).toBeGreaterThan(0)
  })
})
