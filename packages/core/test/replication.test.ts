/**
 * Replication over a pipe on the new API: both ways with what each side
 * learned, idle cores detached and closed while the connection lives, a
 * connection dropped at random (seeded) points during a sync, and a core on
 * 15 connections at once.
 */
import type { MultifeedPeer, SyncInfo } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { next, onCleanup, pipe, until, untilConverged } from './helpers.js'
import { hex, noUnhandled, open } from './support.js'

noUnhandled()

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('replication', () => {
  it('exchanges feeds and blocks both ways; each side learns what the other taught it', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const wa = await a.writer('alice')
    const wb = await b.writer('bob')
    await wa.append([Buffer.from('a0'), Buffer.from('a1')])
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
    const [[peerOfA, infoA], [, infoB]] = await synced
    expect(infoA.added.map((f) => f.key)).toEqual([wb.key])
    expect(infoB.added.map((f) => f.key)).toEqual([wa.key])
    expect(infoA.inSync).toBe(false)
    expect(peerOfA.remotePublicKey).toBeInstanceOf(Buffer)
    expect(await peerOfA.synced).toBe(infoA)
    await Promise.all([a.downloaded({ timeout: 10_000 }), b.downloaded({ timeout: 10_000 })])
    const fromA = await b.get(wa.key!)
    const fromB = await a.get(wb.key!)
    expect((await fromA.get(1))?.toString()).toBe('a1')
    expect((await fromB.get(0))?.toString()).toBe('b0')
    await fromA.close()
    await fromB.close()
  })

  it('an idle core is detached and closed (idleTimeout: 50) while the connection lives; a later append still arrives', async () => {
    const a = await open(null, null, { idleTimeout: 50 })
    const b = await open(null, a.key, { idleTimeout: 50 })
    const w = await a.writer()
    onCleanup(() => w.close())
    await w.append([Buffer.from('0'), Buffer.from('1'), Buffer.from('2')])
    const p = pipe(a, b)
    await until(() => b.feed(w.key!)?.length === 3, 'b holds the three blocks')
    await until(() => a.openCores === 0 && b.openCores === 0, 'both close the idle core')
    expect(a.peers()).toHaveLength(1)
    expect(b.peers()).toHaveLength(1)
    expect(p.a.destroyed).toBe(false)
    await w.append(Buffer.from('3'))
    await until(() => b.feed(w.key!)?.length === 4, 'the later append reaches b')
    await until(() => a.openCores === 0 && b.openCores === 0, 'and the core closes again')
    const session = await b.get(w.key!)
    expect((await session.get(3))?.toString()).toBe('3')
    await session.close()
  })

  for (const seed of [1, 2]) {
    it(`a connection dropped at random points (seed ${seed}) during a sync of 3 feeds × 300 blocks: they converge, no block downloaded twice`, async () => {
      const random = prng(seed)
      const a = await open()
      const b = await open(null, a.key)
      const keys: Buffer[] = []
      for (let i = 0; i < 3; i++) {
        const w = await a.writer(`w${i}`)
        const blocks = Array.from({ length: 300 }, (_, j) => Buffer.from(`${i}:${j}`))
        await w.append(blocks)
        keys.push(w.key!)
        await w.close()
      }
      // b knows the keys out of band, so that it holds a session of each from the start
      const downloads = new Map<string, number>()
      let total = 0
      let dropAt = Number.POSITIVE_INFINITY
      let drop: () => void = () => {}
      for (const key of keys) {
        await b.add(key)
        const session = await b.get(key)
        onCleanup(() => session.close())
        session.on('download', (index: number) => {
          const id = `${hex(key)}:${index}`
          downloads.set(id, (downloads.get(id) ?? 0) + 1)
          if (++total >= dropAt) drop()
        })
      }
      const drops: number[] = []
      for (let round = 0; round < 8 && total < 900; round++) {
        const p = pipe(a, b)
        const dropped = new Promise<void>((resolve) => {
          drop = () => {
            dropAt = Number.POSITIVE_INFINITY
            // in the middle of hypercore's delivery: the stream dies under it
            p.a.destroy()
            p.b.destroy()
            resolve()
          }
        })
        if (random() < 0.3) {
          // early: during pairing or reconciliation
          const turns = Math.floor(random() * 6)
          for (let t = 0; t < turns; t++) await new Promise((resolve) => setImmediate(resolve))
          drop()
        } else {
          dropAt = total + 1 + Math.floor(random() * 250)
          if (dropAt >= 900) dropAt = 899
        }
        await Promise.race([dropped, until(() => total >= 900, 'b gets every block')])
        await p.destroy()
        await until(() => a.peers().length === 0 && b.peers().length === 0, 'both see the drop')
        if (total < 900) drops.push(total)
      }
      pipe(a, b)
      await untilConverged([a, b], 3)
      // lengths converge as soon as b learns them; the blocks may still be on their way
      await b.downloaded({ timeout: 15_000 })
      await until(() => downloads.size >= 900, "b's session saw a download of every block")
      for (const key of keys) expect(b.feed(key)!.length).toBe(300)
      const twice = [...downloads].filter(([, n]) => n > 1)
      expect(twice).toEqual([])
      expect(downloads.size).toBe(900)
      // the drops did cut the sync short, more than once
      expect(drops.length).toBeGreaterThanOrEqual(3)
    })
  }

  it('a core on 15 connections at once: synced everywhere, no MaxListenersExceededWarning', async () => {
    // One 'peer-remove' listener per connection on the set's session of the
    // core used to pass Node's default limit of 10 listeners: a warning (and
    // a dump of the core) for every core of an ordinary swarm of 12 peers.
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    onCleanup(() => void process.off('warning', onWarning))
    const hub = await open()
    const w = await hub.writer('hub')
    onCleanup(() => w.close())
    await w.append(Array.from({ length: 20 }, (_, i) => Buffer.from(`block ${i}`)))
    const peers = await Promise.all(Array.from({ length: 15 }, () => open(null, hub.key)))
    for (const peer of peers) pipe(hub, peer)
    await until(
      () => peers.every((peer) => peer.feed(w.key!)?.length === 20),
      '15 peers download the hub writer'
    )
    expect(hub.peers().length).toBe(15)
    // warnings are emitted on the next tick
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.map((x) => `${x.name}: ${x.message.split('\n')[0]}`)).toEqual([])
  })
})
