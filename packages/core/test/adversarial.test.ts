/**
 * Adversarial tests: lying peers, churn, limits, throwing policy hooks and
 * listeners, and faults that must stay confined to one channel. Every test is
 * bounded in time and asserts that no promise rejection went unhandled.
 *
 * Many of these reproduced real core bugs (A1–A10 in notes/core-issues.md),
 * all fixed since: they stay as regression tests.
 */
import type { Duplex } from 'node:stream'
import {
  Multifeed,
  type MultifeedError,
  type MultifeedPeer,
  replicateCorestore
} from '@multifeed/core'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { feedsBytes, forgeCapability, forgePeer, handshakeBytes } from './forge.js'
import {
  link,
  linkStores,
  next,
  onCleanup,
  pipe,
  tmpStore,
  until,
  untilConverged
} from './helpers.js'

// ---------------------------------------------------------------------------
// No unhandled rejection, no uncaught exception, in any test.

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtException', onUnhandled)
})
afterEach(async () => {
  // let late rejections surface before checking
  await new Promise((resolve) => setTimeout(resolve, 50))
  const seen = unhandled.splice(0)
  expect(seen.map((e) => String((e as Error)?.stack ?? e))).toEqual([])
})

// ---------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const FEEDS_LAST = 1
const randomKeys = (n: number) => Array.from({ length: n }, () => crypto.randomBytes(32))
const hex = (b: Buffer) => b.toString('hex')

/** The set digest and set proof, re-implemented from the README (not imported from src). */
const SET_MEMBER = Buffer.from('multifeed/1 set member')
const SET_PROOF = Buffer.from('multifeed/1 set proof')
function digestOf(keys: Buffer[]): Buffer {
  const digest = Buffer.alloc(32)
  const scratch = Buffer.alloc(32)
  for (const key of keys) {
    sodium.crypto_generichash(scratch, key, SET_MEMBER)
    for (let i = 0; i < 32; i++) digest[i]! ^= scratch[i]!
  }
  return digest
}
function forgeSetProof(key: Buffer, handshakeHash: Buffer, digest: Buffer): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash_batch(out, [SET_PROOF, handshakeHash, digest], key)
  return out
}

/** Keys named in a raw Feeds message (flags, count, keys). */
function keysOf(raw: Buffer): Buffer[] {
  const state = { start: 0, end: raw.byteLength, buffer: raw }
  c.uint.decode(state)
  const count = c.uint.decode(state)
  const keys: Buffer[] = []
  for (let i = 0; i < count; i++)
    keys.push(raw.subarray(state.start + i * 32, state.start + (i + 1) * 32))
  return keys
}

/**
 * Every record of a multifeed's membership log, read straight from storage
 * (the multifeed must be closed). Duplicated keys here are duplicated records.
 */
async function membershipKeys(store: Corestore, discoveryKey: Buffer): Promise<string[]> {
  const ns = store.namespace(`@multifeed/${hex(discoveryKey)}`)
  const core = ns.get({ name: 'multifeed/membership', active: false })
  await core.ready()
  const keys: string[] = []
  try {
    for (let i = 0; i < core.length; i++) {
      const block = (await core.get(i, { wait: false })) as Buffer
      const state = { start: 0, end: block.byteLength, buffer: block }
      c.uint.decode(state) // format version
      const count = c.uint.decode(state)
      for (let j = 0; j < count; j++) {
        const flags = c.uint.decode(state)
        keys.push(hex(c.fixed32.decode(state)))
        if (flags & 2) c.string.decode(state)
      }
    }
  } finally {
    await core.close()
    await ns.close()
  }
  return keys
}

/** A forged peer with a valid capability, on a fresh attacker store linked to `store`. */
async function liar(
  multi: Multifeed,
  store: Corestore,
  handshake?: (hash: Buffer, isInitiator: boolean) => Buffer
) {
  const attacker = await tmpStore()
  const streams = linkStores(store, attacker)
  const peer = multi.attach(streams.a)
  const forged = await forgePeer(
    streams.b,
    multi.discoveryKey,
    handshake ??
      ((hash, isInitiator) =>
        handshakeBytes({ capability: forgeCapability(multi.key, hash, isInitiator) }))
  )
  await forged.opened
  return { ...streams, peer, forged, attacker }
}

/**
 * Two stores, each with multifeeds X and Y, on ONE replication stream. `y` is
 * the bystander: a fault on X's channel must not disturb it.
 */
async function sharedStream(xOptions: Parameters<typeof Multifeed.open>[2] = {}) {
  const storeA = await tmpStore()
  const storeB = await tmpStore()
  const xa = await Multifeed.open(storeA)
  const ya = await Multifeed.open(storeA)
  const xb = await Multifeed.open(storeB, xa.key, xOptions)
  const yb = await Multifeed.open(storeB, ya.key)
  const sa = replicateCorestore(storeA, true)
  const sb = replicateCorestore(storeB, false)
  const p = link(sa, sb)
  ya.attach(sa)
  yb.attach(sb)
  const wy = await ya.writer('bystander')
  await wy.append(Buffer.from('y0'))
  await untilConverged([ya, yb], 1)
  return { storeA, storeB, xa, ya, xb, yb, sa, sb, p, wy }
}

/** The bystander still replicates live over the same stream. */
async function bystanderStillSyncs(s: Awaited<ReturnType<typeof sharedStream>>, tag: string) {
  expect(s.sa.destroyed).toBe(false)
  expect(s.sb.destroyed).toBe(false)
  const before = s.wy.length
  await s.wy.append(Buffer.from(tag))
  await until(
    () => (s.yb.feed(s.wy.key!)?.contiguousLength ?? 0) > before,
    `bystander multifeed receives "${tag}" on the same stream`,
    5_000
  )
  const w2 = await s.yb.writer(`late-${tag}`)
  await until(() => s.ya.feed(w2.key!) !== null, 'bystander learns a new feed live', 5_000)
}

function errorsOf(multi: Multifeed): MultifeedError[] {
  const errors: MultifeedError[] = []
  multi.on('peer-error', (e) => errors.push(e))
  return errors
}

// ---------------------------------------------------------------------------

describe('a lying peer', () => {
  it('claims keys it never serves: they join (and persist) but downloaded() does not hang', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const w = await multi.writer()
    await w.append(Buffer.from('mine'))
    const { forged, peer } = await liar(multi, store)
    const phantom = randomKeys(3)
    forged.sendFeeds(feedsBytes(phantom, FEEDS_LAST))
    const info = await peer.synced
    expect(info?.added.map((core) => core.key)).toEqual(phantom)
    expect(multi.feeds()).toHaveLength(4)
    // nobody serves them: downloaded() settles (the length its peers have is 0)
    await multi.downloaded({ timeout: 5_000 })
    await multi.close()
    expect((await membershipKeys(store, multi.discoveryKey)).sort()).toEqual(
      [w.key!, ...phantom].map(hex).sort()
    )
  })

  it('sends our own writer keys back and duplicates in one batch: no new feed, no new record', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const w = await multi.writer('me')
    const errors = errorsOf(multi)
    const { forged, peer } = await liar(multi, store)
    const k = crypto.randomBytes(32)
    forged.sendFeeds(feedsBytes([w.key!, k, k, w.key!, k], FEEDS_LAST))
    const info = await peer.synced
    expect(info?.added.map((core) => core.key)).toEqual([k])
    expect(multi.feeds().map((f) => f.key)).toEqual([w.key, k])
    expect(multi.feedInfos()[0]).toMatchObject({ local: true, name: 'me' })
    // the same keys again, as a delta: still nothing new
    forged.sendFeeds(feedsBytes([k, w.key!]))
    await sleep(100)
    expect(multi.feeds()).toHaveLength(2)
    expect(errors).toEqual([])
    await multi.close()
    expect(await membershipKeys(store, multi.discoveryKey)).toEqual([hex(w.key!), hex(k)])
  })

  it('ends its initial list twice: ERR_MALFORMED_MESSAGE, first list kept, bystander unharmed', async () => {
    const s = await sharedStream()
    const errors = errorsOf(s.xa)
    s.xa.attach(s.sa)
    const first = randomKeys(2)
    const forged = await forgePeer(s.sb, s.xa.discoveryKey, (hash, isInitiator) =>
      handshakeBytes({ capability: forgeCapability(s.xa.key, hash, isInitiator) })
    )
    await forged.opened
    forged.sendFeeds(feedsBytes(first, FEEDS_LAST))
    await until(() => s.xa.feeds().length === 2, 'first list accepted')
    const errorSeen = next<[MultifeedError]>(s.xa, 'peer-error')
    forged.sendFeeds(feedsBytes(randomKeys(1), FEEDS_LAST))
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_MALFORMED_MESSAGE')
    await forged.closed
    expect(s.xa.feeds().map((f) => f.key)).toEqual(first)
    expect(errors).toHaveLength(1)
    await bystanderStillSyncs(s, 'after-double-last')
  })

  it('sends odd keys (all zeros, all ones, the multifeed key, its discovery key): no crash, stream lives', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const friend = await Multifeed.open(await tmpStore(), multi.key)
    const w = await multi.writer()
    await w.append(Buffer.from('still here'))
    const { forged, peer, a: honest } = await liar(multi, store)
    const odd = [Buffer.alloc(32), Buffer.alloc(32, 0xff), multi.key, multi.discoveryKey]
    forged.sendFeeds(feedsBytes(odd, FEEDS_LAST))
    await peer.synced
    await sleep(200)
    expect(honest.destroyed).toBe(false)
    expect(multi.feeds()).toHaveLength(5)
    pipe(multi, friend)
    await until(
      () => friend.feed(w.key!)?.contiguousLength === 1,
      'an honest peer still gets our data'
    )
  })

  it('sends Feeds right behind a bad capability: nothing is read, nothing stored', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const attacker = await tmpStore()
    const { a: honest, b: evil } = linkStores(store, attacker)
    multi.attach(honest)
    const errorSeen = next<[MultifeedError]>(multi, 'peer-error')
    const forged = await forgePeer(evil, multi.discoveryKey, () =>
      handshakeBytes({ capability: crypto.randomBytes(32) })
    )
    // queued behind the open, before we even answered it
    forged.sendFeeds(feedsBytes(randomKeys(3), FEEDS_LAST))
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_CAPABILITY')
    await sleep(100)
    expect(multi.feeds()).toHaveLength(0)
    expect(honest.destroyed).toBe(false)
  })

  it('sends Feeds right behind a valid open: they are processed after the handshake', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const attacker = await tmpStore()
    const { a: honest, b: evil } = linkStores(store, attacker)
    const peer = multi.attach(honest)
    const keys = randomKeys(3)
    const forged = await forgePeer(evil, multi.discoveryKey, (hash, isInitiator) =>
      handshakeBytes({ capability: forgeCapability(multi.key, hash, isInitiator) })
    )
    forged.sendFeeds(feedsBytes(keys, FEEDS_LAST))
    const info = await peer.synced
    expect(info?.added.map((core) => core.key)).toEqual(keys)
  })

  it('a set proof replayed from another connection does not suppress our list (positive control: the right proof does)', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const w1 = await multi.writer('one')
    const w2 = await multi.writer('two')
    const digest = digestOf([w1.key!, w2.key!])

    // control: the proof of this very connection means "in sync": no list travels
    const honest = await liar(multi, store, (hash, isInitiator) =>
      handshakeBytes({
        capability: forgeCapability(multi.key, hash, isInitiator),
        setProof: forgeSetProof(multi.key, hash, digest)
      })
    )
    expect((await honest.peer.synced)?.inSync).toBe(true)
    await sleep(100)
    expect(honest.forged.received).toEqual([])

    // the same set, proved on another handshake hash: replay must not count
    const replayed = await liar(multi, store, (_hash, isInitiator) =>
      handshakeBytes({
        capability: forgeCapability(multi.key, _hash, isInitiator),
        setProof: forgeSetProof(multi.key, crypto.randomBytes(64), digest)
      })
    )
    await until(() => replayed.forged.received.length > 0, 'our list is sent despite the replay')
    const sent = replayed.forged.received.flatMap(keysOf).map(hex).sort()
    expect(sent).toEqual([w1.key!, w2.key!].map(hex).sort())
    expect(replayed.forged.received.at(-1)![0]! & FEEDS_LAST).toBe(FEEDS_LAST)
  })
})

// ---------------------------------------------------------------------------

describe('churn', () => {
  it('attach/detach the same stream 50 times, then attach: converges, no listener leak', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    const wa = await a.writer()
    await wa.append(Buffer.from('a0'))
    const wb = await b.writer()
    await wb.append(Buffer.from('b0'))
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const p = pipe(a, b)
    await untilConverged([a, b], 2)
    const noise = (p.a as unknown as { noiseStream: Duplex }).noiseStream
    const baseline = noise.listenerCount('close')
    for (let i = 0; i < 50; i++) {
      a.detach(p.a)
      a.attach(p.a)
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await untilConverged([a, b], 2)
    // live data after the churn, both ways
    await wa.append(Buffer.from('a1'))
    await wb.append(Buffer.from('b1'))
    await until(
      () => b.feed(wa.key!)?.contiguousLength === 2 && a.feed(wb.key!)?.contiguousLength === 2,
      'blocks appended after the churn replicate'
    )
    await sleep(200)
    // same cores, same peers: no listener left behind by the 100 sessions
    expect(noise.listenerCount('close')).toBe(baseline)
    // a new feed after the churn travels too
    const late = await a.writer('late')
    await until(() => b.feed(late.key!) !== null, 'a feed created after the churn reaches b')
    expect(a.peers()).toHaveLength(1)
    expect(b.peers()).toHaveLength(1)
    expect(errors).toEqual([])
  })

  it('the remote detaches and re-attaches 50 times (we re-attach each time): converges, one peer each', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    const wa = await a.writer()
    await wa.append(Buffer.from('a0'))
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const p = pipe(a, b)
    await untilConverged([a, b], 1)
    for (let i = 0; i < 50; i++) {
      b.detach(p.b)
      b.attach(p.b)
      if (i % 7 === 0) await sleep(1)
    }
    const wb = await b.writer()
    await wb.append(Buffer.from('b0'))
    await wa.append(Buffer.from('a1'))
    await untilConverged([a, b], 2)
    await until(() => b.feed(wa.key!)?.contiguousLength === 2, 'live data after the remote churn')
    await until(
      () => a.peers().length === 1 && b.peers().length === 1,
      'exactly one peer on each side'
    )
    expect(errors).toEqual([])
  })

  it('attach/detach churn while the handshake is still running (before the stream opened)', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    await (await a.writer()).append(Buffer.from('x'))
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    for (let i = 0; i < 50; i++) {
      a.detach(sa)
      a.attach(sa)
    }
    link(sa, sb)
    await untilConverged([a, b], 1)
  })

  it('the stream dies in the middle of a 5,000-key initial exchange: no crash, storage matches memory, a reconnect completes', async () => {
    const storeA = await tmpStore()
    const a = await Multifeed.open(storeA, null, { sparse: true })
    // seed A with 5,000 keys through a forged peer (cheaper than 5,000 writers)
    const seed = await liar(a, storeA)
    const all = randomKeys(5000)
    for (let i = 0; i < all.length; i += 1000) {
      const chunk = all.slice(i, i + 1000)
      seed.forged.sendFeeds(feedsBytes(chunk, i + 1000 >= all.length ? FEEDS_LAST : 0))
    }
    await seed.peer.synced
    expect(a.feeds()).toHaveLength(5000)
    await seed.destroy()

    const storeB = await tmpStore()
    let b = await Multifeed.open(storeB, a.key, { sparse: true })
    const p = pipe(a, b)
    const killed = new Promise<void>((resolve) => {
      b.once('feed', () => {
        p.a.destroy()
        p.b.destroy()
        resolve()
      })
    })
    await killed
    await p.destroy()
    await sleep(200)
    const partial = b.feeds().map((f) => hex(f.key!))
    expect(partial.length).toBeGreaterThan(0)
    expect(partial.length).toBeLessThan(5000)
    await b.close()
    const persisted = await membershipKeys(storeB, a.discoveryKey)
    expect(persisted.length).toBe(new Set(persisted).size)
    expect(persisted.sort()).toEqual([...partial].sort())

    b = await Multifeed.open(storeB, a.key, { sparse: true })
    onCleanup(() => b.close())
    expect(b.feeds()).toHaveLength(partial.length)
    pipe(a, b)
    await until(() => b.feeds().length === 5000, 'b completes the set on reconnect', 30_000)
    await b.close()
    const final = await membershipKeys(storeB, a.discoveryKey)
    expect(final).toHaveLength(5000)
    expect(new Set(final).size).toBe(5000)
  }, 60_000)

  it('close() while an async accept is pending: close resolves, the key is not added, no rejection leaks', async () => {
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
    const { forged, a: honest } = await liar(multi, store)
    forged.sendFeeds(feedsBytes(randomKeys(1), FEEDS_LAST))
    await until(() => asked === 1, 'accept is asked')
    const closed = multi.close()
    await expect(Promise.race([closed, sleep(5_000).then(() => 'timeout')])).resolves.toBe(
      undefined
    )
    release(true)
    await sleep(100)
    expect(multi.feeds()).toHaveLength(0)
    expect(honest.destroyed).toBe(false)
    expect(await membershipKeys(store, multi.discoveryKey)).toEqual([])
  })

  it('two peers offer the same new keys at the same instant: one feed each, one record each', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const keys = randomKeys(20)
    const added: string[] = []
    multi.on('feed', (_core, info) => added.push(hex(info.key)))
    const one = await liar(multi, store)
    const two = await liar(multi, store)
    one.forged.sendFeeds(feedsBytes(keys, FEEDS_LAST))
    two.forged.sendFeeds(feedsBytes([...keys].reverse(), FEEDS_LAST))
    await Promise.all([one.peer.synced, two.peer.synced])
    expect(added.sort()).toEqual(keys.map(hex).sort())
    expect(multi.feeds()).toHaveLength(20)
    // both peers have each core attached (each said it has it)
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.sort()).toEqual(keys.map(hex).sort())
  })

  it('two honest peers teach a third the same feeds at the same instant: no duplicate, data flows', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    for (let i = 0; i < 10; i++) await (await a.writer(`w${i}`)).append(Buffer.from(`${i}`))
    pipe(a, b)
    await untilConverged([a, b], 10)
    const storeC = await tmpStore()
    const cm = await Multifeed.open(storeC, a.key)
    pipe(a, cm)
    pipe(b, cm)
    await untilConverged([a, b, cm], 10)
    expect(cm.feeds()).toHaveLength(10)
    await cm.close()
    const records = await membershipKeys(storeC, a.discoveryKey)
    expect(records).toHaveLength(10)
    expect(new Set(records).size).toBe(10)
  })
})

// ---------------------------------------------------------------------------

describe('limits', () => {
  it('maxFeeds reached exactly is fine; one more is refused (peer cut off, writer rejected)', async () => {
    const a = await Multifeed.open(await tmpStore(), null, { limits: { maxFeeds: 5 } })
    const b = await Multifeed.open(await tmpStore(), a.key)
    await a.writer('mine')
    for (let i = 0; i < 4; i++) await b.writer(`b${i}`)
    const errors = errorsOf(a)
    pipe(a, b)
    await until(() => a.feeds().length === 5, 'a fills up to exactly maxFeeds')
    await sleep(100)
    expect(errors).toEqual([])
    await expect(a.writer('one-too-many')).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' })
    const errorSeen = next<[MultifeedError & { limit: string }]>(a, 'peer-error')
    await b.writer('b-extra')
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(err.limit).toBe('maxFeeds')
    expect(a.feeds()).toHaveLength(5)
  })

  it('maxFeeds holds under concurrent writer() calls', async () => {
    const multi = await Multifeed.open(await tmpStore(), null, { limits: { maxFeeds: 2 } })
    const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((n) => multi.writer(n)))
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused).toHaveLength(3)
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' })
    expect(multi.feeds()).toHaveLength(2)
  })

  it('keys refused by accept are not retained without bound (a peer offering 200x maxFeeds refused keys)', async () => {
    const store = await tmpStore()
    let asked = 0
    const multi = await Multifeed.open(store, null, {
      limits: { maxFeeds: 100 },
      policy: {
        accept: () => {
          asked++
          return false
        }
      }
    })
    const errors = errorsOf(multi)
    const { forged, peer } = await liar(multi, store)
    let last: Buffer = Buffer.alloc(0)
    // batches of maxFeeds keys: each one alone fits the limit
    for (let i = 0; i < 200; i++) {
      const keys = randomKeys(100)
      last = keys.at(-1)!
      forged.sendFeeds(feedsBytes(keys))
    }
    await until(() => asked === 20_000 || peer.closed, 'every offer decided or the peer cut off')
    expect(multi.feeds()).toHaveLength(0)
    // Bounded: either the peer is cut off, or what it offered and we refused is not kept.
    const cutOff = peer.closed && errors.some((e) => e.code === 'ERR_LIMIT_EXCEEDED')
    expect(cutOff || !peer.knows(hex(last))).toBe(true)
  })

  it('maxKeysPerMessage = 1 on both sides with 50 feeds each: converges, every batch holds one key', async () => {
    const limits = { maxKeysPerMessage: 1 }
    const a = await Multifeed.open(await tmpStore(), null, { limits, sparse: true })
    const b = await Multifeed.open(await tmpStore(), a.key, { limits, sparse: true })
    for (let i = 0; i < 50; i++) {
      await a.writer(`a${i}`)
      await b.writer(`b${i}`)
    }
    const errors = [...errorsOf(a), ...errorsOf(b)]
    pipe(a, b)
    await until(
      () => a.feeds().length === 100 && b.feeds().length === 100,
      'both sides reach 100 feeds'
    )
    expect(errors).toEqual([])
    const [pa] = a.peers()
    // one handshake + 50 one-key Feeds messages, at least
    expect(pa!.stats.messagesSent).toBeGreaterThanOrEqual(51)
    expect(pa!.stats.bytesSent - 80).toBeLessThanOrEqual(50 * (32 + 2))
  })

  it('an honest sender respects the receiver limit from its handshake (receiver 1, sender default)', async () => {
    const a = await Multifeed.open(await tmpStore(), null, { limits: { maxKeysPerMessage: 1 } })
    const b = await Multifeed.open(await tmpStore(), a.key)
    for (let i = 0; i < 30; i++) await b.writer(`b${i}`)
    const errors = errorsOf(a)
    pipe(a, b)
    await until(() => a.feeds().length === 30, 'a learns 30 feeds one key at a time')
    // live deltas too: several feeds created in one tick still go one per message
    await Promise.all(Array.from({ length: 5 }, (_, i) => b.writer(`burst${i}`)))
    await until(() => a.feeds().length === 35, 'a learns a burst of 5 feeds')
    expect(errors).toEqual([])
  })
})

// ---------------------------------------------------------------------------

describe('policy hooks that throw', () => {
  for (const [name, accept] of [
    [
      'throws',
      () => {
        throw new TypeError('policy bug')
      }
    ],
    ['rejects', () => Promise.reject(new TypeError('policy bug'))]
  ] as const) {
    it(`accept ${name}: the key is refused and reported as callback-error; the peer is not blamed`, async () => {
      const s = await sharedStream({ policy: { accept } })
      const wx = await s.xa.writer()
      await wx.append(Buffer.from('x0'))
      const peerErrors = errorsOf(s.xb)
      const reported = next<[MultifeedError & { callback: string }, MultifeedPeer | null]>(
        s.xb,
        'callback-error'
      )
      s.xa.attach(s.sa)
      s.xb.attach(s.sb)
      const [err, peer] = await reported
      expect(err.code).toBe('ERR_CALLBACK')
      expect(err.callback).toBe('policy.accept')
      expect((err.cause as Error).message).toBe('policy bug')
      expect(peer?.multifeed).toBe(s.xb)
      await sleep(100)
      // our bug, not the peer's: its channel stays open, the key is not added
      expect(peerErrors).toEqual([])
      expect(s.xb.peers()).toHaveLength(1)
      expect(s.xb.feeds()).toHaveLength(0)
      await bystanderStillSyncs(s, `after-accept-${name}`)
    })
  }

  it('share throws: the feed is not shared and the throw is reported as callback-error', async () => {
    const a = await Multifeed.open(await tmpStore(), null, {
      policy: {
        share: (feed) => {
          if (feed.name === 'boom') throw new Error('share bug')
          return true
        }
      }
    })
    const ok = await a.writer('ok')
    await a.writer('boom')
    const b = await Multifeed.open(await tmpStore(), a.key)
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const reported: string[] = []
    a.on('callback-error', (err) => reported.push(`${err.code} ${err.callback}`))
    pipe(a, b)
    await until(() => b.feed(ok.key!) !== null, 'b learns the shareable feed')
    await sleep(100)
    expect(b.feeds().map((f) => f.key)).toEqual([ok.key])
    expect(errors).toEqual([])
    expect(reported.length).toBeGreaterThan(0)
    expect(new Set(reported)).toEqual(new Set(['ERR_CALLBACK policy.share']))
  })
})

// ---------------------------------------------------------------------------

describe('faults stay on one channel', () => {
  it('a peer refused by a per-peer accept does not keep a trusted peer from adding the same key at the same time', async () => {
    const store = await tmpStore()
    let untrusted: MultifeedPeer | null = null
    const multi = await Multifeed.open(store, null, {
      policy: {
        accept: async (_key, { peer }) => {
          if (peer !== untrusted) return true
          await sleep(300)
          return false
        }
      }
    })
    const one = await liar(multi, store)
    untrusted = one.peer
    const two = await liar(multi, store)
    const k = crypto.randomBytes(32)
    one.forged.sendFeeds(feedsBytes([k], FEEDS_LAST))
    await sleep(50) // the untrusted offer is being decided
    two.forged.sendFeeds(feedsBytes([k], FEEDS_LAST))
    await Promise.all([one.peer.synced, two.peer.synced])
    await until(() => multi.feed(k) !== null, 'the trusted peer’s key joins the set', 2_000)
  })

  it('detaching multifeed X from a stream does not stop multifeed Y replicating a core they share', async () => {
    // One identity key pair used as a writer in two multifeeds (a user in two rooms).
    const keyPair = crypto.keyPair()
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const xa = await Multifeed.open(storeA)
    const ya = await Multifeed.open(storeA)
    const wx = await xa.writer('me', { keyPair })
    const wy = await ya.writer('me', { keyPair })
    expect(wx.key).toEqual(wy.key)
    await wx.append(Buffer.from('0'))
    const xb = await Multifeed.open(storeB, xa.key)
    const yb = await Multifeed.open(storeB, ya.key)
    const sa = replicateCorestore(storeA, true)
    const sb = replicateCorestore(storeB, false)
    link(sa, sb)
    for (const [m, s] of [
      [xa, sa],
      [ya, sa],
      [xb, sb],
      [yb, sb]
    ] as const) {
      m.attach(s)
    }
    await untilConverged([xa, xb], 1)
    await untilConverged([ya, yb], 1)
    xa.detach(sa)
    await until(() => xb.peers().length === 0, 'x is detached')
    await sleep(100)
    await wy.append(Buffer.from('1'))
    const mirror = yb.feed(wy.key!)! as Hypercore<unknown>
    await until(
      () => mirror.contiguousLength === 2,
      'y still replicates the shared core on the stream after x left',
      5_000
    )
  })

  it('a throwing peer-add listener does not tear down the stream for other multifeeds', async () => {
    const s = await sharedStream()
    s.xb.on('peer-add', () => {
      throw new Error('listener bug')
    })
    s.xa.attach(s.sa)
    s.xb.attach(s.sb)
    await sleep(200)
    await bystanderStillSyncs(s, 'after-listener-throw')
  })

  it('a throwing remote-feeds listener does not blame the peer nor cut it off', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore(), a.key)
    await (await a.writer()).append(Buffer.from('x'))
    const errors = errorsOf(b)
    b.on('remote-feeds', () => {
      throw new Error('listener bug')
    })
    pipe(a, b)
    await until(() => b.feeds().length === 1, 'b learns the feed')
    await sleep(200)
    expect(errors).toEqual([])
    expect(b.peers()).toHaveLength(1)
  })

  it('a throwing feed listener leaves memory and storage consistent (no half-registered batch)', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    let calls = 0
    multi.on('feed', () => {
      if (calls++ === 0) throw new Error('listener bug')
    })
    const keys = randomKeys(3)
    const one = await liar(multi, store)
    one.forged.sendFeeds(feedsBytes(keys, FEEDS_LAST))
    await sleep(300)
    // what is on disk must be what the set holds (and was announced)
    const inMemory = multi.feeds().map((f) => hex(f.key!))
    expect(inMemory.sort()).toEqual(keys.map(hex).sort())
    // offered again by another peer: no second record for any key
    const two = await liar(multi, store)
    two.forged.sendFeeds(feedsBytes(keys, FEEDS_LAST))
    await two.peer.synced
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.length).toBe(new Set(records).size)
  })

  it('closing multifeed X mid-exchange leaves multifeed Y on the same stream syncing', async () => {
    const s = await sharedStream()
    for (let i = 0; i < 20; i++) await s.xa.writer(`x${i}`)
    s.xa.attach(s.sa)
    s.xb.attach(s.sb)
    await until(() => s.xb.feeds().length > 0, 'x exchange started')
    await s.xb.close()
    await bystanderStillSyncs(s, 'after-x-closed')
  })

  it('a peer that sends a delta and closes its channel at once: no crash, memory matches storage', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const { forged, a: honest } = await liar(multi, store)
    forged.sendFeeds(feedsBytes(randomKeys(2), FEEDS_LAST))
    forged.sendFeeds(feedsBytes(randomKeys(2)))
    forged.channel.close()
    await forged.closed
    await sleep(200)
    expect(honest.destroyed).toBe(false)
    const inMemory = multi.feeds().map((f) => hex(f.key!))
    await multi.close()
    expect((await membershipKeys(store, multi.discoveryKey)).sort()).toEqual(inMemory.sort())
  })

  it('a handshake announcing maxKeysPerMessage = 0 is refused (ERR_MALFORMED_MESSAGE), the stream lives', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    await multi.writer()
    const attacker = await tmpStore()
    const { a: honest, b: evil } = linkStores(store, attacker)
    multi.attach(honest)
    const errorSeen = next<[MultifeedError]>(multi, 'peer-error')
    const forged = await forgePeer(evil, multi.discoveryKey, (hash, isInitiator) =>
      handshakeBytes({ capability: forgeCapability(multi.key, hash, isInitiator), maxKeys: 0 })
    )
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_MALFORMED_MESSAGE')
    await forged.closed
    expect(forged.received).toEqual([])
    expect(honest.destroyed).toBe(false)
  })

  it('a peer that never ends its list: synced stays pending, then resolves null when the stream dies', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const { forged, peer, destroy } = await liar(multi, store)
    forged.sendFeeds(feedsBytes(randomKeys(1)))
    const early = await Promise.race([peer.synced, sleep(300).then(() => 'pending' as const)])
    expect(early).toBe('pending')
    await destroy()
    expect(await peer.synced).toBeNull()
    expect(multi.peers()).toHaveLength(0)
  })
})

// ---------------------------------------------------------------------------

describe('one key registered twice', () => {
  it('concurrent writer() calls with one key pair under two names register it once (a fresh peer still learns it)', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const keyPair = crypto.keyPair()
    const [a, b] = await Promise.all([
      multi.writer('a', { keyPair }),
      multi.writer('b', { keyPair })
    ])
    expect(a.key).toEqual(b.key)
    // the set must not hold the same core twice ...
    const fresh = await Multifeed.open(await tmpStore(), multi.key)
    pipe(multi, fresh)
    // ... nor cancel it out of the set digest (XOR twice = absent): then a
    // peer with an empty set sees equal set proofs and never learns the feed.
    await until(() => fresh.feed(a.key!) !== null, 'a fresh peer learns the writer', 3_000)
    expect(multi.feeds()).toHaveLength(1)
  })

  it('writer({ keyPair }) racing a peer offering the same key registers it once (a fresh peer still learns it)', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store, null, {
      policy: {
        accept: async () => {
          await sleep(200)
          return true
        }
      }
    })
    const keyPair = crypto.keyPair()
    // the core key of that key pair (a manifest hash, not the public key)
    const elsewhere = (await tmpStore()).get({ keyPair })
    await elsewhere.ready()
    const coreKey = elsewhere.key!
    const { forged } = await liar(multi, store)
    // a peer already knows our (restored) identity key and offers it ...
    forged.sendFeeds(feedsBytes([coreKey], FEEDS_LAST))
    await sleep(50)
    // ... while the app re-creates its writer from the same key pair
    const w = await multi.writer('me', { keyPair })
    expect(w.key).toEqual(coreKey)
    await sleep(400) // the offer is decided and stored
    const fresh = await Multifeed.open(await tmpStore(), multi.key)
    pipe(multi, fresh)
    await until(() => fresh.feed(w.key!) !== null, 'a fresh peer learns the writer', 3_000)
    expect(multi.feeds()).toHaveLength(1)
    expect(multi.feedInfos()[0]).toMatchObject({ local: true, name: 'me' })
  })

  it('the same multifeed key opened twice in one store and attached to one stream: the second copy is refused loudly or takes over when the first closes', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const a1 = await Multifeed.open(storeA)
    const a2 = await Multifeed.open(storeA, a1.key)
    const b = await Multifeed.open(storeB, a1.key)
    const sa = replicateCorestore(storeA, true)
    const sb = replicateCorestore(storeB, false)
    link(sa, sb)
    a1.attach(sa)
    b.attach(sb)
    let refused = false
    try {
      a2.attach(sa)
    } catch (err) {
      refused = (err as MultifeedError).code !== undefined
    }
    if (refused) return
    await until(() => a1.peers().length === 1, 'a1 pairs with b')
    await a1.close()
    const w = await b.writer('late')
    await until(() => a2.feed(w.key!) !== null, 'a2 syncs over the stream once a1 is gone', 3_000)
  })

  it('writer(name) after the caller closed the core it returned gives a usable core again', async () => {
    const multi = await Multifeed.open(await tmpStore())
    const w = await multi.writer('x')
    await w.append(Buffer.from('0'))
    await w.close()
    const again = await multi.writer('x')
    expect(again.closed).toBe(false)
    await again.append(Buffer.from('1'))
    expect(multi.feed(w.key!)!.length).toBe(2)
  })

  it('writer({ keyPair }) for a key learned from a peer that served it (a restored identity) gives a writable core', async () => {
    const keyPair = crypto.keyPair()
    const a = await Multifeed.open(await tmpStore())
    const old = await a.writer('me', { keyPair })
    await old.append(Buffer.from('written on my old device'))
    const multi = await Multifeed.open(await tmpStore(), a.key)
    pipe(a, multi)
    await until(() => multi.feed(old.key!)?.contiguousLength === 1, 'the new device downloads it')
    const w = await multi.writer('me', { keyPair })
    expect(w.key).toEqual(old.key)
    expect(w.writable).toBe(true)
    await w.append(Buffer.from('hello again'))
    expect(multi.feeds()).toHaveLength(1)
    expect(multi.feedInfos()[0]).toMatchObject({ local: true, name: 'me' })
  })

  it('writer({ keyPair }) for a key a peer only named (nothing downloaded) rejects with ERR_NOT_WRITABLE, not a TypeError', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store)
    const keyPair = crypto.keyPair()
    const elsewhere = (await tmpStore()).get({ keyPair })
    await elsewhere.ready()
    const { forged } = await liar(multi, store)
    forged.sendFeeds(feedsBytes([elsewhere.key!], FEEDS_LAST))
    await until(() => multi.feeds().length === 1, 'the key is learned from the peer first')
    await expect(multi.writer('me', { keyPair })).rejects.toMatchObject({
      code: 'ERR_NOT_WRITABLE'
    })
    // nothing recorded as ours
    expect(multi.feedInfos()[0]).toMatchObject({ local: false, name: null })
  })
})
