/**
 * Managing the set: remove and block (live, persisted, storage reclaimed),
 * per-peer progress, the one-shot sync, add by key, reading across feeds.
 */
import { rm } from 'node:fs/promises'
import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import CorestoreClass from 'corestore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { kill, lineFrom, runFixture } from './fixtures/child.js'
import { onCleanup, pipe, tmpDir, tmpStore, until, untilConverged } from './helpers.js'

async function open(key?: Buffer, options = {}): Promise<Multifeed> {
  const multi = await Multifeed.open(await tmpStore(), key, options)
  onCleanup(() => multi.close())
  return multi
}

async function writerWith(multi: Multifeed, name: string, blocks: number): Promise<Buffer> {
  const w = await multi.writer(name)
  const batch = Array.from({ length: blocks }, (_, i) => Buffer.from(`${name}-${i}`))
  if (blocks > 0) await w.append(batch)
  const key = w.key!
  await w.close()
  return key
}

function peerOf(multi: Multifeed): MultifeedPeer {
  const peer = multi.peers()[0]
  if (peer === undefined) throw new Error('no peer')
  return peer
}

describe('remove and block', () => {
  it('remove on a live connection: the peer stops getting its blocks at once, storage is reclaimed', async () => {
    const a = await open()
    const b = await open(a.key)
    const w = await a.writer('w')
    await w.append(Buffer.from('0'))
    const key = w.key!
    pipe(a, b)
    await until(() => b.feed(key)?.length === 1, 'b holds block 0')
    const holder = await b.get(key)
    onCleanup(() => holder.close())
    await until(() => holder.peers.length === 1, "b's core has a's peer")
    const gone = new Promise((resolve) => holder.once('peer-remove', resolve))
    const started = Date.now()
    await b.remove(key)
    // positive signal: hypercore's channel for that core closed on a's side too
    await until(() => w.peers.length === 0, "a's core lost b")
    await gone.catch(() => {})
    const ms = Date.now() - started
    expect(ms).toBeLessThan(5000)
    expect(b.feed(key)).toBeNull()
    expect(await b.corestore.storage.hasCore(crypto.discoveryKey(key))).toBe(false)
    await w.append(Buffer.from('1'))
    // b learns the feed again (it was removed, not blocked): a later block is the positive signal
    await until(() => b.feed(key)?.length === 2, 'b re-learns the removed (not blocked) feed')
    await w.close()
  })

  it('a blocked key is refused from every peer, across restarts, until unblocked', async () => {
    const dir = await tmpDir()
    let store = new CorestoreClass(dir)
    let b = await Multifeed.open(store)
    const a = await open(b.key)
    const junk = await writerWith(a, 'junk', 2)
    const good = await writerWith(a, 'good', 1)
    let link = pipe(a, b)
    await until(() => b.feed(junk)?.length === 2 && b.feed(good)?.length === 1, 'b has both')
    await b.remove(junk, { block: true })
    expect(b.blocked().map((k) => k.toString('hex'))).toEqual([junk.toString('hex')])
    await link.destroy()
    await b.close()
    await store.close()

    store = new CorestoreClass(dir)
    b = await Multifeed.open(store, a.key)
    onCleanup(async () => {
      await b.close()
      await store.close()
    })
    expect(b.blocked()).toHaveLength(1)
    expect(b.feed(junk)).toBeNull()
    link = pipe(a, b)
    // the positive signal: a block appended after the reconnect reached b
    const w = await a.writer('good')
    await w.append(Buffer.from('later'))
    await w.close()
    await until(() => b.feed(good)?.length === 2, 'b got the later block')
    expect(b.feed(junk)).toBeNull()
    await expect(b.add(junk)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await b.unblock(junk)
    expect(b.blocked()).toHaveLength(0)
    await link.destroy()
    pipe(a, b)
    await until(() => b.feed(junk)?.length === 2, 'unblocked: b takes it again')
  })

  it('a peer offering thousands of blocked keys adds nothing', async () => {
    const a = await open()
    const b = await open(a.key)
    const keys = Array.from({ length: 2000 }, () => crypto.randomBytes(32))
    for (const key of keys) await a.add(key)
    for (const key of keys) await b.block(key)
    pipe(a, b)
    const signal = await writerWith(a, 'signal', 1)
    await until(() => b.feed(signal)?.length === 1, 'b got the signal feed')
    expect(b.feeds()).toHaveLength(1)
  })

  it('removing our own writer needs force and retires its name', async () => {
    const a = await open()
    const key = await writerWith(a, 'mine', 1)
    await expect(a.remove(key)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(a.block(key)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(a.feed(key)).not.toBeNull()
    await a.remove(key, { force: true })
    expect(a.feed(key)).toBeNull()
    await expect(a.writer('mine')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  it('a process killed during remove re-opens with the feed or without it, never half', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = await tmpDir()
      // The fixture's peer store sits next to `dir` (its own corestore).
      onCleanup(() => rm(`${dir}-peer`, { recursive: true, force: true }))
      const child = runFixture('crash-remove.mjs', [dir, String(round)])
      const [keyHex, key] = (await lineFrom(child, 'removing ')).split(' ') as [string, string]
      await kill(child)
      const store = new CorestoreClass(dir, { wait: true })
      const multi = await Multifeed.open(store, keyHex)
      try {
        const info = multi.feed(key)
        if (info !== null) {
          // still there: whole (its blocks readable)
          const session = await multi.get(key)
          expect((await session.get(0, { wait: false }))?.toString()).toBe('block')
          await session.close()
        } else {
          expect(multi.feeds().some((f) => f.key.toString('hex') === key)).toBe(false)
        }
      } finally {
        await multi.close()
        await store.close()
      }
    }
  })
})

describe('progress and synced()', () => {
  it('progress is exact for a known workload, both ways, and live', async () => {
    const a = await open()
    const b = await open(a.key, { sparse: true })
    await writerWith(a, 'a1', 10)
    await writerWith(a, 'a2', 5)
    await writerWith(b, 'b1', 3)
    const reconciled = Promise.all([
      new Promise((r) => a.once('reconciled', r)),
      new Promise((r) => b.once('reconciled', r))
    ])
    pipe(a, b)
    await reconciled
    await until(() => b.feeds().length === 3 && a.feeds().length === 3, 'both know 3 feeds')
    // b is sparse: it wants a's 15 blocks; a (mirroring) fetches b's 3
    const pb = peerOf(b)
    expect(pb.progress.want).toEqual({ feeds: 2, blocks: 15 })
    await until(() => peerOf(a).progress.want.blocks === 0, 'a fetched b1')
    expect(peerOf(a).progress.give).toEqual({ feeds: 2, blocks: 15 })
    expect(peerOf(a).progress.received.blocks).toBe(3)
    const events: number[] = []
    b.on('progress', (_peer, progress) => events.push(progress.want.blocks))
    await b.synced({ timeout: 10_000 })
    expect(pb.progress.want).toEqual({ feeds: 0, blocks: 0 })
    expect(pb.progress.received.blocks).toBe(15)
    expect(pb.progress.received.bytes).toBe(10 * 4 + 5 * 4)
    expect(events.at(-1)).toBe(0)
    expect(b.progress().received.blocks).toBe(15)
  })

  it('synced() with one peer, with all, on timeout and on abort leaves nothing held', async () => {
    const a = await open()
    const c = await open(a.key)
    const b = await open(a.key, { sparse: true })
    const ka = await writerWith(a, 'a', 20)
    const kc = await writerWith(c, 'c', 7)
    pipe(a, b)
    await b.synced({ peer: await firstPeer(b), timeout: 10_000 })
    expect(b.feed(ka)?.length).toBe(20)
    pipe(c, b)
    await until(() => b.peers().length === 2, 'b has two peers')
    await b.synced({ timeout: 10_000 })
    expect(b.feed(kc)?.length).toBe(7)

    // nobody can deliver: a peer claims blocks we never get (a's writer grows while a is gone)
    const d = await open(a.key, { sparse: true })
    const link = pipe(a, d)
    await until(() => d.peers().length === 1, 'd has a')
    await d.synced({ timeout: 10_000 })
    await link.destroy()
    const aborted = new AbortController()
    const pending = d.synced({ signal: aborted.signal })
    aborted.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await expect(d.synced({ timeout: 1 })).resolves.toEqual({ peers: [] })
    expect(d.openCores).toBe(0)
  })
})

async function firstPeer(multi: Multifeed): Promise<MultifeedPeer> {
  await until(() => multi.peers().length > 0, 'a peer')
  return multi.peers()[0]!
}

describe('add and read', () => {
  it('add(key) is idempotent and asks the accept policy', async () => {
    const refused = crypto.randomBytes(32)
    const a = await open(undefined, {
      policy: { accept: (key: Buffer) => !key.equals(refused) }
    })
    const key = crypto.randomBytes(32)
    const first = await a.add(key)
    const again = await a.add(key)
    expect(first?.key).toEqual(key)
    expect(again?.key).toEqual(key)
    expect(await a.add(refused)).toBeNull()
    expect(a.feeds().map((f) => f.key)).toEqual([key])
  })

  it('read() yields every block exactly once, each feed in order, live and resumed', async () => {
    const a = await open()
    const k1 = await writerWith(a, 'one', 3)
    const k2 = await writerWith(a, 'two', 2)
    const seen: string[] = []
    for await (const { key, seq, value } of a.read()) {
      seen.push(`${key.equals(k1) ? 'one' : 'two'}:${seq}:${value?.toString()}`)
    }
    expect(seen).toEqual([
      'one:0:one-0',
      'one:1:one-1',
      'one:2:one-2',
      'two:0:two-0',
      'two:1:two-1'
    ])

    // resumed from a stored position
    const since = { [k1.toString('hex')]: 2, [k2.toString('hex')]: 2 }
    const rest: number[] = []
    for await (const { seq } of a.read({ since })) rest.push(seq)
    expect(rest).toEqual([2])

    // live: blocks appended and feeds created later arrive, once each
    const controller = new AbortController()
    const live: string[] = []
    const reading = (async () => {
      for await (const { key, seq } of a.read({ live: true, since, signal: controller.signal })) {
        live.push(`${key.toString('hex').slice(0, 4)}:${seq}`)
        if (live.length === 3) controller.abort()
      }
    })()
    const w = await a.writer('two')
    await w.append(Buffer.from('two-2'))
    await w.close()
    await writerWith(a, 'three', 1)
    await reading
    expect(live).toEqual([
      `${k1.toString('hex').slice(0, 4)}:2`,
      `${k2.toString('hex').slice(0, 4)}:2`,
      expect.stringMatching(/:0$/)
    ])
    expect(a.openCores).toBe(0)
  })

  it('read() over a synced peer matches the blocks of every feed', async () => {
    const a = await open()
    const b = await open(a.key)
    for (let i = 0; i < 5; i++) await writerWith(a, `w${i}`, 20)
    pipe(a, b)
    await untilConverged([a, b], 5)
    let count = 0
    const perFeed = new Map<string, number>()
    for await (const { key, seq } of b.read()) {
      const id = key.toString('hex')
      expect(seq).toBe(perFeed.get(id) ?? 0)
      perFeed.set(id, seq + 1)
      count++
    }
    expect(count).toBe(100)
  })
})
