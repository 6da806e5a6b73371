// The FeedSet's storage (set/FeedTable.ts): keys in one slab, records in
// parallel arrays, lookups through a hash table of slots. Checked against a
// plain Map model over random add / remove / grow / compact sequences, and
// the log replay (beginLoad … endLoad) against the replay it replaced.

import CorestoreClass from 'corestore'
import fc from 'fast-check'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { type Feed, FeedSet } from '../src/set/FeedSet.js'
import { Membership } from '../src/set/Membership.js'
import { Owners } from '../src/set/Owners.js'
import { onCleanup, tmpDir } from './helpers.js'
import { bytes, rng } from './seeded.js'

interface Model {
  key: Buffer
  local: boolean
  name: string | null
  length: number
  seq: number
}

const hex = (b: Buffer): string => b.toString('hex')

/** What a feed says of itself, read through the Feed object. */
function read(feed: Feed): Model {
  return { key: feed.key, local: feed.local, name: feed.name, length: feed.length, seq: feed.seq }
}

/** The set's digest and sketch as a set built from `feeds` alone would have them. */
function summaryOfModel(salt: Buffer, feeds: Model[]): { digest: Buffer; sketch: number[] } {
  const fresh = new FeedSet(salt)
  for (const f of feeds) fresh.add(f.key, f.local, f.name, f.length, f.seq)
  return { digest: Buffer.from(fresh.digest()), sketch: fresh.sketch() }
}

/** Every live feed is found by key, hex and discovery key, and reads as the model says. */
function expectMatches(set: FeedSet, salt: Buffer, live: Map<string, Model>, gone: Buffer[]): void {
  expect(set.size).toBe(live.size)
  expect(set.all().map(read)).toEqual([...live.values()])
  for (const [id, model] of live) {
    const feed = set.get(id)
    expect(feed).toBeDefined()
    expect(set.find(model.key)).toBe(feed)
    expect(set.has(id)).toBe(true)
    expect(feed!.id).toBe(id)
    const discoveryKey = crypto.discoveryKey(model.key)
    expect(feed!.discoveryKey.equals(discoveryKey)).toBe(true)
    expect(feed!.discoveryId).toBe(hex(discoveryKey))
    expect(set.byDiscoveryKey(hex(discoveryKey))).toBe(feed)
  }
  for (const key of gone) {
    if (live.has(hex(key))) continue
    expect(set.get(hex(key))).toBeUndefined()
    expect(set.find(key)).toBeUndefined()
    expect(set.has(hex(key))).toBe(false)
    expect(set.byDiscoveryKey(hex(crypto.discoveryKey(key)))).toBeUndefined()
  }
  expect({ digest: Buffer.from(set.digest()), sketch: set.sketch() }).toEqual(
    summaryOfModel(salt, [...live.values()])
  )
}

type Op =
  | { op: 'add'; seed: number; local: boolean; named: boolean; length: number }
  | { op: 're-add'; pick: number }
  | { op: 'remove'; pick: number }
  | { op: 'length'; pick: number; length: number }
  | { op: 'local'; pick: number }
  | { op: 'discovery'; pick: number }

const ops: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      seed: fc.integer(),
      local: fc.boolean(),
      named: fc.boolean(),
      length: fc.oneof(fc.nat(1000), fc.constant(2 ** 40 + 3))
    })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('re-add' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('length' as const),
      pick: fc.nat(),
      length: fc.nat(10_000)
    })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('local' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discovery' as const), pick: fc.nat() }) }
)

describe('FeedSet storage', () => {
  it('matches a Map model over random add / remove / length / local sequences (slab growth and compaction)', () => {
    fc.assert(
      fc.property(fc.array(ops, { maxLength: 160 }), fc.integer(), (sequence, saltSeed) => {
        const salt = bytes(rng(saltSeed), 16)
        const set = new FeedSet(salt)
        const live = new Map<string, Model>()
        const gone: Buffer[] = []
        // Buffers read earlier: their bytes never change (rows are written once).
        const handedOut: Array<{ view: Buffer; bytes: Buffer }> = []
        // Feeds removed: still readable as they were.
        const removed: Array<{ feed: Feed; was: Model }> = []
        let seq = 0
        let named = 0
        const pick = (n: number): [string, Model] | undefined => {
          const entries = [...live.entries()]
          return entries.length === 0 ? undefined : entries[n % entries.length]
        }
        for (const step of sequence) {
          if (step.op === 'add' || step.op === 're-add') {
            const key =
              step.op === 'add' ? bytes(rng(step.seed), 32) : gone[step.pick % (gone.length || 1)]
            if (key === undefined || live.has(hex(key))) continue
            const local = step.op === 'add' && step.local
            const name = step.op === 'add' && step.named ? `w${named++}` : null
            const length = step.op === 'add' ? step.length : 0
            const feed = set.add(Buffer.from(key), local, name, length)
            live.set(hex(key), { key, local, name, length, seq: seq++ })
            expect(read(feed)).toEqual(live.get(hex(key)))
          } else if (step.op === 'remove') {
            const entry = pick(step.pick)
            if (entry === undefined) continue
            const feed = set.get(entry[0])!
            set.remove(feed)
            set.remove(feed) // a second removal changes nothing
            live.delete(entry[0])
            gone.push(entry[1].key)
            removed.push({ feed, was: entry[1] })
          } else if (step.op === 'length') {
            const entry = pick(step.pick)
            if (entry === undefined) continue
            const changed = set.setLength(set.get(entry[0])!, step.length)
            expect(changed).toBe(step.length !== entry[1].length)
            entry[1].length = step.length
          } else if (step.op === 'local') {
            const entry = pick(step.pick)
            if (entry === undefined) continue
            const name = `w${named++}`
            set.markLocal(set.get(entry[0])!, name)
            entry[1].local = true
            entry[1].name ??= name
          } else {
            const entry = pick(step.pick)
            if (entry === undefined) continue
            const feed = set.get(entry[0])!
            for (const view of [feed.key, feed.discoveryKey]) {
              handedOut.push({ view, bytes: Buffer.from(view) })
            }
          }
        }
        expectMatches(set, salt, live, gone)
        for (const { view, bytes } of handedOut) expect(view.equals(bytes)).toBe(true)
        for (const { feed, was } of removed) {
          expect(read(feed)).toEqual(was)
          expect(feed.discoveryKey.equals(crypto.discoveryKey(was.key))).toBe(true)
        }
      }),
      { numRuns: 150 }
    )
  })

  it('keeps every key readable and lookups exact across growth and a compaction of thousands of feeds', () => {
    const next = rng(7)
    const salt = bytes(next, 16)
    const set = new FeedSet(salt)
    const live = new Map<string, Model>()
    const gone: Buffer[] = []
    const early: Array<{ feed: Feed; key: Buffer; view: Buffer }> = []
    for (let i = 0; i < 5000; i++) {
      const key = bytes(next, 32)
      const feed = set.add(key, i % 97 === 0, i % 97 === 0 ? `w${i}` : null, i)
      live.set(hex(key), {
        key,
        local: i % 97 === 0,
        name: i % 97 === 0 ? `w${i}` : null,
        length: i,
        seq: i
      })
      if (i % 500 === 0) early.push({ feed, key, view: feed.key })
    }
    // Looked up by discovery key once: that index is kept from now on (and through the compaction).
    expect(set.byDiscoveryKey(hex(crypto.discoveryKey(early[1]!.key)))).toBe(early[1]!.feed)
    // Remove 4 in 5 (the survivors' slots move when removed feeds hold half of them).
    let i = 0
    for (const [id, model] of [...live]) {
      if (i++ % 5 === 0) continue
      set.remove(set.get(id)!)
      live.delete(id)
      gone.push(model.key)
    }
    for (let j = 0; j < 300; j++) {
      const key = bytes(next, 32)
      set.add(key, false, null, j)
      live.set(hex(key), { key, local: false, name: null, length: j, seq: 5000 + j })
    }
    expectMatches(set, salt, live, gone)
    for (const { feed, key, view } of early) {
      expect(view.equals(key)).toBe(true)
      expect(feed.key.equals(key)).toBe(true)
    }
  })

  it('finds nothing for keys that are not 32 bytes or hex that is not 64 digits', () => {
    const set = new FeedSet(Buffer.alloc(16, 1))
    const key = Buffer.alloc(32, 0xab)
    set.add(key, false, null)
    expect(set.get(hex(key))).toBeDefined()
    expect(set.get(hex(key).toUpperCase())).toBe(set.get(hex(key)))
    expect(set.get(hex(key).slice(2))).toBeUndefined()
    expect(set.get(`${hex(key).slice(2)}zz`)).toBeUndefined()
    expect(set.get(`${hex(key).slice(2)}ĀĀ`)).toBeUndefined()
    expect(set.find(key.subarray(1))).toBeUndefined()
    expect(set.byDiscoveryKey('00')).toBeUndefined()
  })
})

/**
 * The replay Membership.load did before the set replayed the log itself,
 * except that a remote record of a listed feed takes a position (see loadFeed).
 */
function referenceReplay(log: LogEntry[]): { live: Model[]; positions: number } {
  const entries: Array<Model & { removed: boolean }> = []
  const byKey = new Map<string, number>()
  for (const e of log) {
    if (e.kind === 'feed') {
      const seq = byKey.get(hex(e.key))
      if (seq === undefined) {
        byKey.set(hex(e.key), entries.length)
        entries.push({
          key: e.key,
          local: e.local,
          name: e.name,
          length: 0,
          seq: entries.length,
          removed: false
        })
      } else if (e.local) {
        entries[seq]!.local = true
        if (e.name !== null) entries[seq]!.name = e.name
      } else {
        // A remote record of a listed feed (a duplicate the admission race
        // wrote): the runtime gave it a position, which no feed holds now.
        entries.push({ ...entries[seq]!, seq: entries.length, removed: true })
      }
    } else if (e.kind === 'length') {
      const entry = entries[e.seq]
      if (entry !== undefined && e.length > entry.length) entry.length = e.length
    } else {
      const seq = byKey.get(hex(e.key))
      if (seq !== undefined) {
        entries[seq]!.removed = true
        byKey.delete(hex(e.key))
      }
    }
  }
  const live = entries.filter((e) => !e.removed).map(({ removed: _, ...model }) => model)
  return { live, positions: entries.length }
}

type LogEntry =
  | { kind: 'feed'; key: Buffer; local: boolean; name: string | null }
  | { kind: 'length'; seq: number; length: number }
  | { kind: 'removal'; key: Buffer }

describe('FeedSet log replay', () => {
  it('gives what the per-record replay gave, for random logs of joins, checkpoints and removals', () => {
    const keys = Array.from({ length: 8 }, (_, i) => Buffer.alloc(32, i + 1))
    // Few keys, many records: keys leave and join again, so the log's positions pass
    // the table's first capacity with many removed among them.
    const entry: fc.Arbitrary<LogEntry> = fc.oneof(
      fc.record({
        kind: fc.constant('feed' as const),
        key: fc.constantFrom(...keys),
        local: fc.boolean(),
        name: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null })
      }),
      fc.record({ kind: fc.constant('length' as const), seq: fc.nat(60), length: fc.nat(50) }),
      fc.record({ kind: fc.constant('removal' as const), key: fc.constantFrom(...keys) })
    )
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 200 }), (log) => {
        const salt = Buffer.alloc(16, 9)
        const set = new FeedSet(salt)
        set.beginLoad()
        const retired: string[] = []
        for (const e of log) {
          if (e.kind === 'feed') set.loadFeed(e.key, e.local, e.name)
          else if (e.kind === 'length') set.loadLength(e.seq, e.length)
          else {
            const was = set.loadRemoval(e.key)
            if (was?.local && was.name !== null) retired.push(was.name)
          }
        }
        set.endLoad()
        const expected = referenceReplay(log)
        expect(set.all().map(read)).toEqual(expected.live)
        expect({ digest: Buffer.from(set.digest()), sketch: set.sketch() }).toEqual(
          summaryOfModel(salt, expected.live)
        )
        // A feed added afterwards takes the next position, past every one the log gave.
        expect(set.add(Buffer.alloc(32, 0xee), false, null).seq).toBe(expected.positions)
        expect(set.find(Buffer.alloc(32, 0xee))).toBeDefined()
      }),
      { numRuns: 300 }
    )
  })

  it('names the right feeds in checkpoints when the positions pass the table capacity with removed feeds among them', () => {
    const keys = Array.from({ length: 8 }, (_, i) => Buffer.alloc(32, i + 1))
    const log: LogEntry[] = []
    let position = 0
    // Key 0 stays; keys 1..7 leave and join again five times (each join a new position).
    for (let round = 0; round < 6; round++) {
      const joining = round === 0 ? keys : keys.slice(1)
      for (const key of joining) log.push({ kind: 'feed', key, local: false, name: null })
      for (const key of joining) {
        log.push({ kind: 'length', seq: position++, length: 100 * round + key[0]! })
      }
      if (round < 5) for (const key of keys.slice(1)) log.push({ kind: 'removal', key })
    }
    const set = new FeedSet(Buffer.alloc(16, 3))
    set.beginLoad()
    for (const [i, e] of log.entries()) {
      // Room asked for ahead now and then, as Membership does per batch of the log.
      if (i % 25 === 0) set.reserveLoad(i)
      if (e.kind === 'feed') set.loadFeed(e.key, e.local, e.name)
      else if (e.kind === 'length') set.loadLength(e.seq, e.length)
      else set.loadRemoval(e.key)
    }
    set.endLoad()
    const expected = referenceReplay(log)
    expect(expected.live.map((f) => f.length)).toEqual([1, 502, 503, 504, 505, 506, 507, 508])
    expect(set.all().map(read)).toEqual(expected.live)
  })

  it('refuses replay calls outside beginLoad … endLoad, and a replay into a set that holds feeds', () => {
    const set = new FeedSet(Buffer.alloc(16, 2))
    expect(() => set.loadFeed(Buffer.alloc(32, 1), false, null)).toThrow()
    set.add(Buffer.alloc(32, 1), false, null)
    expect(() => set.beginLoad()).toThrow()
  })
})

describe('Membership re-opened from its log', () => {
  it('has the feeds, names, lengths and positions it had, after many removals and re-adds', async () => {
    const dir = await tmpDir()
    const salt = Buffer.alloc(16, 4)
    const next = rng(11)
    const keys = Array.from({ length: 60 }, () => bytes(next, 32))
    const open = async (): Promise<{ membership: Membership; close: () => Promise<void> }> => {
      const store = new CorestoreClass(dir)
      const owners = await Owners.open(store)
      const membership = new Membership(store, Buffer.alloc(32, 9), salt, 1000)
      await membership.load(owners)
      const close = async (): Promise<void> => {
        await membership.close()
        await owners.close()
        await store.close()
      }
      onCleanup(close)
      return { membership, close }
    }
    const first = await open()
    const m = first.membership
    await m.add(keys.map((key, i) => ({ key, local: i < 3, name: i < 3 ? `w${i}` : null })))
    for (const [i, feed] of m.set.all().entries()) m.setLength(feed, i * 10 + 1)
    await m.checkpoint()
    // Remove 50 (one of our writers among them: its name is retired), add 20 of them back.
    for (const key of keys.slice(2, 52)) await m.remove(m.set.find(key)!, false)
    await m.add(keys.slice(30, 50).map((key) => ({ key, local: false, name: null })))
    for (const key of keys.slice(40, 50)) m.setLength(m.set.find(key)!, 7)
    await m.markLocal(m.set.find(keys[45]!)!, 'late')
    await m.checkpoint()
    const before = m.set.all().map(read)
    const digest = Buffer.from(m.set.digest())
    expect(before).toHaveLength(30)
    await first.close()

    const { membership: again } = await open()
    expect(again.set.all().map(read)).toEqual(before)
    expect(Buffer.from(again.set.digest())).toEqual(digest)
    expect([...again.names.keys()].sort()).toEqual(['late', 'w0', 'w1'])
    expect(again.names.get('late')).toBe(again.set.find(keys[45]!))
    expect([...again.retired]).toEqual(['w2'])
    // A feed added now takes a position after every one the log gave.
    const [added] = await again.add([{ key: bytes(next, 32), local: false, name: null }])
    expect(added!.seq).toBe(80)
  })
})

/** Random changes to a set: new feeds, growth, removals (and `extra`, e.g. reads). */
function changesOf<T>(extra: fc.Arbitrary<T>) {
  return fc.oneof(
    fc.record({ kind: fc.constant('add' as const), length: fc.nat(5) }),
    fc.record({
      kind: fc.constant('grow' as const),
      pick: fc.nat(),
      by: fc.integer({ min: 1, max: 3 })
    }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    extra
  )
}

type Change =
  | { kind: 'add'; length: number }
  | { kind: 'grow'; pick: number; by: number }
  | { kind: 'remove'; pick: number }

/** Applies a change of changesOf(); false for the `extra` kinds (the caller's). */
function apply(set: FeedSet, o: Change | { kind: string }): boolean {
  const feeds = set.all()
  const c = o as Change
  if (c.kind === 'add') set.add(crypto.randomBytes(32), false, null, c.length)
  else if (c.kind === 'grow') {
    if (feeds.length > 0) {
      const feed = feeds[c.pick % feeds.length]!
      set.setLength(feed, feed.length + c.by)
    }
  } else if (c.kind === 'remove') {
    if (feeds.length > 0) set.remove(feeds[c.pick % feeds.length]!)
  } else return false
  return true
}

/** The same feeds at the same lengths, in a set built afresh. */
function afresh(set: FeedSet, salt: Buffer): FeedSet {
  const fresh = new FeedSet(salt)
  for (const f of set.all()) fresh.add(f.key, false, null, f.length)
  return fresh
}

describe('FeedSet summary under length changes', () => {
  // Length changes reach the digest, sketch and symbol window only when one
  // of them is read next (a download of many blocks is one update): whatever
  // the interleaving of changes, removals and reads, each read must show the
  // set as it is.
  it('digest, sketch and window read after any interleaving equal those of a set built afresh', () => {
    const salt = Buffer.alloc(16, 3)
    const read = fc.record({
      kind: fc.constant('read' as const),
      what: fc.constantFrom('digest', 'sketch', 'window')
    })
    fc.assert(
      fc.property(fc.array(changesOf(read), { maxLength: 60 }), (ops) => {
        const set = new FeedSet(salt)
        for (const o of ops) {
          if (apply(set, o) || o.kind !== 'read') continue
          if (o.what === 'digest') set.digest()
          else if (o.what === 'sketch') set.sketch()
          else set.snapshot().release()
        }
        const fresh = afresh(set, salt)
        expect(Buffer.from(set.digest())).toEqual(Buffer.from(fresh.digest()))
        expect(set.sketch()).toEqual(fresh.sketch())
        const [mine, theirs] = [set.snapshot(), fresh.snapshot()]
        expect(mine.window!.symbols(0, 64)).toEqual(theirs.window!.symbols(0, 64))
        mine.release()
        theirs.release()
      }),
      { numRuns: 200 }
    )
  })
})

describe('FeedSet sketch built in the background', () => {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

  // The build sketches the set as it was when it began, a slice per tick;
  // changes meanwhile go into the sketch at once. Whatever happens between
  // the slices, the sketch read at the end is the one of the set as it is.
  it('equals a sketch built afresh, whatever changes between its slices', async () => {
    const salt = Buffer.alloc(16, 5)
    const between = fc.record({ kind: fc.constantFrom('tick' as const, 'digest' as const) })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.array(changesOf(between), { maxLength: 40 }),
        async (n, ops) => {
          const set = new FeedSet(salt)
          for (let i = 0; i < n; i++) set.add(crypto.randomBytes(32), false, null, i % 4)
          set.prepareSketch(3)
          for (const o of ops) {
            if (apply(set, o)) continue
            if (o.kind === 'tick') await tick()
            else if (o.kind === 'digest') set.digest()
          }
          expect(set.sketch()).toEqual(afresh(set, salt).sketch())
        }
      ),
      { numRuns: 150 }
    )
  })

  it('stopped halfway (the set closing), it is built in full when asked for', async () => {
    const salt = Buffer.alloc(16, 6)
    const set = new FeedSet(salt)
    for (let i = 0; i < 50; i++) set.add(crypto.randomBytes(32), false, null, 1)
    set.prepareSketch(10)
    await tick()
    set.stopBackground()
    set.setLength(set.all()[0]!, 2)
    expect(set.sketch()).toEqual(afresh(set, salt).sketch())
  })
})

describe('FeedSet keys handed to users', () => {
  // FeedInfo.key is a view of the set's key slab: a user who puts it in a
  // transfer list must not detach every key of the set.
  it('a key view in a transfer list is copied, the set keeps every key', () => {
    const set = new FeedSet(Buffer.alloc(16, 8))
    const keys = Array.from({ length: 10 }, () => crypto.randomBytes(32))
    for (const key of keys) set.add(key, false, null, 1)
    const view = set.all()[3]!.key
    const copy = structuredClone(view, { transfer: [view.buffer as ArrayBuffer] })
    expect(Buffer.from(copy).equals(keys[3]!)).toBe(true)
    expect(set.all().map((f) => f.key.toString('hex'))).toEqual(keys.map((k) => k.toString('hex')))
    for (const key of keys) expect(set.find(key)).toBeDefined()
    set.add(crypto.randomBytes(32), false, null, 1)
    expect(set.size).toBe(11)
  })
})
