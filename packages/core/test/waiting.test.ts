/**
 * Waiting for peers (issue 13, point 8): `synced()` says with whom it
 * synced and can wait for peers (`minPeers`); `multi.findingPeers()` makes
 * the sessions the set hands out wait for peers in `update({ wait: true })`.
 */
import { Multifeed } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { onCleanup, pipe, tmpStore, until } from './helpers.js'

async function open(key?: Buffer | null, options = {}): Promise<Multifeed> {
  const multi = await Multifeed.open(await tmpStore(), key, options)
  onCleanup(() => multi.close())
  return multi
}

async function writerWith(multi: Multifeed, blocks: number): Promise<Buffer> {
  const w = await multi.writer()
  await w.append(Array.from({ length: blocks }, (_, i) => Buffer.from(`block ${i}`)))
  const key = w.key!
  await w.close()
  return key
}

describe('synced() and peers', () => {
  it('with no peer connected it resolves at once, saying no peer took part', async () => {
    const b = await open()
    await writerWith(b, 1)
    expect(await b.synced()).toEqual({ peers: [] })
    expect(await b.downloaded({ timeout: 1000 })).toEqual({ peers: [] })
  })

  it('resolves with the peers it synced with', async () => {
    const a = await open()
    const b = await open(a.key)
    const key = await writerWith(a, 3)
    pipe(a, b)
    const { peers } = await b.synced({ minPeers: 1, timeout: 10_000 })
    expect(peers).toEqual(b.peers())
    expect(peers).toHaveLength(1)
    expect(b.feed(key)?.length).toBe(3)
  })

  it('minPeers waits for a peer that connects later, then holds what it holds', async () => {
    const a = await open()
    const b = await open(a.key)
    const key = await writerWith(a, 4)
    let settled = false
    const waiting = b.synced({ minPeers: 1, timeout: 10_000 }).finally(() => {
      settled = true
    })
    // a positive signal that the wait is under way with nothing to sync yet
    const alone = await b.synced()
    expect(alone.peers).toEqual([])
    expect(settled).toBe(false)
    pipe(a, b)
    const { peers } = await waiting
    expect(peers).toHaveLength(1)
    expect(peers[0]!.remotePublicKey).not.toBeNull()
    expect(b.feed(key)?.length).toBe(4)
  })

  it('minPeers without a peer ends in ERR_TIMEOUT; a bad count is ERR_INVALID_ARGUMENT', async () => {
    const b = await open()
    await expect(b.synced({ minPeers: 1, timeout: 100 })).rejects.toMatchObject({
      code: 'ERR_TIMEOUT'
    })
    await expect(b.synced({ minPeers: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    await expect(b.downloaded({ minPeers: 1.5 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
  })

  it('minPeers rejects with ERR_CLOSED when the multifeed closes meanwhile', async () => {
    const store = await tmpStore()
    const b = await Multifeed.open(store)
    const waiting = b.synced({ minPeers: 1 })
    await b.close()
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })
})

describe('multi.findingPeers()', () => {
  // multi.findingPeers(), and the corestore's own (around a user's own swarm, the Holepunch idiom)
  const holds: Array<[string, (multi: Multifeed) => () => void]> = [
    ['multi.findingPeers()', (multi) => multi.findingPeers()],
    ['the corestore’s findingPeers()', (multi) => multi.corestore.findingPeers()]
  ]
  for (const [what, hold] of holds) {
    it(`${what}: a get() session waits in update({ wait: true }) while it is held, and gets the peer’s length`, async () => {
      const a = await open()
      const b = await open(a.key, { sparse: true })
      const key = await writerWith(a, 2)
      await b.add(key)

      // without it: nobody is being found, update() gives up at once
      const before = await b.get(key)
      onCleanup(() => before.close())
      expect(await before.update({ wait: true })).toBe(false)

      const done = hold(b)
      const session = await b.get(key) // opened during the hold
      onCleanup(() => session.close())
      const updating = before.update({ wait: true }) // opened before the hold
      const updating2 = session.update({ wait: true })
      pipe(a, b)
      expect(await updating2).toBe(true)
      expect(await updating).toBe(true)
      expect(session.length).toBe(2)
      done()
      done() // twice is harmless
    })
  }

  it('a get() session of a feed a connected peer holds more of waits in update({ wait: true }) for it', async () => {
    const a = await open()
    const b = await open(a.key, { sparse: true })
    const key = await writerWith(a, 2)
    pipe(a, b)
    await until(() => b.peers()[0]?.reconciled === true, 'b reconciled with a')
    // the core is not on the connection yet (sparse: nothing fetched until a session asks)
    const session = await b.get(key)
    onCleanup(() => session.close())
    expect(await session.update({ wait: true })).toBe(true)
    expect(session.length).toBe(2)
  })

  it('released, a session with no peer gives up again', async () => {
    const b = await open()
    const key = crypto.randomBytes(32)
    await b.add(key)
    const session = await b.get(key)
    onCleanup(() => session.close())
    const done = b.findingPeers()
    const updating = session.update({ wait: true })
    done()
    expect(await updating).toBe(false)
  })
})
