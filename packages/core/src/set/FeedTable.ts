/**
 * Where a FeedSet keeps its feeds: one record per feed in parallel arrays
 * (struct of arrays), indexed by a slot. Keys sit in one growable slab of
 * 32-byte rows, lengths and positions in Float64Arrays, flags in a
 * Uint8Array; a feed's hex id and discovery key are made when first asked
 * for (discovery keys then live in a second slab). Lookups by key or
 * discovery key go through an open-addressing table of slots, hashed over
 * the whole key under a random per-set secret and verified word by word.
 *
 * At rest a feed costs a record and a small Feed object, about 150 bytes
 * (a Buffer per key, a hex string and an eight-field object cost about 500).
 * `feed.key` and `feed.discoveryKey` are views of the slabs, made on first
 * use and kept, so that reading them (FeedInfo snapshots) allocates nothing
 * the second time.
 *
 * Rows are written once: a slot is never given to another feed, and growing
 * or compacting copies the rows into new slabs, so a view handed out keeps
 * its bytes. Compaction (when removed feeds make up half of the slots) gives
 * live feeds new slots; the Feed object of a removed feed moves its record
 * to a table of its own first, so it stays readable.
 */
import { randomBytes } from 'node:crypto'
import sodium from 'sodium-universal'
import { elementOf } from '../protocol/elements.js'

const KEY_BYTES = 32
const KEY_WORDS = KEY_BYTES / 4
const FLAG_LIVE = 1
const FLAG_LOCAL = 2
const FLAG_NAMED = 4
/** The discovery key of the slot is in the discovery slab. */
const FLAG_DISCOVERY = 8

const EMPTY = -1
/** A deleted entry: probing goes on past it. */
const GONE = -2
/** Largest share of the index's entries in use (live or gone) before it is rebuilt. */
const MAX_LOAD = 0.5
/** Share in use right after a rebuild, at most. */
const REBUILD_LOAD = 0.4

/** A 32-byte aligned scratch row: a key to look up is copied here first. */
const probeBytes = Buffer.from(new ArrayBuffer(KEY_BYTES))
const probeWords = new Int32Array(probeBytes.buffer, 0, KEY_WORDS)
/** Where a slot's key is copied to build its element without a view of the slab. */
const elementKey = Buffer.from(new ArrayBuffer(KEY_BYTES))
const elementKeyWords = new Int32Array(elementKey.buffer, 0, KEY_WORDS)
/** Value of each hex digit by char code (-1: not one). */
const HEX_DIGITS = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_DIGITS['0123456789abcdef'.charCodeAt(i)] = i
  HEX_DIGITS['0123456789ABCDEF'.charCodeAt(i)] = i
}
/** Namespace of hypercore's discovery keys (hypercore-crypto). */
const HYPERCORE = Buffer.from('hypercore')
const discoveryIn = Buffer.from(new ArrayBuffer(KEY_BYTES))
const discoveryInWords = new Int32Array(discoveryIn.buffer, 0, KEY_WORDS)
const discoveryOut = Buffer.from(new ArrayBuffer(KEY_BYTES))
const discoveryOutWords = new Int32Array(discoveryOut.buffer, 0, KEY_WORDS)

/** Secret multipliers of the index hash (odd), one per key word, and a start value. */
export function indexSeed(): Int32Array {
  const seed = new Int32Array(randomBytes((KEY_WORDS + 1) * 4).buffer)
  for (let i = 0; i < KEY_WORDS; i++) seed[i]! |= 1
  return seed
}

/** Decodes a 64-digit hex key into the probe row; false when it is not one. */
function probeHex(id: string): boolean {
  if (id.length !== KEY_BYTES * 2) return false
  for (let i = 0; i < KEY_BYTES; i++) {
    const hi = HEX_DIGITS[id.charCodeAt(2 * i)] ?? -1
    const lo = HEX_DIGITS[id.charCodeAt(2 * i + 1)] ?? -1
    if ((hi | lo) < 0) return false
    probeBytes[i] = (hi << 4) | lo
  }
  return true
}

function hashRow(words: Int32Array, at: number, seed: Int32Array): number {
  let h = seed[KEY_WORDS]!
  for (let i = 0; i < KEY_WORDS; i++) {
    h = Math.imul(h ^ words[at + i]!, seed[i]!)
    h ^= h >>> 15
  }
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995)
  return h ^ (h >>> 16)
}

/** Copies row `from` of `source` to row `to` of `target` (rows of 32 bytes as words). */
function copyRow(source: Int32Array, from: number, target: Int32Array, to: number): void {
  for (let i = 0; i < KEY_WORDS; i++) target[to * KEY_WORDS + i] = source[from * KEY_WORDS + i]!
}

function rowsEqual(a: Int32Array, at: number, b: Int32Array, bt: number): boolean {
  for (let i = 0; i < KEY_WORDS; i++) if (a[at + i] !== b[bt + i]) return false
  return true
}

/**
 * Slots by key: open addressing with linear probing over an Int32Array,
 * the rows (keys) living in the table's slab. Not iterable; it only answers
 * "which slot holds this row".
 */
class SlotIndex {
  #entries = new Int32Array(16).fill(EMPTY)
  /** Entries live or gone. */
  #used = 0
  #size = 0
  readonly #seed: Int32Array

  constructor(seed: Int32Array) {
    this.#seed = seed
  }

  /** The slot whose row in `rows` equals `probe`'s first row, or -1. */
  find(rows: Int32Array, probe: Int32Array, at: number): number {
    const entries = this.#entries
    const mask = entries.length - 1
    for (let i = hashRow(probe, at, this.#seed) & mask; ; i = (i + 1) & mask) {
      const slot = entries[i]!
      if (slot === EMPTY) return -1
      if (slot !== GONE && rowsEqual(rows, slot * KEY_WORDS, probe, at)) return slot
    }
  }

  /** Indexes `slot` (its row is in `rows`; the caller checked it is absent). */
  insert(rows: Int32Array, slot: number): void {
    if (this.#used + 1 > this.#entries.length * MAX_LOAD) this.#rebuild(rows, this.#size + 1)
    const entries = this.#entries
    const mask = entries.length - 1
    let i = hashRow(rows, slot * KEY_WORDS, this.#seed) & mask
    while (entries[i]! >= 0) i = (i + 1) & mask
    if (entries[i] === EMPTY) this.#used++
    entries[i] = slot
    this.#size++
  }

  /** Takes `slot` (its row still in `rows`) out of the index. */
  delete(rows: Int32Array, slot: number): void {
    const entries = this.#entries
    const mask = entries.length - 1
    for (let i = hashRow(rows, slot * KEY_WORDS, this.#seed) & mask; ; i = (i + 1) & mask) {
      const entry = entries[i]!
      if (entry === EMPTY) return
      if (entry === slot) {
        entries[i] = GONE
        this.#size--
        return
      }
    }
  }

  /** A table sized for `size` entries, without the gone ones. */
  #rebuild(rows: Int32Array, size: number): void {
    let capacity = 16
    while (capacity * REBUILD_LOAD < size) capacity *= 2
    const old = this.#entries
    const entries = new Int32Array(capacity).fill(EMPTY)
    const mask = capacity - 1
    for (const slot of old) {
      if (slot < 0) continue
      let i = hashRow(rows, slot * KEY_WORDS, this.#seed) & mask
      while (entries[i] !== EMPTY) i = (i + 1) & mask
      entries[i] = slot
    }
    this.#entries = entries
    this.#used = this.#size
  }
}

/**
 * A feed of the set: a handle on its record in the table. Identity is
 * stable for the life of the feed (a Set or Map of feeds works).
 */
export class Feed {
  /** The table holding this feed's record (internal to the set). */
  table: FeedTable
  /** The record's slot in `table` (internal to the set). */
  slot: number
  #id: string | null = null
  #key: Buffer | null = null
  #discoveryKey: Buffer | null = null

  constructor(table: FeedTable, slot: number) {
    this.table = table
    this.slot = slot
  }

  /** The core's public key (32 bytes; a view of the set's slab: do not write to it). */
  get key(): Buffer {
    this.#key ??= this.table.keyOf(this.slot)
    return this.#key
  }

  /** Lower-case hex of the key (made on first use, then kept). */
  get id(): string {
    this.#id ??= this.table.hexOf(this.slot)
    return this.#id
  }

  /** Position in the order feeds joined (stable: a removed feed keeps its position). */
  get seq(): number {
    return this.table.seqs[this.slot]!
  }

  /** True for a writer of ours (created by `writer()`). */
  get local(): boolean {
    return this.table.localOf(this.slot)
  }

  /** Local name of a writer; never sent to peers. */
  get name(): string | null {
    return this.table.nameOf(this.slot)
  }

  /** Blocks 0..length-1 are held here (contiguous length, as last known). */
  get length(): number {
    return this.table.lengths[this.slot]!
  }

  /** The discovery key (computed on first use; a view, like `key`). */
  get discoveryKey(): Buffer {
    this.#discoveryKey ??= this.table.discoveryKeyOf(this.slot)
    return this.#discoveryKey
  }

  /** Lower-case hex of the discovery key. */
  get discoveryId(): string {
    return this.table.discoveryHexOf(this.slot)
  }

  /** The reconciliation element of the feed (key + length), a new Buffer. */
  element(): Buffer {
    return this.table.elementOf(this.slot)
  }

  /** Drops the views: the slabs they show were replaced (the next read makes new ones). */
  unview(): void {
    this.#key = null
    this.#discoveryKey = null
  }
}

export class FeedTable {
  /** Keys, 32 bytes per slot. */
  #keys: Buffer
  #keyRows: Int32Array
  /** Discovery keys, 32 bytes per slot, once one is asked for. */
  #discovery: Buffer | null = null
  #discoveryRows: Int32Array | null = null
  lengths: Float64Array
  seqs: Float64Array
  flags: Uint8Array
  /** The Feed of each slot (null: removed, or not made yet while loading). */
  feeds: Array<Feed | null> = []
  /** Names by slot, for the few named feeds (our writers). */
  #names = new Map<number, string>()
  /** While true, slots stay where they are (no compaction): a slot is a log position then. */
  keepSlots = false
  /** Slots taken (live or removed): the next new slot. */
  #top = 0
  /** Slots of removed feeds below `top`. */
  #removed = 0
  readonly #seed: Int32Array
  #byKey: SlotIndex
  #byDiscoveryKey: SlotIndex | null = null

  constructor(seed: Int32Array, capacity = 16) {
    this.#seed = seed
    this.#byKey = new SlotIndex(seed)
    this.#keys = Buffer.alloc(capacity * KEY_BYTES)
    this.#keyRows = rowsOf(this.#keys)
    this.lengths = new Float64Array(capacity)
    this.seqs = new Float64Array(capacity)
    this.flags = new Uint8Array(capacity)
  }

  /** Slots taken, live or removed (every slot is below this). */
  get top(): number {
    return this.#top
  }

  /** The slot of the live feed with this key, or -1. */
  find(key: Uint8Array): number {
    if (key.byteLength !== KEY_BYTES) return -1
    probeBytes.set(key)
    return this.#byKey.find(this.#keyRows, probeWords, 0)
  }

  /** The slot of the live feed with this hex key, or -1. */
  findHex(id: string): number {
    if (!probeHex(id)) return -1
    return this.#byKey.find(this.#keyRows, probeWords, 0)
  }

  /** The slot of the live feed with this hex discovery key, or -1 (indexes them all on first use). */
  findDiscoveryHex(discoveryId: string): number {
    if (this.#byDiscoveryKey === null) this.#indexDiscoveryKeys()
    if (!probeHex(discoveryId)) return -1
    return this.#byDiscoveryKey!.find(this.#discoveryRows!, probeWords, 0)
  }

  /** A record for a new feed in the next slot (the caller checked the key is not live here). */
  insert(
    key: Uint8Array,
    local: boolean,
    name: string | null,
    length: number,
    seq: number
  ): number {
    if (this.#top === this.flags.length) {
      // Room: compacting when removed feeds hold half of the slots, growing otherwise.
      if (!this.keepSlots && this.#removed * 2 >= this.#top) this.#rebuild(this.flags.length)
      else this.#grow(this.flags.length * 2)
    }
    const slot = this.#top++
    this.#keys.set(key, slot * KEY_BYTES)
    this.lengths[slot] = length
    this.seqs[slot] = seq
    this.flags[slot] = FLAG_LIVE
    this.setLocal(slot, local, name)
    this.feeds[slot] = null
    this.#byKey.insert(this.#keyRows, slot)
    if (this.#byDiscoveryKey !== null) {
      this.#discoveryOf(slot)
      this.#byDiscoveryKey.insert(this.#discoveryRows!, slot)
    }
    return slot
  }

  /** Marks the slot's feed local (when `local`) and names it (when `name` is given). */
  setLocal(slot: number, local: boolean, name: string | null): void {
    if (local) this.flags[slot]! |= FLAG_LOCAL
    if (name !== null) {
      this.flags[slot]! |= FLAG_NAMED
      this.#names.set(slot, name)
    }
  }

  /** The Feed of a live slot, made on first use. */
  feedOf(slot: number): Feed {
    let feed = this.feeds[slot]
    if (feed === null || feed === undefined) {
      feed = new Feed(this, slot)
      this.feeds[slot] = feed
    }
    return feed
  }

  /** Takes a live slot out; its Feed (if made) moves to a table of its own, so it stays readable. */
  remove(slot: number): void {
    const feed = this.feeds[slot]
    if (feed !== null && feed !== undefined) {
      const own = new FeedTable(this.#seed, 1)
      feed.table = own
      feed.slot = own.#place(this, slot)
      own.feeds[feed.slot] = feed
    }
    this.#byKey.delete(this.#keyRows, slot)
    if (this.#byDiscoveryKey !== null) this.#byDiscoveryKey.delete(this.#discoveryRows!, slot)
    this.flags[slot] = 0
    this.#names.delete(slot)
    this.feeds[slot] = null
    this.#removed++
  }

  /**
   * Compacts when removed feeds hold more than half of the slots (and at
   * least `min`): live feeds get new slots, in the same order.
   */
  compact(min = 1024): void {
    if (!this.keepSlots && this.#removed >= min && this.#removed * 2 > this.#top)
      this.#rebuild(this.flags.length)
  }

  live(slot: number): boolean {
    return slot >= 0 && slot < this.#top && (this.flags[slot]! & FLAG_LIVE) !== 0
  }

  /** A view of the slot's key row (rows are never written again). */
  keyOf(slot: number): Buffer {
    return this.#keys.subarray(slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
  }

  hexOf(slot: number): string {
    return this.#keys.toString('hex', slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
  }

  localOf(slot: number): boolean {
    return (this.flags[slot]! & FLAG_LOCAL) !== 0
  }

  nameOf(slot: number): string | null {
    return this.flags[slot]! & FLAG_NAMED ? (this.#names.get(slot) ?? null) : null
  }

  /** Slots of the named feeds, in slot order. */
  named(): number[] {
    return [...this.#names.keys()].sort((a, b) => a - b)
  }

  /** A view of the slot's discovery key row. */
  discoveryKeyOf(slot: number): Buffer {
    return this.#discoveryOf(slot).subarray(slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
  }

  discoveryHexOf(slot: number): string {
    return this.#discoveryOf(slot).toString('hex', slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
  }

  elementOf(slot: number): Buffer {
    copyRow(this.#keyRows, slot, elementKeyWords, 0)
    return elementOf(elementKey, this.lengths[slot]!)
  }

  /** The discovery slab, with the slot's discovery key in it. */
  #discoveryOf(slot: number): Buffer {
    if (this.#discovery === null) {
      this.#discovery = Buffer.alloc(this.flags.length * KEY_BYTES)
      this.#discoveryRows = rowsOf(this.#discovery)
    }
    if (!(this.flags[slot]! & FLAG_DISCOVERY)) {
      // hypercore-crypto's discoveryKey(key), written in place.
      copyRow(this.#keyRows, slot, discoveryInWords, 0)
      sodium.crypto_generichash(discoveryOut, HYPERCORE, discoveryIn)
      copyRow(discoveryOutWords, 0, this.#discoveryRows!, slot)
      this.flags[slot]! |= FLAG_DISCOVERY
    }
    return this.#discovery
  }

  #indexDiscoveryKeys(): void {
    const index = new SlotIndex(this.#seed)
    for (let slot = 0; slot < this.#top; slot++) {
      if (!(this.flags[slot]! & FLAG_LIVE)) continue
      this.#discoveryOf(slot)
      index.insert(this.#discoveryRows!, slot)
    }
    this.#byDiscoveryKey = index
  }

  /** Copies another table's record into the next slot here (not indexed). */
  #place(from: FeedTable, slot: number): number {
    const at = this.#top++
    from.#keys.copy(this.#keys, at * KEY_BYTES, slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
    this.lengths[at] = from.lengths[slot]!
    this.seqs[at] = from.seqs[slot]!
    this.flags[at] = from.flags[slot]! & (FLAG_LOCAL | FLAG_NAMED)
    const name = from.#names.get(slot)
    if (name !== undefined) this.#names.set(at, name)
    if (from.flags[slot]! & FLAG_DISCOVERY) {
      this.#discoveryOf(at)
      from.#discovery!.copy(
        this.#discovery!,
        at * KEY_BYTES,
        slot * KEY_BYTES,
        (slot + 1) * KEY_BYTES
      )
      this.flags[at]! |= FLAG_DISCOVERY
    }
    return at
  }

  /** Slabs and arrays of `capacity` slots, every slot where it was (the index stays valid). */
  #grow(capacity: number): void {
    const keys = Buffer.alloc(capacity * KEY_BYTES)
    keys.set(this.#keys)
    this.#keys = keys
    this.#keyRows = rowsOf(keys)
    if (this.#discovery !== null) {
      const discovery = Buffer.alloc(capacity * KEY_BYTES)
      discovery.set(this.#discovery)
      this.#discovery = discovery
      this.#discoveryRows = rowsOf(discovery)
    }
    this.lengths = grown(Float64Array, this.lengths, capacity)
    this.seqs = grown(Float64Array, this.seqs, capacity)
    this.flags = grown(Uint8Array, this.flags, capacity)
    // Views of the old slabs keep their bytes; the feeds let go of theirs so that those can go.
    for (const feed of this.feeds) feed?.unview()
  }

  /**
   * New slabs and arrays of `capacity` slots holding the live records, in
   * slot order, removed slots dropped (the old rows stay as they are for the
   * views handed out).
   */
  #rebuild(capacity: number): void {
    const old = { keys: this.#keys, discovery: this.#discovery, names: this.#names }
    const { lengths, seqs, flags, feeds } = this
    const top = this.#top
    this.#keys = Buffer.alloc(capacity * KEY_BYTES)
    this.#keyRows = rowsOf(this.#keys)
    this.#discovery = old.discovery === null ? null : Buffer.alloc(capacity * KEY_BYTES)
    this.#discoveryRows = this.#discovery === null ? null : rowsOf(this.#discovery)
    this.lengths = new Float64Array(capacity)
    this.seqs = new Float64Array(capacity)
    this.flags = new Uint8Array(capacity)
    this.feeds = []
    this.#names = new Map()
    this.#byKey = new SlotIndex(this.#seed)
    this.#byDiscoveryKey = null
    this.#top = 0
    this.#removed = 0
    for (let slot = 0; slot < top; slot++) {
      if (!(flags[slot]! & FLAG_LIVE)) continue
      const at = this.#top++
      old.keys.copy(this.#keys, at * KEY_BYTES, slot * KEY_BYTES, (slot + 1) * KEY_BYTES)
      if (old.discovery !== null) {
        old.discovery.copy(
          this.#discovery!,
          at * KEY_BYTES,
          slot * KEY_BYTES,
          (slot + 1) * KEY_BYTES
        )
      }
      this.lengths[at] = lengths[slot]!
      this.seqs[at] = seqs[slot]!
      this.flags[at] = flags[slot]!
      const name = old.names.get(slot)
      if (name !== undefined) this.#names.set(at, name)
      const feed = feeds[slot] ?? null
      if (feed !== null) {
        feed.slot = at
        feed.unview()
      }
      this.feeds[at] = feed
      this.#byKey.insert(this.#keyRows, at)
    }
    if (old.discovery !== null) this.#indexDiscoveryKeys()
  }
}

/** The slab seen as 32-bit words (native order, as the probe row is). */
function rowsOf(slab: Buffer): Int32Array {
  return new Int32Array(slab.buffer, slab.byteOffset, slab.byteLength / 4)
}

function grown<T extends Float64Array | Uint8Array>(
  Type: new (length: number) => T,
  array: T,
  capacity: number
): T {
  const next = new Type(capacity)
  next.set(array)
  return next
}
