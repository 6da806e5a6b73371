/**
 * What a multifeed tells of its peers (issue 13, points 7 and 8b):
 * `multi.progress()` counts what moved cumulatively, closed peer sessions
 * included, and `peer.remoteLength()` takes what users hold of a feed.
 */
import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import z32 from 'z32'
import { next, onCleanup, pipe, tmpStore, until, untilConverged } from './helpers.js'

async function open(key?: Buffer | null, options = {}): Promise<Multifeed> {
  const multi = await Multifeed.open(await tmpStore(), key, options)
  onCleanup(() => multi.close())
  return multi
}

async function writerWith(multi: Multifeed, blocks: number, name = 'w'): Promise<Buffer> {
  const w = await multi.writer(name)
  await w.append(Array.from({ length: blocks }, (_, i) => Buffer.from(`${name}-${i}`)))
  const key = w.key!
  await w.close()
  return key
}

describe('multi.progress()', () => {
  it('received/sent are cumulative: a closed peer session keeps what it moved, a new one adds', async () => {
    const a = await open()
    const b = await open(a.key)
    await writerWith(a, 10)
    const first = pipe(a, b)
    await untilConverged([a, b], 1)
    await until(() => b.progress().received.blocks === 10, 'b counted the 10 blocks')
    const bytes = b.progress().received.bytes
    expect(bytes).toBeGreaterThan(0)
    expect(a.progress().sent).toEqual({ blocks: 10, bytes })

    const gone = next<[MultifeedPeer]>(b, 'peer-remove')
    await first.destroy()
    await gone
    expect(b.peers()).toHaveLength(0)
    expect(b.progress().received).toEqual({ blocks: 10, bytes })
    await until(() => a.peers().length === 0, 'a saw the peer go')
    expect(a.progress().sent).toEqual({ blocks: 10, bytes })

    // a second connection (what replaces a duplicate one) adds to the totals
    await writerWith(a, 5, 'more')
    pipe(a, b)
    await untilConverged([a, b], 2)
    await until(() => b.progress().received.blocks === 15, 'b counted 15 blocks')
    // the peer's own progress is this connection's alone
    expect(b.peers()[0]!.progress.received.blocks).toBe(5)
  })
})

describe('peer.remoteLength()', () => {
  it('takes a FeedInfo or a key (Buffer, hex, z32); undefined for a feed outside the set', async () => {
    const a = await open()
    const b = await open(a.key, { sparse: true })
    const key = await writerWith(a, 2)
    pipe(a, b)
    await until(() => b.peers()[0]?.reconciled === true, 'b reconciled')
    const peer = b.peers()[0]!
    const info = b.feed(key)!
    expect(info.length).toBe(0) // sparse: nothing fetched, the peer told us what it holds
    expect(peer.remoteLength(info)).toBe(2)
    expect(peer.remoteLength(key)).toBe(2)
    expect(peer.remoteLength(new Uint8Array(key))).toBe(2)
    expect(peer.remoteLength(key.toString('hex'))).toBe(2)
    expect(peer.remoteLength(z32.encode(key))).toBe(2)
    expect(peer.remoteLength(crypto.randomBytes(32))).toBeUndefined()
    expect(() => peer.remoteLength('not a key')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_KEY' })
    )
  })
})
