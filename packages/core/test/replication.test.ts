import { Multifeed, type MultifeedPeer, type RemoteFeedsInfo } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { next, pipe, tmpStore, until, untilConverged } from './helpers.js'

async function pair(valueEncoding: 'utf-8' | 'binary' = 'utf-8') {
  const a = await Multifeed.open(await tmpStore(), null, { valueEncoding })
  const b = await Multifeed.open(await tmpStore(), a.key, { valueEncoding })
  return { a, b }
}

describe('replication over a pipe', () => {
  it('exchanges feeds and data both ways', async () => {
    const { a, b } = await pair()
    const wa = await a.writer('alice')
    const wb = await b.writer('bob')
    await wa.append(['a0', 'a1'])
    await wb.append('b0')

    const synced = Promise.all([next(a, 'remote-feeds'), next(b, 'remote-feeds')])
    pipe(a, b)
    const [[peerOfA, infoA], [, infoB]] = (await synced) as [
      [MultifeedPeer, RemoteFeedsInfo],
      [MultifeedPeer, RemoteFeedsInfo]
    ]
    expect(infoA.added.map((c) => c.key)).toEqual([wb.key])
    expect(infoB.added.map((c) => c.key)).toEqual([wa.key])
    expect(infoA.inSync).toBe(false)
    expect(peerOfA.remotePublicKey).toBeInstanceOf(Buffer)

    await Promise.all([a.downloaded({ timeout: 10_000 }), b.downloaded({ timeout: 10_000 })])
    expect(await b.feed(wa.key!)!.get(1)).toBe('a1')
    expect(await a.feed(wb.key!)!.get(0)).toBe('b0')
    expect(a.feeds()).toHaveLength(2)
    expect(b.feeds()).toHaveLength(2)
  })

  it('three peers in a chain converge (A-B, B-C: A and C never meet)', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    const c = await Multifeed.open(await tmpStore(), a.key)
    for (const [m, name] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c']
    ] as const) {
      const w = await m.writer(name)
      await w.append(Buffer.from(`from ${name}`))
    }
    pipe(a, b)
    pipe(b, c)
    await untilConverged([a, b, c], 3)
    const wa = (await a.writer('a')).key!
    expect((await c.feed(wa)!.get(0))?.toString()).toBe('from a')
  })

  it('a feed created while connected reaches the peer live, with its data', async () => {
    const { a, b } = await pair()
    pipe(a, b)
    await until(() => a.peers().length === 1 && b.peers().length === 1, 'peers connect')
    const seen = next(b, 'feed')
    const w = await a.writer('late')
    const [core, info] = (await seen) as [{ key: Buffer }, { local: boolean; from: unknown }]
    expect(core.key).toEqual(w.key)
    expect(info.local).toBe(false)
    expect(info.from).toBe(b.peers()[0])
    await w.append('live block')
    const remote = b.feed(w.key!)!
    expect(await remote.get(0, { timeout: 5_000 })).toBe('live block')
  })

  it('a writer learned from C is passed on to an already connected A (transitive, live)', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    const c = await Multifeed.open(await tmpStore(), a.key)
    pipe(a, b)
    pipe(b, c)
    await until(() => b.peers().length === 2, 'b has two peers')
    const wc = await c.writer('c')
    await wc.append(Buffer.from('hello'))
    await until(() => a.feed(wc.key!) !== null, 'a learns c writer through b')
    expect((await a.feed(wc.key!)!.get(0, { timeout: 5_000 }))?.toString()).toBe('hello')
  })

  it('peer.synced resolves with the feeds the peer taught us', async () => {
    const { a, b } = await pair()
    await (await b.writer()).append('x')
    const { a: sa } = pipe(a, b)
    const peer = a.attach(sa)
    const info = await peer.synced
    expect(info?.added).toHaveLength(1)
    await a.downloaded({ timeout: 5_000 })
    expect(await a.feeds()[0]!.get(0)).toBe('x')
  })

  it('downloaded() rejects with ERR_TIMEOUT when no peer can deliver, ERR_ABORTED on abort', async () => {
    const a = await Multifeed.open(await tmpStore(), null, { sparse: true })
    const b = await Multifeed.open(await tmpStore(), a.key)
    const w = await b.writer()
    await w.append([Buffer.from('x'), Buffer.from('y')])
    const p = pipe(a, b)
    await until(() => a.feeds().length === 1, 'a learns the feed')
    const remote = a.feeds()[0]!
    await remote.update({ wait: true })
    expect(remote.length).toBe(2)
    // sparse: nothing was fetched eagerly
    expect(remote.contiguousLength).toBe(0)
    await p.destroy()
    await expect(a.downloaded({ timeout: 300 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    const ac = new AbortController()
    ac.abort()
    await expect(a.downloaded({ signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    // once a peer is back, the same call completes
    pipe(a, b)
    await a.downloaded({ timeout: 5_000 })
    expect(remote.contiguousLength).toBe(2)
  })

  it('several multifeeds on one stream pair up separately', async () => {
    const sa = await tmpStore()
    const sb = await tmpStore()
    const x1 = await Multifeed.open(sa)
    const y1 = await Multifeed.open(sa)
    const x2 = await Multifeed.open(sb, x1.key)
    const y2 = await Multifeed.open(sb, y1.key)
    await (await x1.writer()).append(Buffer.from('x'))
    await (await y2.writer()).append(Buffer.from('y'))
    const s = pipe(x1, x2)
    y1.attach(s.a)
    y2.attach(s.b)
    await untilConverged([x1, x2], 1)
    await untilConverged([y1, y2], 1)
    expect(x2.feeds().map((f) => f.key)).toEqual(x1.feeds().map((f) => f.key))
    expect(y1.feeds().map((f) => f.key)).toEqual(y2.feeds().map((f) => f.key))
    expect(x1.feeds()[0]!.key).not.toEqual(y1.feeds()[0]!.key)
  })
})

describe('many multifeeds on one stream', () => {
  it('attaches 20 multifeeds to one stream without a MaxListenersExceededWarning', async () => {
    const sa = await tmpStore()
    const sb = await tmpStore()
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const pairs: Array<[Multifeed, Multifeed]> = []
      for (let i = 0; i < 20; i++) {
        const x = await Multifeed.open(sa)
        await (await x.writer()).append(Buffer.from(`${i}`))
        pairs.push([x, await Multifeed.open(sb, x.key)])
      }
      const [first, second] = pairs[0]!
      const s = pipe(first, second)
      for (const [x, y] of pairs.slice(1)) {
        x.attach(s.a)
        y.attach(s.b)
      }
      for (const [x, y] of pairs) await untilConverged([x, y], 1)
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})
