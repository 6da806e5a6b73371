/**
 * The symbol window (protocol/SymbolWindow.ts): the first W coded symbols of
 * a set kept up to date, and reconciliations that read them instead of
 * encoding every element (O(d) work, not O(n)).
 */
import fc from 'fast-check'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { Multifeed } from '../src/Multifeed.js'
import { ELEMENT_BYTES, elementOf } from '../src/protocol/elements.js'
import { DifferenceSketch } from '../src/protocol/estimator.js'
import { setSalt, symbolSalts } from '../src/protocol/pairing.js'
import {
  type DecodeResult,
  Reconciliation,
  type SetSummary,
  type SymbolSalts
} from '../src/protocol/Reconciler.js'
import { type CodedSymbol, RibltEncoder } from '../src/protocol/riblt.js'
import { hashes } from '../src/protocol/ribltRows.js'
import { type LocalSet, listedSet, SymbolWindow } from '../src/protocol/SymbolWindow.js'
import { emptyPeerStats } from '../src/replication/PeerHost.js'
import { SetExchange } from '../src/replication/SetExchange.js'
import { FeedSet, listedSubset } from '../src/set/FeedSet.js'
import { link as linkStreams, onCleanup, tmpStore, until } from './helpers.js'

const SALT = Buffer.alloc(16, 7)
/** Symbols past `split` come from a second stream, under a salt of this connection. */
const salts = (split: number): SymbolSalts => ({
  stable: SALT,
  connection: Buffer.alloc(16, 8),
  split
})

function fresh(elements: Iterable<Buffer>, from: number, to: number): CodedSymbol[] {
  const encoder = new RibltEncoder(ELEMENT_BYTES, SALT)
  for (const e of elements) encoder.add(e)
  return encoder.symbols(from, to)
}

function plain(symbols: CodedSymbol[]) {
  return symbols.map((s) => ({ ...s, sum: s.sum.toString('hex') }))
}

const element = (i: number, length = 0) => elementOf(Buffer.alloc(32, i), length)

/** Elements 0..universe-1 as ops: toggle element i (add if absent, remove if present). */
const opsArb = (universe: number) => fc.array(fc.nat(universe - 1), { maxLength: 200 })

function summary(elements: Buffer[]): SetSummary {
  const sketch = new DifferenceSketch(SALT)
  for (const e of elements) sketch.add(e)
  return { count: elements.length, sketch: Array.from(sketch.counters) }
}

interface Run {
  result: Extract<DecodeResult, { status: 'done' }>
  rounds: number
  symbols: number
}

/** One reconciliation, initiator a (encodes) and responder b (decodes), pure. */
function reconcile(
  salt: SymbolSalts,
  a: { summary: SetSummary; set: () => LocalSet },
  b: { summary: SetSummary; set: () => LocalSet },
  between: () => void = () => {}
): Run {
  const initiator = new Reconciliation(true, salt, 100_000)
  const responder = new Reconciliation(false, salt, 100_000)
  let message = initiator.begin(a.summary, a.set(), b.summary)!
  let symbols = message.symbols.length
  for (let rounds = 1; ; rounds++) {
    const result = responder.receive(message, b.set)
    if (result.status === 'done') {
      initiator.end()
      return { result, rounds, symbols }
    }
    between()
    message = initiator.more(result.count)
    symbols += message.symbols.length
  }
}

function hexes(list: Buffer[]): string[] {
  return list.map((e) => e.toString('hex')).sort()
}

/** a − b as hex, sorted. */
function minus(a: Buffer[], b: Buffer[]): string[] {
  const in_b = new Set(hexes(b))
  return hexes(a).filter((x) => !in_b.has(x))
}

describe('symbol window', () => {
  it('kept through random adds and removes equals a fresh encoding of the final set', () => {
    fc.assert(
      fc.property(opsArb(40), fc.constantFrom(1, 16, 64), (ops, size) => {
        const window = new SymbolWindow(ELEMENT_BYTES, SALT, [], size)
        const present = new Map<number, Buffer>()
        for (const i of ops) {
          const existing = present.get(i)
          if (existing !== undefined) {
            window.remove(existing)
            present.delete(i)
          } else {
            const e = element(i, i * 3)
            window.add(e)
            present.set(i, e)
          }
        }
        expect(plain(window.symbols(0, size))).toEqual(plain(fresh(present.values(), 0, size)))
      }),
      { numRuns: 200, seed: 3 }
    )
  })

  it('built from a set equals a fresh encoding (default W = 2048)', () => {
    const set = Array.from({ length: 300 }, (_, i) => element(i, i))
    const window = new SymbolWindow(ELEMENT_BYTES, SALT, set)
    expect(window.size).toBe(2048)
    expect(plain(window.symbols(0, 2048))).toEqual(plain(fresh(set, 0, 2048)))
  })

  it('a pinned snapshot keeps its symbols and elements while the set changes', () => {
    fc.assert(
      fc.property(opsArb(30), opsArb(30), (before, after) => {
        const window = new SymbolWindow(ELEMENT_BYTES, SALT, [], 32)
        const present = new Map<number, Buffer>()
        const toggle = (i: number) => {
          const existing = present.get(i)
          if (existing !== undefined) {
            window.remove(existing)
            present.delete(i)
          } else {
            const e = element(i)
            window.add(e)
            present.set(i, e)
          }
        }
        for (const i of before) toggle(i)
        const pinned = [...present.values()]
        const snapshot = window.pin(() => [...present.values()])
        for (const i of after) toggle(i)
        expect(plain(snapshot.symbols(3, 29))).toEqual(plain(fresh(pinned, 3, 29)))
        expect(hexes([...snapshot.elements()])).toEqual(hexes(pinned))
        snapshot.release()
        expect(plain(window.symbols(0, 32))).toEqual(plain(fresh(present.values(), 0, 32)))
      }),
      { numRuns: 200, seed: 5 }
    )
  })
})

describe('reconciliation through the window', () => {
  /** Two sets sharing `common` elements, with `onlyA` / `onlyB` more; windows of `size`. */
  const setsArb = fc.record({
    common: fc.nat(60),
    onlyA: fc.nat(40),
    onlyB: fc.nat(40),
    size: fc.constantFrom(8, 32, 2048),
    windowA: fc.boolean(),
    windowB: fc.boolean()
  })

  it('decodes exactly the symmetric difference, with or without windows, beyond W too', () => {
    fc.assert(
      fc.property(setsArb, fc.nat(), ({ common, onlyA, onlyB, size, windowA, windowB }, seed) => {
        const e = (tag: number, i: number) => elementOf(Buffer.alloc(32, tag), seed + i)
        const shared = Array.from({ length: common }, (_, i) => e(1, i))
        const a = [...shared, ...Array.from({ length: onlyA }, (_, i) => e(2, i))]
        const b = [...shared, ...Array.from({ length: onlyB }, (_, i) => e(3, i))]
        const side = (list: Buffer[], windowed: boolean) => ({
          summary: summary(list),
          set: () =>
            windowed
              ? new SymbolWindow(ELEMENT_BYTES, SALT, list, size).pin(() => list)
              : listedSet(list)
        })
        if (onlyA + onlyB === 0) return
        const run = reconcile(salts(size), side(a, windowA), side(b, windowB))
        expect(hexes(run.result.remoteOnly)).toEqual(minus(a, b))
        expect(hexes(run.result.localOnly)).toEqual(minus(b, a))
      }),
      { numRuns: 300, seed: 9 }
    )
  })

  it('asks for more beyond a small window (the second stream, every element) and still decodes', () => {
    const a = Array.from({ length: 500 }, (_, i) => element(i % 250, i))
    const b = [...a.slice(0, 380), ...Array.from({ length: 120 }, (_, i) => element(i, 9999))]
    const windowed = (list: Buffer[]) => ({
      summary: { count: list.length, sketch: [] },
      set: () => new SymbolWindow(ELEMENT_BYTES, SALT, list, 16).pin(() => list)
    })
    // No sketch and equal counts: the first batch is the minimum (4), and the
    // batches double from there, past the windows (16) into the full encoding.
    const run = reconcile(salts(16), windowed(a), windowed(b))
    expect(run.symbols).toBeGreaterThan(240)
    expect(run.rounds).toBeGreaterThan(5)
    expect(hexes(run.result.remoteOnly)).toEqual(minus(a, b))
    expect(hexes(run.result.localOnly)).toEqual(minus(b, a))
  })

  it('two elements that share every index below the split (a ground collision) decode past it', () => {
    // A model of what a key holder who grinds keys against the stable salt
    // could plant: x and y hit the same symbols below the split, so there
    // they never peel apart (found by birthday search over a short split,
    // 16). A full 64-bit collision (~2³² hashes) is out of reach of a test:
    // that the second stream's salt is another one is pinned in pairing's
    // test below, not here.
    const split = 16
    const seen = new Map<string, Buffer>()
    let pair: [Buffer, Buffer] | null = null
    for (let i = 0; pair === null; i++) {
      const e = elementOf(Buffer.alloc(32, 9), i)
      const pattern = fresh([e], 0, split)
        .map((s) => s.count)
        .join('')
      const other = seen.get(pattern)
      if (other !== undefined) pair = [other, e]
      else seen.set(pattern, e)
    }
    const common = Array.from({ length: 100 }, (_, i) => element(i, 1))
    const a = [...common, ...pair]
    const windowed = (list: Buffer[]) => ({
      summary: summary(list),
      set: () => new SymbolWindow(ELEMENT_BYTES, SALT, list, split).pin(() => list)
    })
    const run = reconcile(salts(split), windowed(a), windowed(common))
    expect(run.symbols).toBeGreaterThan(split)
    expect(hexes(run.result.remoteOnly)).toEqual(hexes(pair))
    expect(run.result.localOnly).toEqual([])
    // Under the stable salt alone, the first `split` symbols hold x ⊕ y twice or not at all.
    const stuck = fresh(pair, 0, split)
    expect(stuck.every((s) => s.count === 0 || s.count === 2)).toBe(true)
  })

  it('decodes the set as it was when it began, though both sets change before the More', () => {
    const n = 200
    const a: Buffer[] = Array.from({ length: n }, (_, i) => element(i, 1))
    const b: Buffer[] = Array.from({ length: n }, (_, i) => element(i, i < 40 ? 2 : 1))
    const wa = new SymbolWindow(ELEMENT_BYTES, SALT, a, 2048)
    const wb = new SymbolWindow(ELEMENT_BYTES, SALT, b, 2048)
    const before = { a: [...a], b: [...b] }
    let changed = false
    const run = reconcile(
      salts(2048),
      { summary: { count: n, sketch: [] }, set: () => wa.pin(() => a) },
      { summary: { count: n, sketch: [] }, set: () => wb.pin(() => b) },
      () => {
        if (changed) return
        changed = true
        for (let i = 0; i < 30; i++) {
          const x = element(100 + i, 5)
          a.push(x)
          wa.add(x)
          const y = b.splice(0, 1)[0]!
          wb.remove(y)
        }
      }
    )
    // 80 differences, no sketch: the first batch (4) is too small, so there was a More.
    expect(changed).toBe(true)
    expect(hexes(run.result.remoteOnly)).toEqual(minus(before.a, before.b))
    expect(hexes(run.result.localOnly)).toEqual(minus(before.b, before.a))
  })
})

describe('reconciliation of a FeedSet', () => {
  const key = crypto.randomBytes(32)
  const salt = symbolSalts(key, crypto.randomBytes(32))

  function feedSet(keys: Buffer[]): FeedSet {
    const set = new FeedSet(setSalt(key))
    for (const k of keys) set.add(k, false, null, 1)
    return set
  }

  function side(set: FeedSet) {
    return {
      summary: { count: set.size, sketch: set.sketch() },
      set: () => set.snapshot()
    }
  }

  it('the first stream’s salt is the set’s (stable, not the sketch’s); the second is per connection', () => {
    const one = symbolSalts(key, crypto.randomBytes(32))
    const two = symbolSalts(key, crypto.randomBytes(32))
    expect(one.stable.equals(two.stable)).toBe(true)
    expect(one.stable.equals(setSalt(key))).toBe(false)
    expect(one.connection.equals(two.connection)).toBe(false)
    expect(one.connection.equals(one.stable)).toBe(false)
    expect(feedSet([]).snapshot().window?.salt.equals(one.stable)).toBe(true)
  })

  it('costs O(d) element hashes at n = 5,000 and d = 1 (the full encoding costs ≥ n)', () => {
    const n = 5000
    const keys = Array.from({ length: n }, () => crypto.randomBytes(32))
    const a = feedSet(keys)
    const b = feedSet(keys.slice(0, n - 1))
    // The first reconciliation builds the windows (n hashes each, once).
    reconcile(salt, side(a), side(b)).result
    const newKey = crypto.randomBytes(32)
    a.add(newKey, false, null, 3)
    const start = hashes.count
    const run = reconcile(salt, side(a), side(b))
    const work = hashes.count - start
    expect(hexes(run.result.remoteOnly.map((e) => e.subarray(0, 32)))).toEqual(
      hexes([keys[n - 1]!, newKey])
    )
    expect(work).toBeLessThan(50)
    // The same reconciliation without windows (what a share policy gets).
    const listed = (set: FeedSet) => ({
      summary: { count: set.size, sketch: set.sketch() },
      set: () => listedSubset(set.all())
    })
    const startListed = hashes.count
    reconcile(salt, listed(a), listed(b))
    expect(hashes.count - startListed).toBeGreaterThanOrEqual(2 * n)
  })

  it('a share policy subset (no window) reconciles against a whole set (window)', () => {
    const keys = Array.from({ length: 400 }, () => crypto.randomBytes(32))
    const a = feedSet(keys.slice(0, 300))
    const b = feedSet(keys)
    // b shows this peer the feeds with an even first byte only.
    const shown = b.all().filter((f) => f.key[0]! % 2 === 0)
    const subset = {
      summary: { count: shown.length, sketch: b.summaryOf(shown).sketch },
      set: () => listedSubset(shown)
    }
    const ids = (list: Buffer[]) => hexes(list.map((e) => e.subarray(0, 32)))
    const aIds = new Set(keys.slice(0, 300).map((k) => k.toString('hex')))
    const shownIds = new Set(shown.map((f) => f.id))
    for (const [init, resp, remoteIsSubset] of [
      [side(a), subset, false],
      [subset, side(a), true]
    ] as const) {
      const run = reconcile(salt, init, resp)
      const [subsetOnly, aOnly] = remoteIsSubset
        ? [run.result.remoteOnly, run.result.localOnly]
        : [run.result.localOnly, run.result.remoteOnly]
      expect(ids(subsetOnly)).toEqual([...shownIds].filter((id) => !aIds.has(id)).sort())
      expect(ids(aOnly)).toEqual([...aIds].filter((id) => !shownIds.has(id)).sort())
    }
  })
})

describe('reconciliation between two multifeeds', () => {
  async function open(key?: Buffer): Promise<Multifeed> {
    const multi = await Multifeed.open(await tmpStore(), key)
    onCleanup(() => multi.close())
    return multi
  }

  /** Connects a and b until both reconciled and list the same feeds; then disconnects. */
  async function reconnect(a: Multifeed, b: Multifeed): Promise<void> {
    const reconciled = Promise.all([
      new Promise((resolve) => a.once('reconciled', resolve)),
      new Promise((resolve) => b.once('reconciled', resolve))
    ])
    // Multifeed from src (this test counts src's hashes), so not helpers.pipe (typed for the package).
    const link = linkStreams(a.replicate(true), b.replicate(false))
    await reconciled
    await until(() => a.feeds().length === b.feeds().length, 'both sides list the same feeds')
    await link.destroy()
  }

  it('a reconnect that differs by one feed hashes O(d) elements, not the set (n = 1,000)', async () => {
    const n = 1000
    const a = await open()
    const b = await open(a.key)
    for (let i = 0; i < n; i++) {
      const key = crypto.randomBytes(32)
      await a.add(key)
      await b.add(key)
    }
    // The first reconciliation builds the windows (and the sketches): n hashes each.
    await a.add(crypto.randomBytes(32))
    await reconnect(a, b)
    await b.add(crypto.randomBytes(32))
    const start = hashes.count
    await reconnect(a, b)
    expect(a.feeds().length).toBe(n + 2)
    // The new feed joining a: sketch (2) + window (1); peeling it: a few.
    expect(hashes.count - start).toBeLessThan(50)
  })
})

describe('a reconciliation cut short', () => {
  // A pinned snapshot logs every change of the set until its reconciliation
  // ends; a channel that closes halfway must release it, or a peer that
  // never finishes keeps our set logging for it.
  it('releases the pinned snapshot when its channel closes before DONE', () => {
    const key = crypto.randomBytes(32)
    const set = new FeedSet(setSalt(key))
    for (let i = 0; i < 20; i++) set.add(crypto.randomBytes(32), false, null, 1)
    const stats = emptyPeerStats()
    const sent: string[] = []
    const exchange = new SetExchange(key, 1000, stats, {
      queue: (produce) => {
        while (!produce()) {}
      },
      send: (name) => void sent.push(name)
    })
    const shared = {
      feeds: set.all(),
      count: set.size,
      digest: set.digest(),
      sketch: set.sketch(),
      local: () => set.snapshot()
    }
    exchange.announce(shared)
    // The remote holds 21 feeds (one more): symbols, not a list, not in sync.
    const remoteSet = new FeedSet(setSalt(key))
    for (const f of set.all()) remoteSet.add(f.key, false, null, 1)
    remoteSet.add(crypto.randomBytes(32), false, null, 1)
    const remote = {
      major: 2,
      minor: 1,
      capability: Buffer.alloc(16),
      setProof: crypto.randomBytes(16),
      count: remoteSet.size,
      sketch: remoteSet.sketch()
    }
    expect(exchange.begin(crypto.randomBytes(32), true, shared, remote)).toBe(false)
    expect(sent).toEqual(['symbols'])
    expect(set.pinned).toBe(1)
    exchange.close()
    expect(set.pinned).toBe(0)
  })
})
