/**
 * Conformance cases on peers and connections: many multifeeds share one
 * connection per peer pair; `peers()`, `peer-add`, `peer-multifeed` and
 * `peer-remove` tell who is connected, and settle after a duplicate
 * connection.
 */

import type { Multifeed } from '@multifeed/core'
import type { NetworkPeer } from '@multifeed/networker'
import assert from './assert.js'
import { BOTH_WAYS, type ConformanceCase, conformanceCase } from './context.js'
import { peerCounts } from './inspect.js'

/** The cases of this group (registered in the order `conformanceCases` gives). */
export const peerCases: readonly ConformanceCase[] = [
  conformanceCase('multiple multifeeds share one peer connection', 2, async (ctx) => {
    const count = 5
    const pairs: Array<[Multifeed, Multifeed]> = []
    for (let i = 0; i < count; i++) {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      await (await a.writer()).append(Buffer.from(`a${i}`))
      await (await b.writer()).append(Buffer.from(`b${i}`))
      pairs.push([a, b])
    }
    for (const [a, b] of pairs) {
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[1]!.swarm(b)
    }
    for (const pair of pairs) await ctx.synced(pair)
    assert.equal(ctx.nets[0]!.multifeeds().length, count)
    await ctx.until(
      () => ctx.nets[0]!.peers().length === 1 && ctx.nets[1]!.peers().length === 1,
      () => `exactly one peer each, have ${peerCounts(ctx.nets)}`
    )
    await ctx.until(
      () => ctx.nets.every((n) => n.peers()[0]?.multifeeds().length === count),
      () =>
        `the peer shares ${count} multifeeds, it shares ${ctx.nets
          .map((n) => n.peers()[0]?.multifeeds().length ?? 0)
          .join(' and ')}`
    )
    // A multifeed swarmed once the connection exists rides on it.
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    await (await a.writer()).append(Buffer.from('late'))
    await ctx.nets[1]!.swarm(b)
    await ctx.nets[0]!.swarm(a)
    await ctx.synced([a, b])
    assert.equal(ctx.nets[0]!.peers().length, 1, 'still one peer after a sixth multifeed')
    assert.equal(ctx.nets[1]!.peers().length, 1)
  }),
  ...BOTH_WAYS.map(([c, o]) =>
    conformanceCase(`peers(), peer-add and peer-remove (${c} closes)`, 2, async (ctx) => {
      const observer = ctx.nets[o]!
      const added: NetworkPeer[] = []
      const removed: NetworkPeer[] = []
      const shared: Multifeed<unknown>[] = []
      observer.on('peer-add', (peer) => added.push(peer))
      observer.on('peer-remove', (peer) => removed.push(peer))
      observer.on('peer-multifeed', (_peer, multi) => shared.push(multi))
      assert.deepEqual(observer.peers(), [], 'no peer before swarming')
      const m = await ctx.open(o)
      const n = await ctx.open(c, m.key)
      await observer.swarm(m)
      await ctx.nets[c]!.swarm(n)
      // A duplicate connection (both sides dialled) may show up as a short-lived
      // extra peer-add/peer-remove pair; what counts is where it settles.
      await ctx.until(
        () => observer.peers().length === 1 && added.includes(observer.peers()[0]!),
        () =>
          `one peer, listed by peer-add; have ${observer.peers().length} and ${added.length} peer-add`
      )
      const peer = observer.peers()[0]!
      assert.ok(Buffer.isBuffer(peer.remotePublicKey), 'remotePublicKey is a Buffer')
      assert.equal(peer.remotePublicKey.byteLength, 32)
      assert.ok(peer.stream !== null && typeof peer.stream === 'object', 'the peer has its stream')
      await ctx.until(
        () => peer.multifeeds().includes(m) && shared.includes(m),
        'peer.multifeeds() and peer-multifeed name the shared multifeed'
      )
      await ctx.disconnect(c)
      // Also waits out a duplicate connection that was still closing: every peer-add is
      // matched by a peer-remove of the same object.
      await ctx.until(
        () =>
          observer.peers().length === 0 &&
          removed.includes(peer) &&
          added.every((p) => removed.includes(p)),
        () =>
          `no peer left and a peer-remove for every peer-add (the same objects); have ${observer.peers().length} peer(s), ${added.length} peer-add, ${removed.length} peer-remove`
      )
      assert.equal(added.length, removed.length, 'one peer-remove per peer-add')
    })
  )
]
