/**
 * Moderated sets between real peers (protocol minor 3): their records are
 * reconciled on the set's channel before the feeds, the feeds then sync as
 * in any set; a peer that speaks no moderation on a moderated set is
 * ERR_VERSION_MISMATCH and gets no feed; plain sets still open in minor 2.
 */
import type { MultifeedError, MultifeedPeer, SyncInfo } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { decodeOpen, decodeVersion, encodeOpen } from '../src/protocol/messages.js'
import { next, onCleanup, pipe, tmpStore } from './helpers.js'
import { openBytes, puppet } from './puppet.js'
import { open } from './support.js'

async function moderated(invite?: string | null) {
  const multi = await open(await tmpStore(), invite ?? null, invite ? {} : { moderated: true })
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
