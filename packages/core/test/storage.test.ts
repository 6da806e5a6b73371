import { join } from 'node:path'
import { Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { exitOf, kill, lineFrom, runFixture } from './fixtures/child.js'
import { onCleanup, pipe, tmpDir, tmpStore, untilConverged } from './helpers.js'
import { headReads } from './support.js'

describe('storage', () => {
  it('re-opens with every feed, remote ones included, their lengths, with no peer present', async () => {
    const dirA = await tmpDir()
    const storeA = new CorestoreClass(dirA)
    const a = await Multifeed.open(storeA)
    const b = await Multifeed.open(await tmpStore(), a.key)
    onCleanup(() => b.close())
    const wa = await a.writer('mine')
    const wb = await b.writer('theirs')
    await wb.append([Buffer.from('remote data'), Buffer.from('more')])
    const keys = [wa.key!, wb.key!]
    await wa.close()
    await wb.close()
    const p = pipe(a, b)
    await untilConverged([a, b], 2)
    await p.destroy()
    await a.close()
    await storeA.close()

    const storeA2 = new CorestoreClass(dirA)
    const a2 = await Multifeed.open(storeA2, a.key)
    try {
      expect(a2.feeds().map((f) => f.key)).toEqual(keys)
      expect(a2.feeds().map((i) => [i.local, i.name, i.length])).toEqual([
        [true, 'mine', 0],
        [false, null, 2]
      ])
      expect(a2.openCores).toBe(0)
      const remote = await a2.get(keys[1]!)
      expect((await remote.get(0))?.toString()).toBe('remote data')
      await remote.close()
      // the writer comes back with the same key, and stays writable
      const again = await a2.writer('mine')
      expect(again.key).toEqual(keys[0])
      expect(again.writable).toBe(true)
      await again.close()
    } finally {
      await a2.close()
      await storeA2.close()
    }
  })

  it('concurrent writer(name) calls give sessions of one core', async () => {
    const multi = await Multifeed.open(await tmpStore())
    onCleanup(() => multi.close())
    const cores = await Promise.all(Array.from({ length: 10 }, () => multi.writer('x')))
    expect(new Set(cores.map((c) => c.key!.toString('hex'))).size).toBe(1)
    expect(multi.feeds()).toHaveLength(1)
    const other = await multi.writer('y')
    expect(other.key).not.toEqual(cores[0]!.key)
    expect(multi.feeds()).toHaveLength(2)
  })

  it('a writer with a custom key pair re-opens writable; another key pair is refused', async () => {
    const dir = await tmpDir()
    const store = new CorestoreClass(dir)
    const multi = await Multifeed.open(store)
    const keyPair = crypto.keyPair()
    const w = await multi.writer('custom', { keyPair })
    expect(w.keyPair!.publicKey).toEqual(keyPair.publicKey)
    await w.append(Buffer.from('signed by my key pair'))
    const key = w.key!
    await multi.close()
    await store.close()

    const store2 = new CorestoreClass(dir)
    const multi2 = await Multifeed.open(store2, multi.key)
    try {
      const again = await multi2.writer('custom', { keyPair })
      expect(again.key).toEqual(key)
      expect(again.writable).toBe(true)
      await expect(multi2.writer('custom', { keyPair: crypto.keyPair() })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT'
      })
    } finally {
      await multi2.close()
      await store2.close()
    }
  })

  it('applies valueEncoding to every session it hands out', async () => {
    const multi = await Multifeed.open(await tmpStore(), null, { valueEncoding: 'json' })
    onCleanup(() => multi.close())
    const w = await multi.writer()
    await w.append({ hello: 'world' })
    expect(await w.get(0)).toEqual({ hello: 'world' })
    const session = await multi.get(w.key!)
    expect(await session.get(0)).toEqual({ hello: 'world' })
    await session.close()
  })

  it('two multifeeds in one corestore keep their own feeds and names', async () => {
    const store = await tmpStore()
    const x = await Multifeed.open(store)
    const y = await Multifeed.open(store)
    onCleanup(() => Promise.all([x.close(), y.close()]).then(() => {}))
    const wx = await x.writer('same-name')
    const wy = await y.writer('same-name')
    expect(wx.key).not.toEqual(wy.key)
    expect(x.feeds().map((f) => f.key)).toEqual([wx.key])
    expect(y.feeds().map((f) => f.key)).toEqual([wy.key])
    expect(x.feed(wy.key!)).toBeNull()
    expect(y.feed(wx.key!)).toBeNull()
  })

  it('lengths are checkpointed: a re-open knows how much of each feed it holds', async () => {
    const dir = await tmpDir()
    const store = new CorestoreClass(dir)
    const multi = await Multifeed.open(store)
    const w = await multi.writer()
    await w.append([Buffer.from('1'), Buffer.from('2'), Buffer.from('3')])
    await w.close()
    await multi.close()
    await store.close()
    const store2 = new CorestoreClass(dir)
    const reads = headReads(store2)
    const again = await Multifeed.open(store2, multi.key)
    try {
      expect(again.feeds()[0]!.length).toBe(3)
      // a clean close is trusted: open() reads no head from the storage
      expect(reads).toEqual([])
    } finally {
      await again.close()
      await store2.close()
    }
  })

  it('a process killed right after writer() resolves re-opens with that writer', async () => {
    const dir = await tmpDir()
    const key = crypto.randomBytes(32).toString('hex')
    const child = runFixture('crash-writer.mjs', [dir, key])
    const writerKey = await lineFrom(child, 'writer ')
    await kill(child)

    const store = new CorestoreClass(dir, { wait: true })
    const multi = await Multifeed.open(store, key)
    try {
      expect(multi.feeds().map((f) => f.key.toString('hex'))).toEqual([writerKey])
      const w = await multi.writer('crash')
      expect(w.key!.toString('hex')).toBe(writerKey)
    } finally {
      await multi.close()
      await store.close()
    }
  })

  it('a process killed right after a remote feed is announced re-opens with that feed', async () => {
    const dirA = await tmpDir()
    const dirB = await tmpDir()
    const key = crypto.randomBytes(32).toString('hex')
    const child = runFixture('crash-remote.mjs', [dirA, dirB, key])
    const feedKey = await lineFrom(child, 'feed ')
    await kill(child)

    const store = new CorestoreClass(dirB, { wait: true })
    const multi = await Multifeed.open(store, key)
    try {
      const info = multi.feeds().find((i) => i.key.toString('hex') === feedKey)
      expect(info?.local).toBe(false)
    } finally {
      await multi.close()
      await store.close()
    }
  })

  it('a process killed right after an append re-opens with the length its writer holds, and a peer gets the blocks', async () => {
    const dir = await tmpDir()
    const key = crypto.randomBytes(32).toString('hex')
    const child = runFixture('crash-append.mjs', [dir, key])
    const [writerKey, length] = (await lineFrom(child, 'appended ')).split(' ')
    await kill(child)
    expect(length).toBe('3')

    const store = new CorestoreClass(dir, { wait: true })
    const reads = headReads(store)
    const multi = await Multifeed.open(store, key)
    // the log ends without its close mark: every feed's head, in one read
    expect(reads).toEqual([1])
    const peer = await Multifeed.open(await tmpStore(), key)
    onCleanup(() => peer.close())
    try {
      // no core opened: the length comes from the storage's heads
      expect(multi.openCores).toBe(0)
      expect(multi.feeds().map((f) => [f.key.toString('hex'), f.length])).toEqual([[writerKey, 3]])
      const p = pipe(multi, peer)
      await untilConverged([multi, peer], 1)
      expect(peer.feed(writerKey!)?.length).toBe(3)
      const remote = await peer.get(writerKey!)
      expect((await remote.get(2))?.toString()).toBe('three')
      await remote.close()
      await p.destroy()
    } finally {
      await multi.close()
      await store.close()
    }
  })

  it('a process killed right after a truncation re-opens with the lower length', async () => {
    const dir = await tmpDir()
    const key = crypto.randomBytes(32).toString('hex')
    const child = runFixture('crash-append.mjs', [dir, key, 'truncate'])
    const [writerKey, length] = (await lineFrom(child, 'appended ')).split(' ')
    await kill(child)
    expect(length).toBe('2')

    const store = new CorestoreClass(dir, { wait: true })
    const multi = await Multifeed.open(store, key)
    try {
      expect(multi.feeds().map((f) => [f.key.toString('hex'), f.length])).toEqual([[writerKey, 2]])
    } finally {
      await multi.close()
      await store.close()
    }
  })

  it('closing during replication leaves nothing hanging: the process exits by itself', async () => {
    const child = runFixture('close-during-replication.mjs', [
      join(await tmpDir(), 'a'),
      join(await tmpDir(), 'b')
    ])
    const closed = lineFrom(child, 'closed')
    expect(await exitOf(child, 20_000)).toBe(0)
    await closed.catch(() => {})
  })
})
