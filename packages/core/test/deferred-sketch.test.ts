/**
 * Deferred sketches (minor 6): between two peers of this library an open
 * carries no difference sketch, and a sketch travels only for a set whose
 * proofs differ. Counted in wire bytes (the encrypted stream, both ways),
 * never in time: an in-sync reconnect of many sets over one connection, a
 * set that differs after it, plain, encrypted, moderated and mirrored sets.
 */
import { type Duplex, Transform } from 'node:stream'
import { Multifeed, ReplicationStream } from '@multifeed/core'
import type Corestore from 'corestore'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SKETCH_COUNTERS } from '../src/protocol/estimator.js'
import { decodeOpen, decodeSketches, PAIRING_MINOR } from '../src/protocol/messages.js'
import { HINT_BYTES, stateHint } from '../src/protocol/pairing.js'
import { link, onCleanup, tmpStore, until } from './helpers.js'
import { digestOf, puppet, setProof } from './puppet.js'
import { noUnhandled, open } from './support.js'

noUnhandled()

/** Both stores' sets over one connection, counting the wire bytes each way. */
async function connect(
  storeA: Corestore,
  storeB: Corestore,
  as: Multifeed<unknown>[],
  bs: Multifeed<unknown>[],
  /** The pairing minor each side speaks (default: this library's). */
  speak: { a?: number; b?: number } = {}
) {
  const ra = ReplicationStream.for(storeA, true)
  const rb = ReplicationStream.for(storeB, false)
  if (speak.a !== undefined) ra.speakMinor(speak.a)
  if (speak.b !== undefined) rb.speakMinor(speak.b)
  const a = ra.stream
  const b = rb.stream
  const bytes = { ab: 0, ba: 0 }
  count(a, (n) => (bytes.ab += n))
  count(b, (n) => (bytes.ba += n))
  const p = link(a, b)
  const reconciled = bs.map(
    (m) =>
      new Promise<boolean>((resolve) => m.once('reconciled', (_peer, info) => resolve(info.inSync)))
  )
  for (const m of as) m.attach(a)
  for (const m of bs) m.attach(b)
  const inSync = await Promise.all(reconciled)
  return { p, bytes, inSync, a, b }
}

/** Counts what `stream` writes to the wire (its readable side). */
function count(stream: Duplex, add: (n: number) => void): void {
  const push = stream.push.bind(stream)
  stream.push = (chunk: unknown) => {
    if (chunk !== null && chunk !== undefined) add((chunk as Buffer).byteLength)
    return push(chunk as Buffer)
  }
}

/** `n` sets on store A, the same on store B, synced once over one connection. */
async function pairs(n: number, options: Parameters<typeof open>[2] = {}, mirror = false) {
  // B joins each set as a member (a moderated set: by its invite) or as a mirror.
  const join = (a: Multifeed<unknown>): Buffer | string =>
    mirror ? a.mirrorKey! : options.moderated ? a.invite! : a.key
  const storeA = await tmpStore()
  const storeB = await tmpStore()
  const as: Multifeed<unknown>[] = []
  const bs: Multifeed<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const a = await open(storeA, null, options)
    const w = await a.writer()
    await w.append([Buffer.from(`set ${i}`)])
    as.push(a)
    const b = await Multifeed.open(storeB, join(a))
    onCleanup(() => b.close())
    bs.push(b)
  }
  const first = await connect(storeA, storeB, as, bs)
  for (const b of bs) {
    await until(() => b.feeds().length === 1 && b.feeds()[0]!.length === 1, 'the first sync')
  }
  await first.p.destroy()
  return { storeA, storeB, as, bs }
}

const SETS = 40

describe('deferred sketches (minor 6)', () => {
  it('the pairing channel announces minor 6', () => {
    expect(PAIRING_MINOR).toBe(6)
  })

  for (const [kind, options, mirror, perSet] of [
    // Before minor 6: 238 B a set a direction (plain, encrypted), 288 B (moderated); now 90 and 108.
    ['plain', {}, false, 90],
    ['encrypted, a mirror', { encrypted: true }, true, 90],
    ['moderated', { moderated: true }, false, 110]
  ] as const) {
    it(`${kind}: an in-sync reconnect of ${SETS} sets over one connection costs ≤ ${perSet} B a set a direction`, {
      timeout: 120_000
    }, async () => {
      const { storeA, storeB, as, bs } = await pairs(SETS, options, mirror)
      const again = await connect(storeA, storeB, as, bs)
      expect(again.inSync.every(Boolean)).toBe(true)
      // The Noise handshake and the pairing channel's opens: 512 B at most, whatever the sets.
      const bound = SETS * perSet + 512
      expect(again.bytes.ab).toBeLessThan(bound)
      expect(again.bytes.ba).toBeLessThan(bound)
      for (const m of [...as, ...bs]) {
        const peer = m.peers()[0]!
        expect(peer.stats.symbolsSent + peer.stats.symbolsReceived).toBe(0)
      }
    })
  }

  it('each token carries its set’s 4-byte state hint; all zero for a set whose share policy makes it each peer’s own', async () => {
    const store = await tmpStore()
    let asked = 0
    const shared = await open(store, null, {
      policy: {
        share: () => {
          asked++
          return true
        }
      }
    })
    await shared.writer()
    const plain = await open(store)
    // Both sets on one connection: their tokens go out in one message.
    const stream = shared.replicate(true)
    plain.attach(stream)
    const p = await puppet(stream, shared.key)
    await p.opened
    expect(p.tokens).toHaveLength(2)
    expect(p.hints).toHaveLength(2)
    // The share policy's set: none (all zero), so the puppet's open gets our sketch.
    expect(p.hints[0]).toEqual(Buffer.alloc(HINT_BYTES))
    expect(decodeOpen(p.received.open!).sketch).toHaveLength(DEFAULT_SKETCH_COUNTERS)
    // Asked for the open (and the reconciliation that follows), never for a hint.
    expect(asked).toBeGreaterThan(0)
    // The plain set's: its set proof's, bound to this connection (an empty set's digest).
    expect(p.hints[1]).toEqual(stateHint(setProof(plain.key, p.hash, digestOf(plain.key, []))))
  })

  it('a set without a hint among sets with one: its remote sends every sketch, the others still defer', {
    timeout: 60_000
  }, async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    // A's first set has a share policy (no hint), its second none; B holds both.
    const as = [await open(storeA, null, { policy: { share: () => true } }), await open(storeA)]
    const bs: Multifeed<unknown>[] = []
    for (const a of as) {
      await (await a.writer()).append([Buffer.from('entry')])
      const b = await Multifeed.open(storeB, a.key)
      onCleanup(() => b.close())
      bs.push(b)
    }
    const first = await connect(storeA, storeB, as, bs)
    for (const b of bs) await until(() => b.feeds()[0]?.length === 1, 'the first sync')
    await first.p.destroy()
    const again = await connect(storeA, storeB, as, bs)
    expect(again.inSync).toEqual([true, true])
    // B's open of the first set carries its sketch (A gave no hint); of the second, none.
    expect(bs[0]!.peers()[0]!.stats.bytesSent).toBeGreaterThan(DEFAULT_SKETCH_COUNTERS)
    expect(bs[1]!.peers()[0]!.stats.bytesSent).toBeLessThan(100)
    // A's opens: B hinted at both, and A's proofs match: both deferred.
    for (const a of as) expect(a.peers()[0]!.stats.bytesSent).toBeLessThan(100)
  })

  it('a remote that hinted at our state but opens with another: our deferred sketch follows in SKETCHES, then the reconciliation', async () => {
    const multi = await open()
    await (await multi.writer()).append([Buffer.from('held')])
    // A puppet of pairing minor 6 whose token echoes our own state hint; its open proves another set.
    const p = await puppet(multi.replicate(true), multi.key, { with: await open(), echoHint: true })
    const ours = decodeOpen(await p.opened, { deferred: true })
    expect(ours.sketch).toEqual([])
    await until(() => p.received.sketches.length === 1, 'our deferred sketch')
    expect(decodeSketches(p.received.sketches[0]!).sketch).toHaveLength(DEFAULT_SKETCH_COUNTERS)
    // The initiator then reconciles as ever: its list or its coded symbols.
    await until(
      () => p.received.symbols.length + p.received.elements.length > 0,
      'the reconciliation after the sketch'
    )
  })

  it('a set that changed after its token went out: the remote deferred on the stale hint, its sketches follow (SKETCHES)', {
    timeout: 60_000
  }, async () => {
    const { storeA, storeB, as, bs } = await pairs(1)
    const a = as[0]!
    const b = bs[0]!
    const ra = ReplicationStream.for(storeA, true)
    const rb = ReplicationStream.for(storeB, false)
    // B's bytes after its handshake message wait at a gate: B gets A's token
    // (hinting at the state B holds too) and defers its open's sketch, then A
    // appends before it sees B's token: A's open carries its sketch, B's not.
    const held: Buffer[] = []
    let passed = 0
    let release: (() => void) | null = null
    const gate = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (passed++ === 0 || release === null) return done(null, chunk)
        held.push(chunk)
        done()
      }
    })
    release = () => {}
    ra.stream.pipe(rb.stream).pipe(gate).pipe(ra.stream)
    onCleanup(() => {
      ra.stream.destroy()
      rb.stream.destroy()
    })
    a.attach(ra.stream)
    b.attach(rb.stream)
    await until(() => rb.concluded !== null, "B to take A's token and open its channel")
    await (await a.writer()).append([Buffer.from('after the token')])
    release = null
    for (const chunk of held.splice(0)) gate.push(chunk)
    await until(() => b.feeds()[0]!.length === 2, 'the block appended after the token')
    const peerA = a.peers()[0]!
    // B's open (no sketch), B's SKETCHES once A's open showed the proofs differ, B's list or DONE
    // (had B's open carried its sketch: 2).
    expect(peerA.stats.messagesReceived).toBe(3)
  })

  // Mixed: one side speaks pairing minor 2 (every sketch in its open, and it takes none deferred).
  for (const [kind, options, speak] of [
    ['plain', {}, {}],
    ['moderated', { moderated: true }, {}],
    ['encrypted', { encrypted: true }, {}],
    ['plain, the initiator of minor 2', {}, { a: 2 }],
    ['plain, the responder of minor 2', {}, { b: 2 }],
    ['moderated, the initiator of minor 2', { moderated: true }, { a: 2 }],
    ['moderated, the responder of minor 2', { moderated: true }, { b: 2 }],
    ['encrypted, the responder of minor 2', { encrypted: true }, { b: 2 }]
  ] as const) {
    it(`${kind}: sets that differ after in-sync ones still reconcile (their sketches travel)`, {
      timeout: 60_000
    }, async () => {
      const { storeA, storeB, as, bs } = await pairs(3, options)
      // One set differs by one block, one by a new feed; the third is in sync.
      await (await as[0]!.writer()).append([Buffer.from('more')])
      await (await as[1]!.writer('second')).append([Buffer.from('new feed')])
      const again = await connect(storeA, storeB, as, bs, speak)
      expect(again.inSync).toEqual([false, false, true])
      const old = speak.a !== undefined || speak.b !== undefined
      // The in-sync set's opens: with a peer of minor 2 both carry their sketches (≥ 128 B each).
      const inSyncPeer = bs[2]!.peers()[0]!
      if (old) expect(inSyncPeer.stats.bytesReceived).toBeGreaterThan(128)
      else expect(inSyncPeer.stats.bytesReceived).toBeLessThan(100)
      await until(() => bs[1]!.feeds().length === 2, 'the new feed')
      await until(
        () =>
          bs[0]!.feeds()[0]!.length === 2 &&
          bs[0]!.peers()[0]!.remoteLength(as[0]!.feeds()[0]!.key) === 2,
        'the longer feed'
      )
      // Symbols or a list, sized by the deferred sketches.
      const peer = bs[1]!.peers()[0]!
      expect(peer.stats.bytesReceived).toBeGreaterThan(0)
    })
  }
})
