import assert from 'node:assert/strict'
import { type FeedInfo, Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import type { NetworkerInterface, NetworkPeer } from '@multifeed/networker'
import { setLabel } from './labels.js'
import { type CreatePeersOptions, createPeers } from './PeerGroup.js'
import { inOrder, settle } from './Teardown.js'
import { untilSynced, waitUntil } from './waiters.js'

/**
 * How the conformance suite registers its cases with a test runner. vitest's
 * `{ describe, test }` fits as it is; see the README for node:test and mocha.
 */
export interface ConformanceAdapter {
  /** Groups the cases; without it the cases are registered flat with a name prefix. */
  describe?: (name: string, fn: () => void) => void
  /** Registers one case; `fn` rejects on failure. `timeoutMs` bounds the whole case. */
  test: (name: string, fn: () => Promise<void>, timeoutMs?: number) => void
}

/** One peer of a conformance setup: a networker and the corestore it was built on. */
export interface ConformancePeer {
  readonly networker: NetworkerInterface
  readonly corestore: Corestore
  /**
   * Takes this peer off the network for good, so that the others see its
   * connections close. Default `networker.close()`; a factory whose networker
   * runs on a transport it does not own (e.g. a Hyperswarm given to the
   * networker, which the networker leaves alive at close) destroys it here.
   */
  disconnect?(): Promise<void>
}

/** What the factory returns: `count` connected-capable peers and how to tear them all down. */
export interface ConformanceSetup {
  readonly networkers: readonly ConformancePeer[]
  /** Closes every networker (again: close is idempotent), corestore and whatever else the factory made. */
  teardown(): Promise<void>
}

/** Builds `count` peers whose networkers can reach each other. */
export type ConformanceFactory = (count: number) => Promise<ConformanceSetup>

/**
 * A factory that builds each case's peers with `createPeers(count, options)`:
 * a corestore in a temporary directory each, the networker `options.networker`
 * names or builds, a loopback testnet when it needs one; `disconnect` is
 * `peer.disconnect()`, `teardown` closes the group.
 *
 * ```ts
 * runNetworkerConformance({ describe, test }, conformanceFactory({ networker: 'in-process' }))
 * ```
 */
export function conformanceFactory(options: CreatePeersOptions = {}): ConformanceFactory {
  return async (count) => {
    const group = await createPeers(count, options)
    return {
      networkers: group.peers.map((peer) => ({
        networker: peer.networker,
        corestore: peer.corestore,
        disconnect: () => peer.disconnect()
      })),
      teardown: () => group.close()
    }
  }
}

export interface ConformanceOptions {
  /** Name of the group. Default `NetworkerInterface conformance`. */
  name?: string
  /** Bound of each case in milliseconds. Default 60,000. */
  timeout?: number
  /** Bound of each wait for sync inside a case. Default 20,000. */
  syncTimeout?: number
  /** Names (or name prefixes) of cases not to register. */
  skip?: string[]
}

/** The names of the cases, as registered (useful for `skip`). */
export const conformanceCases: readonly string[] = [
  'swarm: feeds and data propagate (0 writes, 1 reads)',
  'swarm: feeds and data propagate (1 writes, 0 reads)',
  'swarm twice is a no-op',
  'leave stops propagation for that multifeed only (0 leaves)',
  'leave stops propagation for that multifeed only (1 leaves)',
  'two peers swarming at the same instant connect',
  'a lookup-only peer finds an announce-only peer',
  'swarm after leave resumes',
  'multiple multifeeds share one peer connection',
  'a late joiner catches up',
  'a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE',
  'a multifeed on a session of the same corestore is accepted',
  'a swarmed multifeed that closes is dropped on both sides',
  'leave() of a multifeed that is not swarmed is a no-op',
  'close is idempotent and swarm after close rejects with ERR_CLOSED',
  'peers(), peer-add and peer-remove (0 closes)',
  'peers(), peer-add and peer-remove (1 closes)'
]

interface Ctx {
  readonly nets: NetworkerInterface[]
  /** Takes peer `i` off the network (`disconnect()` of the factory, else `networker.close()`). */
  disconnect(i: number): Promise<void>
  readonly stores: Corestore[]
  /** Opens a multifeed on peer `i`'s corestore (closed at the end of the case). */
  open(i: number, key?: Buffer, store?: Corestore): Promise<Multifeed>
  synced(multis: Multifeed[]): Promise<void>
  until(predicate: () => boolean, message: string | (() => string)): Promise<void>
  /**
   * The positive signal a negative check waits for: `a` appends and `b` holds
   * it, then `b` appends and `a` holds it (a feed each, new to the set).
   */
  roundTrip(pair: readonly [Multifeed, Multifeed]): Promise<void>
}

/**
 * Registers the conformance cases of `NetworkerInterface` through `adapter`.
 * Each case builds its own setup with `factory`, and tears it down whatever
 * happens.
 *
 * ```ts
 * import { describe, test } from 'vitest'
 * runNetworkerConformance({ describe, test }, async (count) => { ... })
 * ```
 */
export function runNetworkerConformance(
  adapter: ConformanceAdapter,
  factory: ConformanceFactory,
  options: ConformanceOptions = {}
): void {
  const name = options.name ?? 'NetworkerInterface conformance'
  const timeout = options.timeout ?? 60_000
  const syncTimeout = options.syncTimeout ?? 20_000
  const skip = options.skip ?? []

  const register = (caseName: string, count: number, body: (ctx: Ctx) => Promise<void>): void => {
    if (skip.some((s) => caseName.startsWith(s))) return
    const fullName = adapter.describe === undefined ? `${name}: ${caseName}` : caseName
    adapter.test(fullName, () => runCase(factory, count, body, syncTimeout), timeout)
  }

  const cases = (): void => {
    for (const [w, r] of [
      [0, 1],
      [1, 0]
    ] as const) {
      register(`swarm: feeds and data propagate (${w} writes, ${r} reads)`, 2, async (ctx) => {
        const a = await ctx.open(w)
        const writer = await a.writer('main')
        await writer.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
        const b = await ctx.open(r, a.key)
        await ctx.nets[w]!.swarm(a)
        await ctx.nets[r]!.swarm(b)
        await ctx.synced([a, b])
        assert.equal(b.feeds().length, 1, 'the reader holds exactly the one feed')
        assert.deepEqual(await blockOf(b, writer.key, 2), Buffer.from('c'))
        // Live: later appends and a feed created on the other side propagate too.
        await writer.append(Buffer.from('d'))
        const back = await b.writer('reply')
        await back.append(Buffer.from('r'))
        await ctx.synced([a, b])
        assert.equal(infoOf(b, writer.key).length, 4)
        assert.deepEqual(await blockOf(a, back.key, 0), Buffer.from('r'))
      })
    }

    register('swarm twice is a no-op', 2, async (ctx) => {
      const a = await ctx.open(0)
      const w = await a.writer()
      await w.append(Buffer.from('x'))
      const b = await ctx.open(1, a.key)
      await Promise.all([ctx.nets[0]!.swarm(a), ctx.nets[0]!.swarm(a)])
      await ctx.nets[0]!.swarm(a)
      assert.equal(ctx.nets[0]!.multifeeds().length, 1, 'one multifeed swarmed after three calls')
      await ctx.nets[1]!.swarm(b)
      await ctx.nets[1]!.swarm(b)
      assert.equal(ctx.nets[1]!.multifeeds().length, 1)
      await ctx.synced([a, b])
      await ctx.until(
        () => ctx.nets[0]!.peers().length === 1 && ctx.nets[1]!.peers().length === 1,
        () => `one peer each, have ${peerCounts(ctx.nets)}`
      )
      await w.append(Buffer.from('y'))
      // Messages each way after the extra swarm() calls were processed: still one peer.
      await ctx.roundTrip([a, b])
      assert.equal(ctx.nets[0]!.peers().length, 1, 'still one peer')
    })

    for (const [l, o] of [
      [0, 1],
      [1, 0]
    ] as const) {
      register(`leave stops propagation for that multifeed only (${l} leaves)`, 2, async (ctx) => {
        const x0 = await ctx.open(l)
        const y0 = await ctx.open(l)
        const x1 = await ctx.open(o, x0.key)
        const y1 = await ctx.open(o, y0.key)
        const lx = await x0.writer()
        const ly = await y0.writer()
        const ox = await x1.writer()
        await lx.append(Buffer.from('x0'))
        await ly.append(Buffer.from('y0'))
        await ox.append(Buffer.from('o0'))
        for (const [net, multis] of [
          [ctx.nets[l]!, [x0, y0]],
          [ctx.nets[o]!, [x1, y1]]
        ] as const) {
          for (const m of multis) await net.swarm(m)
        }
        await ctx.synced([x0, x1])
        await ctx.synced([y0, y1])

        await ctx.nets[l]!.leave(x0)
        assert.ok(!ctx.nets[l]!.multifeeds().includes(x0), 'left multifeed no longer listed')
        assert.ok(ctx.nets[l]!.multifeeds().includes(y0), 'other multifeed still listed')
        await ctx.until(() => {
          const peer = ctx.nets[o]!.peers()[0]
          return (
            peer !== undefined && !peer.multifeeds().includes(x1) && peer.multifeeds().includes(y1)
          )
        }, 'the other side sees the peer share only the multifeed that was not left')

        await lx.append(Buffer.from('x1'))
        await ox.append(Buffer.from('o1'))
        const lateX = await x0.writer('late')
        await lateX.append(Buffer.from('late'))
        await ly.append(Buffer.from('y1'))
        // The other multifeed carried messages each way after those appends, on the same
        // connection: had anything of x travelled, it would have been processed by now.
        await ctx.roundTrip([y0, y1])
        assert.equal(
          infoOf(x1, lx.key).length,
          1,
          'append after leave did not reach the other peer'
        )
        assert.equal(
          infoOf(x0, ox.key).length,
          1,
          "the other peer's append did not reach the leaver"
        )
        assert.equal(x1.feed(lateX.key!), null, 'a feed created after leave was not offered')
        assert.equal(infoOf(y1, ly.key).length, 2, 'the other multifeed still propagates')
      })
    }

    register('two peers swarming at the same instant connect', 2, async (ctx) => {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      await (await a.writer()).append(Buffer.from('a'))
      await (await b.writer()).append(Buffer.from('b'))
      await Promise.all([ctx.nets[0]!.swarm(a), ctx.nets[1]!.swarm(b)])
      await ctx.synced([a, b])
    })

    register('a lookup-only peer finds an announce-only peer', 2, async (ctx) => {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      await (await a.writer()).append(Buffer.from('a'))
      await ctx.nets[0]!.swarm(a, { announce: true, lookup: false })
      await ctx.nets[1]!.swarm(b, { announce: false, lookup: true })
      await ctx.synced([a, b])
    })

    register('swarm after leave resumes', 2, async (ctx) => {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      const w = await a.writer()
      await w.append(Buffer.from('1'))
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[1]!.swarm(b)
      await ctx.synced([a, b])
      await ctx.nets[0]!.leave(a)
      await w.append(Buffer.from('2'))
      const later = await a.writer('later')
      await later.append(Buffer.from('3'))
      await ctx.nets[0]!.swarm(a)
      await ctx.synced([a, b])
      assert.equal(b.feeds().length, 2)
    })

    register('multiple multifeeds share one peer connection', 2, async (ctx) => {
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
    })

    register('a late joiner catches up', 3, async (ctx) => {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      const wa = await a.writer()
      const wb = await b.writer()
      for (let i = 0; i < 10; i++) {
        await wa.append(Buffer.from(`a${i}`))
        await wb.append(Buffer.from(`b${i}`))
      }
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[1]!.swarm(b)
      await ctx.synced([a, b])
      const c = await ctx.open(2, a.key)
      await ctx.nets[2]!.swarm(c)
      await ctx.synced([a, b, c])
      assert.equal(c.feeds().length, 2)
      assert.deepEqual(await blockOf(c, wb.key, 9), Buffer.from('b9'))
      const wc = await c.writer()
      await wc.append(Buffer.from('c0'))
      await ctx.synced([a, b, c])
    })

    register(
      'a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE',
      2,
      async (ctx) => {
        const foreign = await ctx.open(1)
        await assert.rejects(ctx.nets[0]!.swarm(foreign), (err: unknown) => {
          assert.equal(codeOf(err), 'ERR_FOREIGN_CORESTORE', `got ${String(err)}`)
          return true
        })
        assert.ok(
          !ctx.nets[0]!.multifeeds().includes(foreign),
          'the refused multifeed is not listed'
        )
      }
    )

    register('a multifeed on a session of the same corestore is accepted', 2, async (ctx) => {
      const a = await ctx.open(0, undefined, ctx.stores[0]!.namespace('conformance-session'))
      const b = await ctx.open(1, a.key)
      await (await a.writer()).append(Buffer.from('s'))
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[1]!.swarm(b)
      await ctx.synced([a, b])
    })

    register('a swarmed multifeed that closes is dropped on both sides', 2, async (ctx) => {
      const a = await ctx.open(0)
      const b = await ctx.open(1, a.key)
      const keep0 = await ctx.open(0)
      const keep1 = await ctx.open(1, keep0.key)
      await (await a.writer()).append(Buffer.from('a'))
      for (const [net, multi] of [
        [0, a],
        [0, keep0],
        [1, b],
        [1, keep1]
      ] as const) {
        await ctx.nets[net]!.swarm(multi)
      }
      await ctx.synced([a, b])
      await b.close()
      await ctx.until(
        () =>
          !ctx.nets[1]!.multifeeds().includes(b) &&
          ctx.nets[0]!.peers().length === 1 &&
          !ctx.nets[0]!.peers()[0]!.multifeeds().includes(a) &&
          ctx.nets[0]!.peers()[0]!.multifeeds().includes(keep0),
        'the closed multifeed leaves multifeeds() and the peer view; the connection stays'
      )
      await assert.rejects(ctx.nets[1]!.swarm(b), (err: unknown) => {
        assert.equal(codeOf(err), 'ERR_CLOSED', `got ${String(err)}`)
        return true
      })
      await (await keep0.writer()).append(Buffer.from('still'))
      await ctx.synced([keep0, keep1])
    })

    register('leave() of a multifeed that is not swarmed is a no-op', 2, async (ctx) => {
      const a = await ctx.open(0)
      await ctx.nets[0]!.leave(a)
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[0]!.leave(a)
      await ctx.nets[0]!.leave(a)
      assert.deepEqual(ctx.nets[0]!.multifeeds(), [])
    })

    register(
      'close is idempotent and swarm after close rejects with ERR_CLOSED',
      2,
      async (ctx) => {
        const a = await ctx.open(0)
        await ctx.nets[0]!.swarm(a)
        const net = ctx.nets[0]!
        await Promise.all([net.close(), net.close()])
        await net.close()
        assert.equal(net.closed, true)
        const b = await ctx.open(0)
        await assert.rejects(net.swarm(b), (err: unknown) => {
          assert.equal(codeOf(err), 'ERR_CLOSED', `got ${String(err)}`)
          return true
        })
      }
    )

    for (const [c, o] of [
      [0, 1],
      [1, 0]
    ] as const) {
      register(`peers(), peer-add and peer-remove (${c} closes)`, 2, async (ctx) => {
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
        assert.ok(
          peer.stream !== null && typeof peer.stream === 'object',
          'the peer has its stream'
        )
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
    }
  }

  if (adapter.describe === undefined) cases()
  else adapter.describe(name, cases)
}

async function runCase(
  factory: ConformanceFactory,
  count: number,
  body: (ctx: Ctx) => Promise<void>,
  syncTimeout: number
): Promise<void> {
  const setup = await factory(count)
  const opened: Multifeed[] = []
  const nets = setup.networkers.map((p) => p.networker)
  const stores = setup.networkers.map((p) => p.corestore)
  assert.equal(nets.length, count, `the factory was asked for ${count} networkers`)
  for (const [i, net] of nets.entries()) setLabel(net, `networker ${i}`)
  const ctx: Ctx = {
    nets,
    stores,
    async disconnect(i) {
      const peer = setup.networkers[i]!
      if (peer.disconnect !== undefined) await peer.disconnect()
      else await peer.networker.close()
    },
    async open(i, key, store) {
      const multi = await Multifeed.open(store ?? stores[i]!, key)
      setLabel(multi, `networker ${i}`)
      opened.push(multi)
      return multi
    },
    synced: (multis) => untilSynced(multis, { timeout: syncTimeout }),
    until: (predicate, message) => waitUntil(predicate, { timeout: syncTimeout, message }),
    async roundTrip([a, b]) {
      for (const [from, to] of [
        [a, b],
        [b, a]
      ] as const) {
        const writer = await from.writer('conformance-round-trip')
        await writer.append(Buffer.from('ping'))
        await writer.close()
        await untilSynced([from, to], { timeout: syncTimeout })
      }
    }
  }
  const cleanup = (): Promise<void> =>
    inOrder(
      [
        () =>
          settle(
            nets.map((net) => net.close()),
            'closing the networkers'
          ),
        () =>
          settle(
            opened.map((multi) => multi.close()),
            'closing the multifeeds'
          ),
        () => setup.teardown()
      ],
      'cleaning up the case'
    )
  try {
    await body(ctx)
  } catch (err) {
    // The case's own failure is the one to report; the cleanup still runs.
    await cleanup().catch(() => {})
    throw err
  }
  await cleanup()
}

/** What `multi` lists of the feed `key` (its length: the blocks it holds). */
function infoOf(multi: Multifeed, key: Buffer | null): FeedInfo {
  assert.ok(key !== null, 'the feed has a key')
  const info = multi.feed(key)
  assert.ok(info !== null, `the multifeed holds feed ${key.toString('hex').slice(0, 8)}`)
  return info
}

/** Block `index` of the feed `key`, read from what `multi` holds (no wait for peers). */
async function blockOf(
  multi: Multifeed,
  key: Buffer | null,
  index: number
): Promise<Buffer | null> {
  const core = await multi.get(infoOf(multi, key).key)
  try {
    return await core.get(index, { wait: false })
  } finally {
    await core.close()
  }
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
}

function peerCounts(nets: NetworkerInterface[]): string {
  return nets.map((n) => n.peers().length).join(' and ')
}
