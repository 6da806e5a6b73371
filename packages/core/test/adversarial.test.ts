/**
 * Adversarial tests on multifeed/2: lying peers (a puppet that holds the
 * key), churn, throwing policies and listeners, faults that must stay on one
 * channel, races between peers, and connections that die at bad moments.
 * Negative claims wait for a positive signal (a later message processed, a
 * counter), never for a sleep.
 */
import { getEventListeners } from 'node:events'
import type { Duplex } from 'node:stream'
import {
  type CallbackError,
  type FeedInfo,
  Multifeed,
  type MultifeedPeer,
  ReplicationStream,
  type SyncInfo
} from '@multifeed/core'
import CorestoreClass from 'corestore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SKETCH_COUNTERS } from '../src/protocol/estimator.js'
import { HINT_BYTES, SECRET_BYTES } from '../src/protocol/pairing.js'
import { link, next, onCleanup, pipe, tmpDir, tmpStore, until, untilConverged } from './helpers.js'
import { DONE, digestOf, elementsBytes, openBytes, puppet, setProof } from './puppet.js'
import { errorsOf, hex, membershipKeys, noUnhandled, open, sharedConnection } from './support.js'

noUnhandled()

const randomKeys = (n: number): Buffer[] => Array.from({ length: n }, () => crypto.randomBytes(32))
const at = (keys: Buffer[], length = 0) => keys.map((key) => ({ key, length }))

/** A puppet holding the key, on a new connection to `multi` (we are the initiator). */
async function liar(multi: Multifeed, options: Parameters<typeof puppet>[2] = {}) {
  const stream = multi.replicate(true)
  const peer = multi.attach(stream)
  const p = await puppet(stream, multi.key, options)
  await p.opened
  return { p, peer, stream }
}

describe('a lying peer', () => {
  it('claims feeds it never serves: they join and persist; downloaded() waits for it, not past it', async () => {
    const store = await tmpStore()
    const multi = await open(store, null, { sparse: true })
    const w = await multi.writer()
    await w.append(Buffer.from('mine'))
    await w.close()
    const { p, peer } = await liar(multi)
    const phantom = randomKeys(3)
    p.send.elements(elementsBytes(at(phantom, 5), DONE))
    const info = await peer.synced
    expect(info?.added.map((f) => f.key)).toEqual(phantom)
    expect(multi.feeds()).toHaveLength(4)
    // It claims blocks it never sends: downloaded() waits while it is connected ...
    await expect(multi.downloaded({ timeout: 100 })).rejects.toMatchObject({
      code: 'ERR_TIMEOUT'
    })
    // ... and not once it is gone.
    await p.pipe.destroy()
    await until(() => multi.peers().length === 0, 'the liar is gone')
    await multi.downloaded({ timeout: 5_000 })
    await multi.close()
    expect((await membershipKeys(store, multi.discoveryKey)).sort()).toEqual(
      [w.key!, ...phantom].map(hex).sort()
    )
  })

  it('claims a length it does not have: the core it made us open closes after the idle timeout', async () => {
    const multi = await open(null, null, { idleTimeout: 50 })
    const { p } = await liar(multi)
    const k = crypto.randomBytes(32)
    p.send.elements(elementsBytes([{ key: k, length: 1000 }], DONE))
    await until(() => multi.feed(k) !== null, 'the claimed feed joins')
    await until(() => multi.openCores === 1, 'we open its core to fetch the claimed blocks')
    await until(() => multi.openCores === 0, 'the core is closed after the idle timeout')
    // the liar is still connected: it keeps nothing of ours open
    expect(multi.peers()).toHaveLength(1)
    expect(p.stream.destroyed).toBe(false)
  })

  it('sends our own writer keys back and duplicates in one batch: no new feed, no new record', async () => {
    const store = await tmpStore()
    const multi = await open(store)
    const w = await multi.writer('me')
    await w.close()
    const errors = errorsOf(multi)
    const { p, peer } = await liar(multi)
    const k = crypto.randomBytes(32)
    p.send.elements(elementsBytes(at([w.key!, k, k, w.key!, k]), DONE))
    const info = await peer.synced
    expect(info?.added.map((f) => f.key)).toEqual([k])
    expect(multi.feeds().map((f) => f.key)).toEqual([w.key, k])
    expect(multi.feeds()[0]).toMatchObject({ local: true, name: 'me' })
    // the same keys again as a live update, then a new one as the signal
    p.send.elements(elementsBytes(at([k, w.key!])))
    const signal = crypto.randomBytes(32)
    p.send.elements(elementsBytes(at([signal])))
    await until(() => multi.feed(signal) !== null, 'the later update is processed')
    expect(multi.feeds()).toHaveLength(3)
    expect(errors).toEqual([])
    await multi.close()
    expect(await membershipKeys(store, multi.discoveryKey)).toEqual([w.key!, k, signal].map(hex))
  })

  it('sends odd keys (zeros, ones, the multifeed key, its discovery key): no crash, an honest peer still syncs', async () => {
    const multi = await open()
    const friend = await open(null, multi.key)
    const w = await multi.writer()
    await w.append(Buffer.from('still here'))
    await w.close()
    const { p, peer, stream } = await liar(multi)
    const odd = [Buffer.alloc(32), Buffer.alloc(32, 0xff), multi.key, multi.discoveryKey]
    p.send.elements(elementsBytes(at(odd, 1), DONE))
    await peer.synced
    expect(multi.feeds()).toHaveLength(5)
    pipe(multi, friend)
    await until(() => friend.feed(w.key!)?.length === 1, 'an honest peer still gets our data')
    expect(stream.destroyed).toBe(false)
  })

  it('ends the reconciliation right behind its open: processed after the capability verified', async () => {
    const multi = await open()
    const stream = multi.replicate(true)
    const peer = multi.attach(stream)
    const keys = randomKeys(3)
    const p = await puppet(stream, multi.key)
    await p.opened
    p.send.elements(elementsBytes(at(keys), DONE))
    const info = await peer.synced
    expect(info?.added.map((f) => f.key)).toEqual(keys)
  })

  it('a set proof replayed from another connection does not pass for in sync (the right proof does)', async () => {
    const multi = await open()
    const w1 = await multi.writer('one')
    const w2 = await multi.writer('two')
    await w1.close()
    await w2.close()
    const digest = digestOf(multi.key, at([w1.key!, w2.key!]))
    // control: this connection's proof of our very set means "in sync"
    const honest = await liar(multi, {
      open: (self) =>
        openBytes({
          capability: self.capability(),
          setProof: setProof(multi.key, self.hash, digest)
        })
    })
    const control = await honest.peer.synced
    expect(control?.inSync).toBe(true)
    expect(honest.p.received.symbols).toEqual([])
    // the same set proved on another handshake hash: we reconcile
    const replayed = await liar(multi, {
      open: (self) =>
        openBytes({
          capability: self.capability(),
          setProof: setProof(multi.key, crypto.randomBytes(64), digest)
        })
    })
    await until(() => replayed.p.received.symbols.length > 0, 'we send coded symbols')
    expect(replayed.peer.reconciled).toBe(false)
  })

  it('never ends the reconciliation: synced stays pending (its later updates are taken), then null when the stream dies', async () => {
    const multi = await open()
    const { p, peer } = await liar(multi)
    let settled = false
    peer.synced.then(() => {
      settled = true
    })
    const k = crypto.randomBytes(32)
    p.send.elements(elementsBytes(at([k])))
    await until(() => multi.feed(k) !== null, 'its update is processed')
    expect(settled).toBe(false)
    expect(peer.reconciled).toBe(false)
    await p.pipe.destroy()
    expect(await peer.synced).toBeNull()
    expect(multi.peers()).toHaveLength(0)
  })
})

describe('churn', () => {
  it('attach/detach the same stream 50 times, then attach: converges, no listener leak', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const wa = await a.writer()
    await wa.append(Buffer.from('a0'))
    const wb = await b.writer()
    await wb.append(Buffer.from('b0'))
    onCleanup(async () => {
      await wa.close()
      await wb.close()
    })
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const p = pipe(a, b)
    await untilConverged([a, b], 2)
    const noise = (p.a as unknown as { noiseStream: Duplex }).noiseStream
    const baseline = noise.listenerCount('close')
    const channels = [...ReplicationStream.of(p.a)!.mux].length
    for (let i = 0; i < 50; i++) {
      a.detach(p.a)
      a.attach(p.a)
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await wa.append(Buffer.from('a1'))
    await wb.append(Buffer.from('b1'))
    await until(
      () => b.feed(wa.key!)?.length === 2 && a.feed(wb.key!)?.length === 2,
      'blocks appended after the churn replicate both ways'
    )
    const late = await a.writer('late')
    const lateKey = late.key!
    await late.close()
    await until(() => b.feed(lateKey) !== null, 'a feed created after the churn reaches b')
    expect(noise.listenerCount('close')).toBe(baseline)
    expect([...ReplicationStream.of(p.a)!.mux].length).toBeLessThanOrEqual(channels)
    expect(a.peers()).toHaveLength(1)
    expect(b.peers()).toHaveLength(1)
    expect(errors).toEqual([])
  })

  it('attach/detach churn before the handshake completed: converges', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const w = await a.writer()
    await w.append(Buffer.from('x'))
    await w.close()
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    for (let i = 0; i < 50; i++) {
      a.detach(sa)
      a.attach(sa)
    }
    link(sa, sb)
    await untilConverged([a, b], 1)
  })

  it('the remote re-opens its channel 1,000 times: each costs what an in-sync reconnect costs, nothing leaks', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const w = await a.writer()
    await w.append(Buffer.from('x'))
    await w.close()
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const peersOfA: MultifeedPeer[] = []
    a.on('peer-add', (peer) => peersOfA.push(peer))
    const p = pipe(a, b)
    await untilConverged([a, b], 1)
    await until(() => a.peers()[0]?.reconciled === true, 'a reconciled')
    const noise = (p.a as unknown as { noiseStream: Duplex }).noiseStream
    const baseline = noise.listenerCount('close')
    const pairing = ReplicationStream.of(p.a)!.stats
    const pairingBefore = { ...pairing }
    const first = peersOfA.length
    const rounds = 1000
    for (let i = 0; i < rounds; i++) {
      b.detach(p.b)
      const reconciled = Promise.all([
        next<[MultifeedPeer, SyncInfo]>(a, 'reconciled'),
        next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
      ])
      b.attach(p.b)
      const [[, info], [, infoB]] = await reconciled
      expect(info.inSync && infoB.inSync).toBe(true)
    }
    const again = peersOfA.slice(first)
    expect(again).toHaveLength(rounds)
    // an in-sync reconnect: one open message each way, no core attached
    for (const peer of again) {
      expect(peer.stats.messagesSent).toBe(1)
      expect(peer.stats.messagesReceived).toBe(1)
      expect(peer.stats.coresAttached).toBe(0)
    }
    const bytes = again.reduce((n, peer) => n + peer.stats.bytesSent + peer.stats.bytesReceived, 0)
    // each open: version, capability, set proof and count (< 40 B), then the
    // sketch, one byte a counter for a set this small
    expect(bytes / rounds).toBeLessThanOrEqual(2 * (40 + DEFAULT_SKETCH_COUNTERS))
    // pairing: one 16-byte token and its state hint (with the count, flags and hint width) each way per re-open
    const perToken = SECRET_BYTES + HINT_BYTES + 4
    expect((pairing.bytesReceived - pairingBefore.bytesReceived) / rounds).toBeLessThanOrEqual(
      perToken
    )
    expect((pairing.bytesSent - pairingBefore.bytesSent) / rounds).toBeLessThanOrEqual(perToken)
    expect(noise.listenerCount('close')).toBeLessThanOrEqual(baseline)
    expect(a.peers()).toHaveLength(1)
    expect(b.peers()).toHaveLength(1)
    expect(errors).toEqual([])
  }, 30_000)

  it('the remote detaches and stays away, then re-attaches: what was created meanwhile arrives then', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const p = pipe(a, b)
    await until(() => a.peers().length === 1 && b.peers().length === 1, 'paired')
    b.detach(p.b)
    await until(() => a.peers().length === 0, 'a sees b leave')
    const w = await a.writer('while-detached')
    await w.append(Buffer.from('meanwhile'))
    await w.close()
    expect(b.feed(w.key!)).toBeNull()
    b.attach(p.b)
    await until(() => b.feed(w.key!)?.length === 1, 'b learns the feed after attaching again')
  })
})

describe('connections that die', () => {
  it('the stream dies in the middle of a 5,000-feed reconciliation: no crash, storage matches memory, a reconnect completes', async () => {
    const storeA = await tmpStore()
    const a = await open(storeA, null, { sparse: true })
    const seed = await liar(a)
    const all = randomKeys(5000)
    seed.p.send.elements(elementsBytes(at(all.slice(0, 4000))))
    seed.p.send.elements(elementsBytes(at(all.slice(4000)), DONE))
    await seed.peer.synced
    expect(a.feeds()).toHaveLength(5000)
    await seed.p.pipe.destroy()

    const storeB = await tmpStore()
    let b = await Multifeed.open(storeB, a.key, { sparse: true })
    const p = pipe(a, b)
    await new Promise<void>((resolve) => {
      b.once('feed', () => {
        p.a.destroy()
        p.b.destroy()
        resolve()
      })
    })
    await p.destroy()
    await until(() => b.peers().length === 0, 'b sees the connection gone')
    const partial = b.feeds().map((f) => hex(f.key))
    expect(partial.length).toBeGreaterThan(0)
    await b.close()
    const persisted = await membershipKeys(storeB, a.discoveryKey)
    expect(persisted.length).toBe(new Set(persisted).size)
    expect(persisted.sort()).toEqual([...partial].sort())

    b = await Multifeed.open(storeB, a.key, { sparse: true })
    onCleanup(() => b.close())
    expect(b.feeds()).toHaveLength(partial.length)
    pipe(a, b)
    await until(() => b.feeds().length === 5000, 'b completes the set on reconnect')
    await b.close()
    const final = await membershipKeys(storeB, a.discoveryKey)
    expect(final).toHaveLength(5000)
    expect(new Set(final).size).toBe(5000)
  })

  it('a peer that sends updates and closes its channel at once: no crash, memory matches storage', async () => {
    const store = await tmpStore()
    const multi = await open(store)
    const { p, stream } = await liar(multi)
    p.send.elements(elementsBytes(at(randomKeys(2)), DONE))
    p.send.elements(elementsBytes(at(randomKeys(2))))
    p.closeChannel()
    await p.closed
    await until(() => multi.peers().length === 0, 'its channel is gone on our side')
    // a new puppet on the same connection is not possible (one per stream); a fresh one syncs
    const k = crypto.randomBytes(32)
    const again = await liar(multi)
    again.p.send.elements(elementsBytes(at([k]), DONE))
    await again.peer.synced
    expect(stream.destroyed).toBe(false)
    const inMemory = multi.feeds().map((f) => hex(f.key))
    await multi.close()
    expect((await membershipKeys(store, multi.discoveryKey)).sort()).toEqual(inMemory.sort())
  })

  it('close() while an async accept is pending: close resolves, the key is not added, nothing leaks', async () => {
    const store = await tmpStore()
    let release: (v: boolean) => void = () => {}
    let asked = 0
    const multi = await Multifeed.open(store, null, {
      policy: {
        accept: () => {
          asked++
          return new Promise<boolean>((resolve) => {
            release = resolve
          })
        }
      }
    })
    const { p, stream } = await liar(multi)
    p.send.elements(elementsBytes(at(randomKeys(1)), DONE))
    await until(() => asked === 1, 'accept is asked')
    const closed = multi.close()
    let done = false
    closed.then(() => {
      done = true
    })
    await until(() => done, 'close() resolves while accept is pending', 5_000)
    release(true)
    await closed
    expect(multi.feeds()).toHaveLength(0)
    expect(stream.destroyed).toBe(false)
    expect(await membershipKeys(store, multi.discoveryKey)).toEqual([])
  })
})

describe('local faults', () => {
  it('the corestore closing under an exchange (storage fails mid-write) is not blamed on the peer', async () => {
    const store = new CorestoreClass(await tmpDir())
    await store.ready()
    const multi = await Multifeed.open(store, null, {
      policy: {
        accept: () => {
          // the app shuts the corestore down while the key is being stored
          setImmediate(() => store.close().catch(() => {}))
          return true
        }
      }
    })
    onCleanup(() => multi.close())
    const errors = errorsOf(multi)
    const { p } = await liar(multi)
    p.send.elements(elementsBytes(at([crypto.randomBytes(32)]), DONE))
    await until(() => multi.peers().length === 0, 'the exchange ends with the corestore')
    expect(errors).toEqual([])
  })
})

describe('races', () => {
  it('two peers offer the same new keys at the same instant: one feed and one record each', async () => {
    const store = await tmpStore()
    const multi = await open(store)
    const keys = randomKeys(20)
    const added: string[] = []
    multi.on('feed', (info) => added.push(hex(info.key)))
    const one = await liar(multi)
    const two = await liar(multi)
    one.p.send.elements(elementsBytes(at(keys), DONE))
    two.p.send.elements(elementsBytes(at([...keys].reverse()), DONE))
    await Promise.all([one.peer.synced, two.peer.synced])
    expect(added.sort()).toEqual(keys.map(hex).sort())
    expect(multi.feeds()).toHaveLength(20)
    await multi.close()
    expect((await membershipKeys(store, multi.discoveryKey)).sort()).toEqual(keys.map(hex).sort())
  })

  it('two honest peers teach a third the same feeds at the same instant: no duplicate, data flows', async () => {
    const a = await open()
    const b = await open(null, a.key)
    for (let i = 0; i < 10; i++) {
      const w = await a.writer(`w${i}`)
      await w.append(Buffer.from(`${i}`))
      await w.close()
    }
    pipe(a, b)
    await untilConverged([a, b], 10)
    const storeC = await tmpStore()
    const c = await Multifeed.open(storeC, a.key)
    pipe(a, c)
    pipe(b, c)
    await untilConverged([a, b, c], 10)
    await c.close()
    const records = await membershipKeys(storeC, a.discoveryKey)
    expect(records).toHaveLength(10)
    expect(new Set(records).size).toBe(10)
  })

  it('a key refused to an untrusted peer (slow accept) joins through a trusted peer offering it meanwhile', async () => {
    let untrusted: MultifeedPeer | null = null
    let refuse: () => void = () => {}
    const refused = new Promise<void>((resolve) => {
      refuse = resolve
    })
    let askedUntrusted = 0
    const multi = await open(null, null, {
      policy: {
        accept: async (_key, { peer }) => {
          if (peer !== untrusted) return true
          askedUntrusted++
          await refused
          return false
        }
      }
    })
    const one = await liar(multi)
    untrusted = one.peer
    const two = await liar(multi)
    const k = crypto.randomBytes(32)
    one.p.send.elements(elementsBytes(at([k]), DONE))
    await until(() => askedUntrusted === 1, 'the untrusted offer is being decided')
    two.p.send.elements(elementsBytes(at([k]), DONE))
    refuse()
    await Promise.all([one.peer.synced, two.peer.synced])
    await until(() => multi.feed(k) !== null, "the trusted peer's key joins the set")
  })

  it('keys refused by accept are not kept: a peer offering 50× maxFeeds refused keys, then one accepted', async () => {
    let asked = 0
    const marker = crypto.randomBytes(32)
    const multi = await open(null, null, {
      limits: { maxFeeds: 100 },
      policy: {
        accept: (key) => {
          asked++
          return key.equals(marker)
        }
      }
    })
    const errors = errorsOf(multi)
    const { p } = await liar(multi)
    for (let i = 0; i < 50; i++) p.send.elements(elementsBytes(at(randomKeys(100))))
    p.send.elements(elementsBytes(at([marker]), DONE))
    await until(() => multi.feed(marker) !== null, 'the accepted key joins after the refused ones')
    expect(asked).toBe(5001)
    expect(multi.feeds()).toHaveLength(1)
    expect(errors).toEqual([])
  })
})

describe('policies and listeners that throw', () => {
  for (const [name, accept] of [
    [
      'throws',
      () => {
        throw new TypeError('policy bug')
      }
    ],
    ['rejects', () => Promise.reject(new TypeError('policy bug'))]
  ] as const) {
    it(`accept ${name}: the key is refused, reported as callback-error; the peer is not blamed`, async () => {
      const s = await sharedConnection({ policy: { accept } }, false)
      const wx = await s.xa.writer()
      await wx.append(Buffer.from('x0'))
      await wx.close()
      const peerErrors = errorsOf(s.xb)
      const reported = next<[CallbackError, MultifeedPeer | null]>(s.xb, 'callback-error')
      s.xa.attach(s.sa)
      s.xb.attach(s.sb)
      const [err, peer] = await reported
      expect(err.code).toBe('ERR_CALLBACK')
      expect(err.callback).toBe('policy.accept')
      expect((err.cause as Error).message).toBe('policy bug')
      expect(peer?.multifeed).toBe(s.xb)
      await until(() => s.xb.peers()[0]?.reconciled === true, 'the reconciliation completes')
      expect(peerErrors).toEqual([])
      expect(s.xb.peers()).toHaveLength(1)
      expect(s.xb.feeds()).toHaveLength(0)
      await s.y.stillSyncs(`after-accept-${name}`)
    })
  }

  it('share throws: the feed is not shared and the throw is reported as callback-error', async () => {
    const a = await open(null, null, {
      policy: {
        share: (feed) => {
          if (feed.name === 'boom') throw new Error('share bug')
          return true
        }
      }
    })
    const ok = await a.writer('ok')
    const boom = await a.writer('boom')
    await ok.close()
    await boom.close()
    const b = await open(null, a.key)
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const reported: string[] = []
    a.on('callback-error', (err) => reported.push(`${err.code} ${err.callback}`))
    const reconciled = next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
    pipe(a, b)
    const [, info] = await reconciled
    expect(info.added.map((f) => f.key)).toEqual([ok.key])
    expect(b.feeds().map((f) => f.key)).toEqual([ok.key])
    expect(errors).toEqual([])
    expect(reported.length).toBeGreaterThan(0)
    expect(new Set(reported)).toEqual(new Set(['ERR_CALLBACK policy.share']))
  })

  it('a throwing peer-add listener breaks nothing: reported, X and Y on the connection sync', async () => {
    const s = await sharedConnection({}, false)
    const reported = next<[CallbackError]>(s.xb, 'callback-error')
    s.xb.on('peer-add', () => {
      throw new Error('listener bug')
    })
    const wx = await s.xa.writer()
    await wx.append(Buffer.from('x0'))
    await wx.close()
    s.xa.attach(s.sa)
    s.xb.attach(s.sb)
    const [err] = await reported
    expect(err.callback).toBe('listener:peer-add')
    await until(() => s.xb.feed(wx.key!)?.length === 1, 'X syncs')
    await s.y.stillSyncs('after-listener-throw')
  })

  it('a throwing reconciled listener does not blame the peer nor cut it off', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const w = await a.writer()
    await w.append(Buffer.from('x'))
    await w.close()
    const errors = errorsOf(b)
    b.on('callback-error', () => {})
    b.on('reconciled', () => {
      throw new Error('listener bug')
    })
    pipe(a, b)
    await until(() => b.feed(w.key!)?.length === 1, 'b gets the feed and its block')
    expect(errors).toEqual([])
    expect(b.peers()).toHaveLength(1)
  })

  it('a throwing feed listener: the other listeners still hear every feed; memory and storage agree', async () => {
    const store = await tmpStore()
    const multi = await open(store)
    multi.on('callback-error', () => {})
    let calls = 0
    multi.on('feed', () => {
      if (calls++ === 0) throw new Error('listener bug')
    })
    const heard: FeedInfo[] = []
    multi.on('feed', (info) => heard.push(info))
    const keys = randomKeys(3)
    const one = await liar(multi)
    one.p.send.elements(elementsBytes(at(keys), DONE))
    await one.peer.synced
    expect(
      multi
        .feeds()
        .map((f) => hex(f.key))
        .sort()
    ).toEqual(keys.map(hex).sort())
    expect(heard.map((f) => hex(f.key)).sort()).toEqual(keys.map(hex).sort())
    // offered again by another peer: no second record for any key
    const two = await liar(multi)
    two.p.send.elements(elementsBytes(at(keys), DONE))
    await two.peer.synced
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.sort()).toEqual(keys.map(hex).sort())
  })

  it('closing multifeed X mid-exchange leaves multifeed Y on the same connection syncing', async () => {
    const s = await sharedConnection({}, false)
    for (let i = 0; i < 20; i++) await (await s.xa.writer(`x${i}`)).close()
    s.xa.attach(s.sa)
    s.xb.attach(s.sb)
    await until(() => s.xb.feeds().length > 0, 'the exchange of X started')
    await s.xb.close()
    await s.y.stillSyncs('after-x-closed')
  })
})

describe('what travels', () => {
  it('feeds created while connected reach the peer live (feed event with the peer), then only updates travel', async () => {
    const a = await open()
    const b = await open(null, a.key)
    pipe(a, b)
    await until(() => a.peers()[0]?.reconciled === true, 'a and b reconciled')
    const seen = next<[FeedInfo, MultifeedPeer | null]>(b, 'feed')
    const w = await a.writer('late')
    const [info, from] = await seen
    expect(info.key).toEqual(w.key)
    expect(info.local).toBe(false)
    expect(from).toBe(b.peers()[0])
    await w.append(Buffer.from('live block'))
    const remote = await b.get(w.key!)
    expect((await remote.get(0, { timeout: 5_000 }))?.toString()).toBe('live block')
    await remote.close()
    await w.close()
    const peer = a.peers()[0]!
    const before = { ...peer.stats }
    for (const name of ['live-1', 'live-2']) await (await a.writer(name)).close()
    await until(() => b.feeds().length === 3, 'b learns the live additions')
    // two new feeds: at most two small updates, not the set again
    expect(peer.stats.messagesSent - before.messagesSent).toBeLessThanOrEqual(2)
    expect(peer.stats.bytesSent - before.bytesSent).toBeLessThanOrEqual(2 * (2 + 32 + 2))
    expect(peer.stats.symbolsSent - before.symbolsSent).toBe(0)
  })

  it('20 multifeeds on one connection: no MaxListenersExceededWarning', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    onCleanup(() => {
      process.off('warning', onWarning)
    })
    const pairs: Array<[Multifeed, Multifeed]> = []
    for (let i = 0; i < 20; i++) {
      const x = await open(storeA)
      const w = await x.writer()
      await w.append(Buffer.from(`${i}`))
      await w.close()
      pairs.push([x, await open(storeB, x.key)])
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
  })
})

describe('downloaded()', () => {
  it('a timeout leaves nothing behind: no waiter, no abort listener, no timer; a later call works', async () => {
    const multi = await open(null, null, { sparse: true })
    const w = await multi.writer()
    onCleanup(() => w.close())
    // a peer whose reconciliation is still running when downloaded() gives up
    const { p, peer } = await liar(multi)
    let checks = 0
    const remoteLength = peer.remoteLength.bind(peer)
    peer.remoteLength = (feed) => {
      checks++
      return remoteLength(feed)
    }
    const controller = new AbortController()
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const timersBefore = timers()
    await expect(
      multi.downloaded({ timeout: 50, signal: controller.signal })
    ).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(timers()).toBeLessThanOrEqual(timersBefore) // none of ours left (others may end meanwhile)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    // the reconciliation completes later, claiming blocks nobody sends ...
    p.send.elements(elementsBytes([{ key: crypto.randomBytes(32), length: 5 }], DONE))
    await peer.synced
    // ... and our feed grows: no waiter of the timed-out call looks at the peers
    checks = 0
    await w.append(Buffer.from('grow'))
    await until(() => multi.feed(w.key!)?.length === 1, 'the append is indexed')
    expect(checks).toBe(0)
    // a later call still works (once the liar is gone)
    await p.pipe.destroy()
    await until(() => multi.peers().length === 0, 'the liar is gone')
    await multi.downloaded({ timeout: 5_000 })
  })
  it('sparse: nothing is fetched on its own; synced() fetches it, a get() session too; abort releases', async () => {
    const a = await open(null, null, { sparse: true })
    const b = await open(null, a.key)
    const w = await b.writer()
    await w.append([Buffer.from('x'), Buffer.from('y')])
    await w.close()
    pipe(a, b)
    await until(() => a.peers()[0]?.reconciled === true, 'a reconciled with b')
    const key = a.feeds()[0]!.key
    // positive signal that nothing is fetched by itself: the peer's progress says what a lacks
    await until(() => a.progress().want.blocks === 2, 'a knows it lacks 2 blocks')
    expect(a.feed(key)!.length).toBe(0)
    const controller = new AbortController()
    const aborted = a.synced({ signal: controller.signal })
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await a.synced({ timeout: 5_000 })
    expect(a.feed(key)!.length).toBe(2)
    const session = await a.get(key)
    onCleanup(() => session.close())
    expect((await session.get(1))?.toString()).toBe('y')
  })
})
