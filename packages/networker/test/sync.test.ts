import type { Multifeed } from '@multifeed/core'
import { describe, expect, test } from 'vitest'
import type { NetworkPeer } from '../src/index.js'
import {
  connectionCount,
  countDownloads,
  eachTestEnv,
  KINDS,
  waitFor,
  waitHolds,
  write
} from './helpers.js'

describe.each(KINDS)('%s networker: sync', (kind) => {
  const env = eachTestEnv(kind, {
    beforeTeardown: (ended) => {
      ended.tearingDown = true
      if (process.env.DEBUG_NET && Date.now() - ended.t0 > 2500) console.log(ended.log.join('\n'))
    },
    // Simultaneous dials and peers leaving are normal life, never a connection-error.
    // Except one: under load, Hyperswarm can drop *both* connections of two
    // simultaneous dials (each side keeps the other's) and redial seconds
    // later; such a reset is reported if no new connection follows within 3 s.
    afterTeardown: (ended) => {
      const unexpected = ended.connectionErrors.filter(
        (err) => (err as { code?: unknown }).code !== 'ECONNRESET'
      )
      expect(unexpected).toEqual([])
    }
  })

  test('2 peers × 20 multifeeds sync over exactly one connection', {
    timeout: 45_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const multisA: Multifeed[] = []
    const multisB: Multifeed[] = []
    for (let i = 0; i < 20; i++) {
      const ma = await a.open()
      const mb = await b.open(ma.key)
      await write(ma, 3)
      await write(mb, 2)
      multisA.push(ma)
      multisB.push(mb)
    }
    await Promise.all([
      ...multisA.map((multi) => a.net.swarm(multi)),
      ...multisB.map((multi) => b.net.swarm(multi))
    ])
    for (const [multis, name] of [
      [multisA, 'A'],
      [multisB, 'B']
    ] as const) {
      await waitFor(
        () => multis.every((multi) => settled(multi, [3, 2])),
        () => `every multifeed of ${name} holds both feeds in full`
      )
    }
    expect(connectionCount(a)).toBe(1)
    expect(connectionCount(b)).toBe(1)
    expect(a.net.peers()).toHaveLength(1)
    expect(b.net.peers()).toHaveLength(1)
    await waitFor(
      () => a.net.peers()[0]!.multifeeds().length === 20,
      () => `A's peer shares ${a.net.peers()[0]?.multifeeds().length} multifeeds, not 20`
    )
    expect(new Set(a.net.peers()[0]!.multifeeds())).toEqual(new Set(multisA))
    expect(a.net.multifeeds()).toHaveLength(20)
  })

  test('2 peers sharing 100 multifeeds hold one connection', { timeout: 60_000 }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const multisA: Multifeed[] = []
    const multisB: Multifeed[] = []
    for (let i = 0; i < 100; i++) {
      const ma = await a.open()
      multisA.push(ma)
      multisB.push(await b.open(ma.key))
      await write(ma, 1)
    }
    await Promise.all([
      ...multisA.map((multi) => a.net.swarm(multi)),
      ...multisB.map((multi) => b.net.swarm(multi))
    ])
    await waitFor(
      () => multisB.every((multi) => settled(multi, [1])),
      () => `${multisB.filter((multi) => !settled(multi, [1])).length} multifeeds of B not synced`,
      45_000
    )
    expect(connectionCount(a)).toBe(1)
    expect(connectionCount(b)).toBe(1)
  })

  test('leave stops propagation for that multifeed only', { timeout: 30_000 }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const x = await a.open()
    const y = await a.open()
    const xb = await b.open(x.key)
    const yb = await b.open(y.key)
    await write(x, 1)
    await write(y, 1)
    await Promise.all([a.net.swarm(x), a.net.swarm(y), b.net.swarm(xb), b.net.swarm(yb)])
    await waitHolds([xb, yb], 1, 1)

    await b.net.leave(xb)
    expect(b.net.multifeeds()).toEqual([yb])
    await waitFor(
      () => a.net.peers().every((peer) => !peer.multifeeds().includes(x)),
      () => 'A still counts x as shared with B'
    )
    // Positive signals instead of a pause: xb's feed lost its peers here, and
    // below y's blocks, written after x's, arrive over the same connection.
    await waitFor(
      () => xb.peers().length === 0,
      () => "xb's feed is still attached"
    )
    await write(x, 5)
    await write(y, 5)
    // y's blocks, written after x's, arrived over the same connection.
    await waitHolds([yb], 1, 6)
    expect(xb.feeds()[0]!.length).toBe(1)
    // The connection stays for y.
    expect(connectionCount(b)).toBe(1)
    expect(b.net.peers()[0]!.multifeeds()).toEqual([yb])
  })

  test('a peer that joins late catches up', { timeout: 30_000 }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const multiA = await a.open()
    const multiB = await b.open(multiA.key)
    await write(multiA, 20)
    await write(multiB, 20)
    await a.net.swarm(multiA)
    await b.net.swarm(multiB)
    await waitHolds([multiA, multiB], 2, 20)

    const c = await env.peer()
    const multiC = await c.open(multiA.key)
    await write(multiC, 5)
    await c.net.swarm(multiC)
    await waitFor(
      () => [multiA, multiB, multiC].every((multi) => settled(multi, [20, 20, 5])),
      () => 'every peer holds 3 feeds (20, 20, 5 blocks)'
    )
  })

  test('5 peers in a mesh converge', { timeout: 45_000 }, async () => {
    const peers = await Promise.all([0, 1, 2, 3, 4].map(() => env.peer()))
    const first = await peers[0]!.open()
    const multis = [first]
    for (const peer of peers.slice(1)) multis.push(await peer.open(first.key))
    await Promise.all(multis.map((multi, i) => write(multi, i + 1)))
    // One after the other: simultaneous dials are the next test's business
    // (with five peers they can make Hyperswarm drop both connections of a
    // pair and retry seconds later).
    for (const [i, multi] of multis.entries()) await peers[i]!.net.swarm(multi)
    await waitFor(
      () => multis.every((multi) => settled(multi, [1, 2, 3, 4, 5])),
      () => `not converged: ${multis.map((multi) => multi.feeds().length).join(',')} feeds`,
      30_000
    )
  })

  test('two peers started at the same instant connect and sync', { timeout: 30_000 }, async () => {
    const [a, b] = await Promise.all([env.peer(), env.peer()])
    const multiA = await a.open()
    const multiB = await b.open(multiA.key)
    await Promise.all([write(multiA, 4), write(multiB, 4)])
    const start = Date.now()
    await Promise.all([a.net.swarm(multiA), b.net.swarm(multiB)])
    await waitHolds([multiA, multiB], 2, 4, 15_000)
    // Well under Hyperswarm's 10-minute automatic refresh.
    expect(Date.now() - start).toBeLessThan(15_000)
  })

  test('a peer that restarts from its storage reconnects and resumes without re-downloading', {
    timeout: 45_000
  }, async () => {
    const BLOCK = 4096
    const a = await env.peer()
    let b = await env.peer()
    const multiA = await a.open()
    await write(multiA, 50, 'main', BLOCK)
    let multiB = await b.open(multiA.key)
    await a.net.swarm(multiA)
    await b.net.swarm(multiB)
    await waitHolds([multiB], 1, 50)

    const dir = b.dir
    await b.close()
    await write(multiA, 10, 'main', BLOCK)

    b = await env.peer(dir)
    const streams = new Set<NetworkPeer['stream']>()
    b.net.on('peer-add', (peer) => streams.add(peer.stream))
    multiB = await b.open(multiA.key)
    // Re-opened from storage: the remote feed and its 50 blocks are there before any peer.
    expect(multiB.feeds()).toHaveLength(1)
    expect(multiB.feeds()[0]!.length).toBe(50)
    const downloads = await countDownloads(multiB)
    env.t.add(() => downloads.close())
    await b.net.swarm(multiB)
    await waitHolds([multiB], 1, 60)
    // Only the 10 new blocks travelled: nothing below index 50 was downloaded
    // again, and B read about 10 blocks' worth of bytes, not 60.
    expect(downloads.indices.filter((index) => index < 50)).toEqual([])
    const read = [...streams].reduce((sum, stream) => sum + stream.rawBytesRead, 0)
    expect(read).toBeGreaterThan(10 * BLOCK)
    expect(read).toBeLessThan(20 * BLOCK)
    await waitFor(
      () => a.net.peers().some((peer) => peer.multifeeds().includes(multiA)),
      () => 'A does not see the restarted B'
    )
  })
})

/** `multi` holds one feed per entry of `lengths`, with that many blocks each (order-free). */
function settled(multi: Multifeed, lengths: number[]): boolean {
  const feeds = multi.feeds()
  if (feeds.length !== lengths.length) return false
  const have = feeds.map((info) => info.length)
  return [...have].sort((x, y) => x - y).join() === [...lengths].sort((x, y) => x - y).join()
}
