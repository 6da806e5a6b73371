/**
 * Change-driven reconciliation, in the protocol's own units: messages,
 * coded symbols, bytes and round trips, for d = 0, 1, 10, 100 differences
 * over a set of n feeds; and convergence of random sets to their union.
 */
import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import fc from 'fast-check'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { onCleanup, pipe, tmpStore, until as untilTrue } from './helpers.js'

async function open(key?: Buffer): Promise<Multifeed> {
  const multi = await Multifeed.open(await tmpStore(), key)
  onCleanup(() => multi.close())
  return multi
}

async function reconcile(
  a: Multifeed,
  b: Multifeed,
  until: () => boolean = () => true
): Promise<[MultifeedPeer, MultifeedPeer]> {
  const done = Promise.all([
    new Promise<MultifeedPeer>((resolve) => a.once('reconciled', (peer) => resolve(peer))),
    new Promise<MultifeedPeer>((resolve) => b.once('reconciled', (peer) => resolve(peer)))
  ])
  const link = pipe(a, b)
  const [pa, pb] = await done
  await untilTrue(() => sameSet(a, b) && until(), 'both sides list the same feeds')
  await link.destroy()
  return [pa, pb]
}

function sameSet(a: Multifeed, b: Multifeed): boolean {
  const ids = (m: Multifeed) =>
    m
      .feeds()
      .map((f) => f.key.toString('hex'))
      .sort()
      .join()
  return ids(a) === ids(b)
}

/** Multifeed protocol bytes of both sides of one connection. */
function bytes(pa: MultifeedPeer, pb: MultifeedPeer): number {
  return pa.stats.bytesSent + pb.stats.bytesSent
}

const N = 300

describe('reconciliation cost follows the difference', () => {
  it.each([0, 1, 10, 100])('d = %i new feeds over n = 300', async (d) => {
    const a = await open()
    const b = await open(a.key)
    const base = Array.from({ length: N }, () => crypto.randomBytes(32))
    for (const key of base) {
      await a.add(key)
      await b.add(key)
    }
    // d feeds, split between the two sides
    for (let i = 0; i < d; i++) await (i % 2 ? a : b).add(crypto.randomBytes(32))
    const [pa, pb] = await reconcile(a, b)
    const initiator = pa.replication.noise.isInitiator ? pa : pb
    const responder = initiator === pa ? pb : pa
    expect(a.feeds().length).toBe(N + d)
    if (d === 0) {
      // in sync: one open message each way, one round trip, no core attached
      expect(pa.stats.messagesSent).toBe(1)
      expect(pb.stats.messagesSent).toBe(1)
      expect(pa.stats.symbolsSent + pb.stats.symbolsSent).toBe(0)
    } else {
      // open + symbols (+ more) / open + DONE: two round trips unless a batch fell short
      expect(initiator.stats.messagesSent).toBeGreaterThanOrEqual(2)
      expect(initiator.stats.messagesSent + responder.stats.messagesSent).toBeLessThanOrEqual(6)
      const budget = d === 1 ? 1024 : d === 10 ? 4096 : 32 * 1024
      expect(bytes(pa, pb)).toBeLessThanOrEqual(budget)
    }
    expect(pa.stats.coresAttached + pb.stats.coresAttached).toBe(0)
  })

  it('feeds that grew on either side: only those cores attach', async () => {
    const a = await open()
    const b = await open(a.key)
    const writers = []
    for (let i = 0; i < 20; i++) {
      const w = await a.writer(`w${i}`)
      await w.append(Buffer.from('0'))
      writers.push(w)
    }
    await reconcile(a, b, () => b.feeds().every((f) => f.length === 1))
    for (const w of writers.slice(0, 3)) await w.append(Buffer.from('1'))
    for (const w of writers) await w.close()
    const [pa, pb] = await reconcile(
      a,
      b,
      () => b.feeds().filter((f) => f.length === 2).length === 3
    )
    // b lacks 3 feeds and attaches exactly those
    expect(pa.stats.coresAttached + pb.stats.coresAttached).toBeLessThanOrEqual(6)
    expect(pb.stats.coresAttached + pa.stats.coresAttached).toBeGreaterThanOrEqual(3)
    expect(bytes(pa, pb)).toBeLessThanOrEqual(4096)
  })

  it('random sets converge to their union', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        async (shared, onlyA, onlyB) => {
          const a = await open()
          const b = await open(a.key)
          for (let i = 0; i < shared; i++) {
            const key = crypto.randomBytes(32)
            await a.add(key)
            await b.add(key)
          }
          for (let i = 0; i < onlyA; i++) await a.add(crypto.randomBytes(32))
          for (let i = 0; i < onlyB; i++) await b.add(crypto.randomBytes(32))
          await reconcile(a, b)
          expect(a.feeds().length).toBe(shared + onlyA + onlyB)
          expect(sameSet(a, b)).toBe(true)
        }
      ),
      { numRuns: 12, seed: 7 }
    )
  })
})

describe('the reconciler alone (pure)', () => {
  it('honest sets always decode, also the small differences with a long tail', async () => {
    const { ReconcileDecoder, ReconcileEncoder, symbolsFor } = await import(
      '../src/protocol/Reconciler.js'
    )
    const { elementOf } = await import('../src/protocol/elements.js')
    const { listedSet } = await import('../src/protocol/SymbolWindow.js')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(3)), {
          maxLength: 6
        }),
        fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(3)), {
          maxLength: 6
        }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.constantFrom(1, 4, 2048),
        (ours, theirs, salt, split) => {
          const unique = (list: Array<[Uint8Array, number]>) => [
            ...new Map(
              list.map(([k, l]) => [Buffer.from(k).toString('hex'), elementOf(Buffer.from(k), l)])
            ).values()
          ]
          const a = unique(ours)
          const b = unique(theirs)
          // Symbols past `split` come from a second stream under another salt.
          const salts = {
            stable: Buffer.from(salt),
            connection: Buffer.from(salt).reverse(),
            split
          }
          const encoder = new ReconcileEncoder(salts, listedSet(a), a.length, b.length)
          const decoder = new ReconcileDecoder(salts, listedSet(b), 1000)
          let message = encoder.next(symbolsFor(a.length + b.length))
          for (;;) {
            const result = decoder.receive(message)
            if (result.status === 'done') {
              const has = (list: Buffer[], e: Buffer) => list.some((x) => x.equals(e))
              for (const e of a) expect(has(b, e) || has(result.remoteOnly, e)).toBe(true)
              for (const e of b) expect(has(a, e) || has(result.localOnly, e)).toBe(true)
              return
            }
            message = encoder.next(result.count)
          }
        }
      ),
      { numRuns: 3000, seed: 11 }
    )
  })
})
