import type { EventEmitter } from 'node:events'
import { Multifeed, MultifeedError } from '@multifeed/core'
import Corestore from 'corestore'
import HypercoreClass from 'hypercore'
import Hyperswarm from 'hyperswarm'
import { describe, expect, test } from 'vitest'
import {
  InProcessHub,
  InProcessNetworker,
  Networker,
  type NetworkerOptions,
  type NetworkPeer,
  type SwarmOptions
} from '../src/index.js'
import {
  connectionCount,
  Env,
  eachTestEnv,
  holds,
  KINDS,
  Teardown,
  tmpDir,
  waitFor,
  waitHolds,
  write
} from './helpers.js'

describe.each(KINDS)('%s networker: semantics', (kind) => {
  const env = eachTestEnv(kind)

  test('swarming a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE', {
    timeout: 15_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const foreign = await b.open()
    const err = await a.net.swarm(foreign).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MultifeedError)
    expect((err as MultifeedError).code).toBe('ERR_FOREIGN_CORESTORE')
    expect(a.net.multifeeds()).toEqual([])
    // A multifeed opened through a session or namespace of the networker's store is fine.
    const { Multifeed } = await import('@multifeed/core')
    const namespaced = await Multifeed.open(a.store.namespace('app'))
    env.t.add(() => namespaced.close())
    await a.net.swarm(namespaced)
    expect(a.net.multifeeds()).toEqual([namespaced])
  })

  test('swarm() twice is a no-op; close() is idempotent; swarm() after close rejects ERR_CLOSED', {
    timeout: 15_000
  }, async () => {
    const a = await env.peer()
    const multi = await a.open()
    const first = a.net.swarm(multi)
    const second = a.net.swarm(multi, { announce: false })
    expect(second).toBe(first)
    await first
    expect(a.net.multifeeds()).toEqual([multi])
    // Leaving a multifeed that is not swarmed is a no-op.
    const other = await a.open()
    await a.net.leave(other)

    const closing = a.net.close()
    expect(a.net.close()).toBe(closing)
    await closing
    expect(a.net.closed).toBe(true)
    expect(a.net.multifeeds()).toEqual([])
    const err = await a.net.swarm(other).catch((e: unknown) => e)
    expect((err as MultifeedError).code).toBe('ERR_CLOSED')
  })

  test('close() while swarm() is pending rejects it with ERR_CLOSED', {
    timeout: 15_000
  }, async () => {
    const a = await env.peer()
    const multi = await a.open()
    const joining = a.net.swarm(multi).catch((err: unknown) => err)
    await a.net.close()
    expect(((await joining) as MultifeedError).code).toBe('ERR_CLOSED')
    expect(a.net.multifeeds()).toEqual([])
    expect(a.net.peers()).toEqual([])
  })

  test('a multifeed swarmed once the connection exists uses it: no new connection', {
    timeout: 20_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const x = await a.open()
    const xb = await b.open(x.key)
    await write(x, 2)
    await Promise.all([a.net.swarm(x), b.net.swarm(xb)])
    await waitHolds([xb], 1, 2)
    const added: NetworkPeer[] = []
    a.net.on('peer-add', (peer) => added.push(peer))
    b.net.on('peer-add', (peer) => added.push(peer))

    const y = await a.open()
    const yb = await b.open(y.key)
    await write(y, 3)
    // Neither announced nor looked up: only the live connection can carry it.
    await a.net.swarm(y, { announce: false, lookup: false })
    await b.net.swarm(yb, { announce: false, lookup: false })
    await waitHolds([yb], 1, 3)
    expect(added).toEqual([])
    expect(connectionCount(a)).toBe(1)
    await waitFor(
      () => b.net.peers()[0]?.multifeeds().length === 2,
      () => 'B does not see both multifeeds on its one peer'
    )
  })

  test('leave() then swarm() again resumes over the same connection', {
    timeout: 20_000
  }, async () => {
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
    const [before] = b.net.peers()
    await b.net.leave(xb)
    // Positive signals instead of a pause: xb's feed lost its peer, and a block of
    // y written after x's arrived over the same connection.
    await waitFor(
      () => xb.peers().length === 0,
      () => "xb's feed is still attached"
    )
    await write(x, 1)
    await write(y, 1)
    await waitHolds([yb], 1, 2)
    expect(xb.feeds()[0]!.length).toBe(1)
    await b.net.swarm(xb)
    await waitHolds([xb], 1, 2)
    expect(b.net.peers()).toEqual([before])
    expect(connectionCount(b)).toBe(1)
  })

  test('events and status: peer-add, peer-multifeed, peers(), peer-remove', {
    timeout: 20_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const events: string[] = []
    a.net.on('peer-add', () => events.push('peer-add'))
    a.net.on('peer-multifeed', (peer, multi, session) => {
      expect(peer.multifeeds()).toContain(multi)
      expect(session.multifeed).toBe(multi)
      events.push('peer-multifeed')
    })
    a.net.on('peer-remove', (peer) => {
      expect(peer.multifeeds()).toEqual([])
      events.push('peer-remove')
    })
    const multi = await a.open()
    const multiB = await b.open(multi.key)
    await Promise.all([a.net.swarm(multi), b.net.swarm(multiB)])
    await waitFor(
      () => events.includes('peer-multifeed'),
      () => `events so far: ${events}`
    )
    const [peer] = a.net.peers()
    const bKey = (b.networker as Networker | InProcessNetworker).publicKey
    expect(peer!.remotePublicKey.equals(bKey)).toBe(true)
    expect(peer!.multifeeds()).toEqual([multi])
    await b.close()
    await waitFor(
      () => events.includes('peer-remove'),
      () => `events so far: ${events}`
    )
    // A simultaneous dial may add (and drop) a second connection first: per
    // connection, every peer-add has its peer-remove.
    expect(events[0]).toBe('peer-add')
    expect(events.at(-1)).toBe('peer-remove')
    expect(events.filter((e) => e === 'peer-multifeed').length).toBeGreaterThanOrEqual(1)
    expect(events.filter((e) => e === 'peer-add').length).toBe(
      events.filter((e) => e === 'peer-remove').length
    )
    expect(a.net.peers()).toEqual([])
  })

  test('a multifeed that closes is left automatically', { timeout: 15_000 }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const x = await a.open()
    const y = await a.open()
    const yb = await b.open(y.key)
    await write(y, 1)
    await Promise.all([a.net.swarm(x), a.net.swarm(y), b.net.swarm(yb)])
    await x.close()
    await waitFor(
      () => !a.net.multifeeds().includes(x),
      () => 'x is still swarmed'
    )
    expect(a.net.multifeeds()).toEqual([y])
    await write(y, 1)
    await waitHolds([yb], 1, 2)
  })

  test('lookup-only meets announce-only; two lookup-only peers never connect', {
    timeout: 20_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const c = await env.peer()
    const multi = await a.open()
    const multiB = await b.open(multi.key)
    const multiC = await c.open(multi.key)
    await write(multi, 2)
    await b.net.swarm(multiB, { announce: false })
    await c.net.swarm(multiC, { announce: false })
    // Both lookups completed (swarm() resolved) and, for Hyperswarm, every peer
    // they found was tried (flush()): nothing to connect to.
    for (const { networker } of [b, c]) {
      if (networker instanceof Networker) await networker.hyperswarm.flush()
    }
    expect(b.networker.connections()).toEqual([])
    expect(c.networker.connections()).toEqual([])
    await a.net.swarm(multi, { lookup: false })
    // A only announces: B and C find it, and stay unknown to each other.
    await Promise.all([b.net.swarm(multiB), c.net.swarm(multiC)]) // no-op, same promise
    await refreshLookups([b, c])
    await waitHolds([multiB, multiC], 1, 2)
    expect(b.net.peers()).toHaveLength(1)
    expect(c.net.peers()).toHaveLength(1)
    expect(a.net.peers()).toHaveLength(2)
    expect(holds(multiB, 1, 2)).toBe(true)
  })
})

/**
 * A lookup-only peer that swarmed before anyone announced finds the announcer
 * at its next lookup; Hyperswarm's own is minutes away, so the test asks for
 * one (the in-process hub links at once and needs nothing).
 */
async function refreshLookups(peers: Array<{ networker: Networker | InProcessNetworker }>) {
  for (const { networker } of peers) {
    if (!(networker instanceof Networker)) continue
    for (const multi of networker.multifeeds()) {
      await networker.hyperswarm.status(multi.discoveryKey)?.refresh()
    }
  }
}

describe('Networker (Hyperswarm) specifics', () => {
  const env = eachTestEnv('hyperswarm')

  test("swarm() holds the multifeed's findingPeers (the set's sessions wait for peers) until its lookup ends", {
    timeout: 20_000
  }, async () => {
    const a = await env.peer()
    const multi = await a.open()
    // The set's cores live in a namespace of the store: corestore.findingPeers() on the
    // networker's store does not reach them, the multifeed's own does.
    let held = 0
    let released = 0
    const findingPeers = multi.findingPeers.bind(multi)
    multi.findingPeers = () => {
      held++
      const done = findingPeers()
      return () => {
        released++
        done()
      }
    }
    await a.net.swarm(multi)
    expect(held).toBe(1)
    await waitFor(
      () => released === 1,
      () => `released ${released} of ${held}`
    )
  })

  test('a given swarm: close() leaves nothing of ours on it or its connections', {
    timeout: 20_000
  }, async () => {
    const testnet = env.testnet!
    const dir = await tmpDir(env.t)
    const store = new Corestore(dir)
    env.t.add(() => store.close())
    const swarm = new Hyperswarm({ dht: testnet.createNode() })
    env.t.add(() => swarm.destroy())
    // The user's own handling of every connection, and what each carried before us.
    const before = new Map<object, Map<string | symbol, Listener[]>>()
    swarm.on('connection', (conn) => {
      conn.on('error', () => {})
      // The protocol muxer cannot be taken off a stream once on it (Protomux
      // listens for good): made here, so what remains after close() and was
      // not there now is ours.
      HypercoreClass.createProtocolStream(conn)
      before.set(conn, listenersOf(conn))
    })
    const swarmListeners = swarm.listeners('connection')
    const net = new Networker(store, { swarm })
    expect(net.ownsSwarm).toBe(false)
    expect(net.hyperswarm).toBe(swarm)
    const { Multifeed } = await import('@multifeed/core')
    const multi = await Multifeed.open(store)
    env.t.add(() => multi.close())
    const b = await env.peer()
    const multiB = await b.open(multi.key)
    await write(multi, 3)
    await Promise.all([net.swarm(multi), b.net.swarm(multiB)])
    await waitHolds([multiB], 1, 3)
    // The remote's multifeed sees its channel with us close.
    const remoteRemoved = new Promise((resolve) => multiB.once('peer-remove', resolve))
    await net.close()
    expect(swarm.destroyed).toBe(false)
    expect(swarm.connections.size).toBe(1)
    expect(swarm.listeners('connection')).toEqual(swarmListeners)
    expect(swarm.status(multi.discoveryKey)).toBeFalsy()
    const [conn] = [...swarm.connections]
    expect(before.has(conn!)).toBe(true)
    expect(listenersOf(conn!)).toEqual(before.get(conn!))
    await remoteRemoved
    // B keeps the connection, which proves nothing any more: no peer.
    expect(b.net.peers()).toEqual([])
    expect((b.networker as Networker).connections()).toHaveLength(1)
  })

  test('a given swarm that is connected already: its connections serve at once', {
    timeout: 20_000
  }, async () => {
    const testnet = env.testnet!
    const { Multifeed } = await import('@multifeed/core')
    const sides = []
    for (let i = 0; i < 2; i++) {
      const store = new Corestore(await tmpDir(env.t))
      env.t.add(() => store.close())
      const swarm = new Hyperswarm({ dht: testnet.createNode() })
      swarm.on('connection', (conn) => conn.on('error', () => {}))
      env.t.add(() => swarm.destroy())
      sides.push({ store, swarm })
    }
    const [sa, sb] = sides as [(typeof sides)[0], (typeof sides)[0]]
    // Connected for some other topic, before any networker exists.
    const unrelated = Buffer.alloc(32, 7)
    // One after the other (joined at the same instant they could wait minutes: see swarm()).
    await sa.swarm.join(unrelated).flushed()
    await sb.swarm.join(unrelated).flushed()
    await waitFor(
      () => sa.swarm.connections.size === 1 && sb.swarm.connections.size === 1,
      () => 'the raw swarms did not connect'
    )
    const netA = new Networker(sa.store, { swarm: sa.swarm })
    const netB = new Networker(sb.store, { swarm: sb.swarm })
    env.t.add(() => netA.close())
    env.t.add(() => netB.close())
    // Connected, but no multifeed proved on it yet: a connection, not a peer.
    expect(netA.connections()).toHaveLength(1)
    expect(netA.connections()[0]!.proven).toBe(false)
    expect(netA.peers()).toEqual([])
    const multi = await Multifeed.open(sa.store)
    const multiB = await Multifeed.open(sb.store, multi.key)
    env.t.add(() => multi.close())
    env.t.add(() => multiB.close())
    await write(multi, 2)
    await netA.swarm(multi, { announce: false, lookup: false })
    await netB.swarm(multiB, { announce: false, lookup: false })
    await waitHolds([multiB], 1, 2)
    expect(netA.peers()).toEqual(netA.connections())
    expect(netA.peers()[0]!.proven).toBe(true)
  })

  test('a given DHT is destroyed at close by default (ownsDht)', async () => {
    const dht = env.testnet!.createNode()
    const store = new Corestore(await tmpDir(env.t))
    env.t.add(() => store.close())
    const net = new Networker(store, { dht })
    expect(net.ownsDht).toBe(true)
    await net.close()
    expect(dht.destroyed).toBe(true)
  })

  test('a given DHT with ownsDht: false outlives the networker, with nothing of ours on it', {
    timeout: 20_000
  }, async () => {
    const dht = env.testnet!.createNode()
    const dhtListeners = listenersOf(dht)
    const a = await env.peer()
    const dir = await tmpDir(env.t)
    const store = new Corestore(dir)
    env.t.add(() => store.close())
    const net = new Networker(store, { dht, ownsDht: false })
    expect(net.ownsDht).toBe(false)
    const { Multifeed } = await import('@multifeed/core')
    const multi = await Multifeed.open(store)
    env.t.add(() => multi.close())
    const multiA = await a.open(multi.key)
    await write(multiA, 2)
    await Promise.all([net.swarm(multi), a.net.swarm(multiA)])
    await waitHolds([multi], 1, 2)
    await net.close()
    expect(net.hyperswarm.destroyed).toBe(true)
    expect(dht.destroyed).toBe(false)
    expect(listenersOf(dht)).toEqual(dhtListeners)
    await waitFor(
      () => a.net.peers().length === 0,
      () => 'A still has a connection to the closed networker'
    )
    // The DHT still serves a new swarm.
    const again = new Networker(store, { dht, ownsDht: false })
    env.t.add(() => again.close())
    await write(multiA, 2)
    await again.swarm(multi)
    await waitHolds([multi], 1, 4)
  })

  test('peers() lists proven peers only: a connection of another multifeed key is not a peer', {
    timeout: 20_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const x = await a.open()
    const y = await b.open() // another key, on x's topic
    const added: number[] = []
    a.net.on('peer-add', (peer) => added.push(peer.multifeeds().length))
    await b.net.swarm(y, { announce: false, lookup: false })
    const netA = a.networker as Networker
    const netB = b.networker as Networker
    await netB.hyperswarm.join(x.discoveryKey).flushed()
    await netA.swarm(x)
    await netA.hyperswarm.status(x.discoveryKey)?.refresh()
    await waitFor(
      () => netA.connections().length === 1,
      () => 'A and B did not connect'
    )
    expect(netA.peers()).toEqual([])
    expect(netA.connections()[0]!.proven).toBe(false)
    // The same connection becomes a peer once B proves x.
    const xb = await b.open(x.key)
    await b.net.swarm(xb, { announce: false, lookup: false })
    await waitFor(
      () => netA.peers().length === 1,
      () => 'B never became a peer of A'
    )
    expect(netA.peers()).toEqual(netA.connections())
    expect(netA.peers()[0]!.multifeeds()).toEqual([x])
    expect(added).toEqual([1])
  })

  test('every constructor argument is checked: ERR_INVALID_ARGUMENT', async () => {
    const store = new Corestore(await tmpDir(env.t))
    env.t.add(() => store.close())
    const dht = env.testnet!.createNode()
    env.t.add(() => dht.destroy())
    const swarm = new Hyperswarm({ dht: env.testnet!.createNode() })
    env.t.add(() => swarm.destroy())
    const bad: Array<[unknown, unknown]> = [
      [null, {}],
      [{}, {}],
      [store, null],
      [store, 'x'],
      [store, { bootstrap: 'x' }],
      [store, { bootstrap: ['x'] }],
      [store, { bootstrap: [{ host: 'localhost', port: 99999 }] }],
      [store, { keyPair: {} }],
      [store, { keyPair: { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(32) } }],
      [store, { maxPeers: 0 }],
      [store, { firewall: true }],
      [store, { swarm: {} }],
      [store, { dht: {} }],
      [store, { dht, bootstrap: ['127.0.0.1:49737'] }],
      [store, { ownsDht: true }],
      [store, { dht, ownsDht: 'yes' }],
      [store, { ownsSwarm: true }],
      [store, { swarm, ownsSwarm: 1 }],
      [store, { swarm, dht }],
      [store, { swarm, maxPeers: 8 }],
      [store, { boostrap: [] }]
    ]
    for (const [i, [corestore, options]] of bad.entries()) {
      let thrown: unknown = null
      try {
        new Networker(corestore as never, options as NetworkerOptions)
      } catch (err) {
        thrown = err
      }
      expect(thrown, `case ${i}`).toBeInstanceOf(MultifeedError)
      expect((thrown as MultifeedError).code, `case ${i}`).toBe('ERR_INVALID_ARGUMENT')
    }
    const net = new Networker(store, { dht, ownsDht: false })
    env.t.add(() => net.close())
    const multi = await Multifeed.open(store)
    env.t.add(() => multi.close())
    const err = await net
      .swarm(multi, { announce: 'no' } as unknown as SwarmOptions)
      .catch((e: unknown) => e)
    expect((err as MultifeedError).code).toBe('ERR_INVALID_ARGUMENT')
  })

  test('options: swarm excludes dht/bootstrap/keyPair; keyPair sets the identity', async () => {
    const dir = await tmpDir(env.t)
    const store = new Corestore(dir)
    env.t.add(() => store.close())
    const swarm = new Hyperswarm({ dht: env.testnet!.createNode() })
    env.t.add(() => swarm.destroy())
    expect(() => new Networker(store, { swarm, keyPair: swarm.keyPair })).toThrow(/either a swarm/)
    const keyPair = swarm.keyPair
    const net = new Networker(store, { dht: env.testnet!.createNode(), keyPair })
    env.t.add(() => net.close())
    expect(net.publicKey.equals(keyPair.publicKey)).toBe(true)
  })
})

describe('InProcessNetworker specifics', () => {
  test('await using closes the networker', async () => {
    const t = new Teardown()
    try {
      const store = new Corestore(await tmpDir(t))
      t.add(() => store.close())
      let seen: InProcessNetworker | null = null
      {
        await using net = new InProcessNetworker(store, { hub: new InProcessHub() })
        seen = net
        expect(net.closed).toBe(false)
      }
      expect(seen.closed).toBe(true)
    } finally {
      await t.run()
    }
  })

  test('a corrupt connection is a connection-error, never a throw; the peer is removed', async () => {
    const t = new Teardown()
    try {
      const env = await Env.create('in-process', t)
      const a = await env.peer()
      const b = await env.peer()
      const multi = await a.open()
      const multiB = await b.open(multi.key)
      await write(multi, 1)
      await Promise.all([a.net.swarm(multi), b.net.swarm(multiB)])
      await waitHolds([multiB], 1, 1)
      const errors: Array<[Error, NetworkPeer | null]> = []
      b.net.on('connection-error', (err, peer) => errors.push([err, peer]))
      const [peerB] = b.net.peers()
      // A frame (3-byte length, then bytes) that does not decrypt arrives on B's side of the link.
      peerB!.stream.rawStream.write(
        Buffer.concat([Buffer.from([64, 0, 0]), Buffer.alloc(64, 0xff)])
      )
      await waitFor(
        () => a.net.peers().length === 0 && b.net.peers().length === 0,
        () => 'the corrupt link is still up'
      )
      expect(errors).toHaveLength(1)
      expect(errors[0]![1]).toBe(peerB)
      env.connectionErrors.length = 0
      // Swarming again links them anew.
      await a.net.leave(multi)
      await a.net.swarm(multi)
      await write(multi, 1)
      await waitHolds([multiB], 1, 2)
    } finally {
      await t.run()
    }
  })

  test('networkers of different hubs never connect; one link per pair', async () => {
    const t = new Teardown()
    try {
      const env = await Env.create('in-process', t)
      const a = await env.peer()
      const b = await env.peer()
      const multis: Multifeed[] = []
      for (let i = 0; i < 5; i++) {
        const m = await a.open()
        multis.push(m, await b.open(m.key))
      }
      await Promise.all(multis.map((m, i) => (i % 2 === 0 ? a.net : b.net).swarm(m)))
      expect(env.hub.connections).toBe(1)

      const dir = await tmpDir(t)
      const store = new Corestore(dir)
      t.add(() => store.close())
      const elsewhere = new InProcessNetworker(store, { hub: new InProcessHub() })
      t.add(() => elsewhere.close())
      const { Multifeed } = await import('@multifeed/core')
      const m = await Multifeed.open(store, multis[0]!.key)
      t.add(() => m.close())
      await elsewhere.swarm(m)
      expect(elsewhere.peers()).toEqual([])
      expect(env.hub.connections).toBe(1)
    } finally {
      await t.run()
    }
  })
})

/** Every listener of every event of `emitter`, by event name. */
function listenersOf(emitter: EventEmitter): Map<string | symbol, Listener[]> {
  const out = new Map<string | symbol, Listener[]>()
  for (const name of emitter.eventNames()) {
    out.set(name, [...(emitter.listeners(name) as Listener[])])
  }
  return out
}

type Listener = (...args: never) => unknown
