/**
 * Where a FeedSet keeps its feeds: one record per feed in parallel arrays
 * (struct of arrays), indexed by a slot. Keys sit in one growable slab of
 * 32-byte rows, lengths and positions in Float64Arrays, flags in a
 * Uint8Array, the few local names in a map; a feed's hex id and discovery
 * key are made when first asked for (discovery keys then live in a second
 * slab). Lookups by key or discovery key go through a SlotIndex. An
 * encrypted set's feeds carry a 16-byte admission tag each (AdmissionTags.ts),
 * in a third slab made when the first tag is set: a plain set pays nothing.
 *
 * Measured at 100,000 feeds after `Multifeed.open()`: about 90 B of V8
 * heap per feed (the Feed object and two array entries) and 75 B of typed
 * arrays, where a Buffer per key, a hex string and an eight-field object
 * took about 350 B. A read of `feed.key` and `feed.discoveryKey` (every
 * FeedInfo snapshot does) makes a view of each, about 100 B of heap, kept
 * so that the next snapshot allocates nothing.
 *
 * Rows are written once: a slot is never given to another feed, and growing
 * or compacting copies the rows into new slabs, so a view handed out keeps
 * its bytes. Compaction (when removed feeds make up half of the slots) gives
 * live feeds new slots; the Feed object of a removed feed moves its record
 * to a table of its own first, so it stays readable.
 */

import sodium from 'sodium-universal'
import { markAsUntransferable } from '../lifecycle/runtime.js'
import { elementOf } from '../protocol/elements.js'
import { Feed, type FeedRecords } from './Feed.js'
import { copyRow, KEY_BYTES, KEY_WORDS, rowsOf, SlotIndex } from './SlotIndex.js'

const FLAG_LIVE = 1
const FLAG_LOCAL = 2
const FLAG_NAMED = 4
/** The discovery key of the slot is in the discovery slab. */
const FLAG_DISCOVERY = 8
/** The slot's admission tag is in the tag slab. */
const FLAG_TAGGED = 16
/** Bytes of an admission tag. */
const TAG_BYTES = 16

/** Where a slot's key is copied to build its element without a view of the slab. */
const elementKey = Buffer.from(new ArrayBuffer(KEY_BYTES))
const elementKeyWords = new Int32Array(elementKey.buffer, 0, KEY_WORDS)
/** Namespace of hypercore's discovery keys (hypercore-crypto). */
const HYPERCORE = Buffer.from('hypercore')
const discoveryIn = Buffer.from(new ArrayBuffer(KEY_BYTES))
const discoveryInWords = new Int32Array(discoveryIn.buffer, 0, KEY_WORDS)
const discoveryOut = Buffer.from(new ArrayBuffer(KEY_BYTES))
const discoveryOutWords = new Int32Array(discoveryOut.buffer, 0, KEY_WORDS)

/**
 * A slab of `count` key rows. Users get views of it (FeedInfo.key and
 * discoveryKey), so it is marked untransferable: a view passed in a
 * transfer list (postMessage, structuredClone) is copied instead of
 * detaching every key of the set.
 */
function slab(count: number, width = KEY_BYTES): Buffer {
  const rows = Buffer.alloc(count * width)
  markAsUntransferable(rows.buffer)
  return rows
}

export class FeedTable implements FeedRecords {
  /** Keys, 32 bytes per slot. */
  #keys: Buffer
  #keyRows: Int32Array
  /** Discovery keys, 32 bytes per slot, once one is asked for. */
  #discovery: Buffer | null = null
  #discoveryRows: Int32Array | null = null
  /** Admission tags, 16 bytes per slot, once one is set (encrypted sets). */
  #tags: Buffer | null = null
  lengths: Float64Array
  seqs: Float64Array
  flags: Uint8Array
  /** The Feed of each slot (null: removed, or not made yet while loading). */
  feeds: Array<Feed | null> = []
  /** Names by slot, for the few named feeds (our writers). */
  #names = new Map<number, string>()
  /** While true, slots stay where they are (no compaction): a slot is a log position then. */
  keepSlots = false
  /** A moderated set's owner of a feed (its bind records), given by the set; none otherwise. */
  ownerOf: (key: Buffer) => Buffer | null = () => null
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
    this.#keys = slab(capacity)
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
    return this.#byKey.findKey(this.#keyRows, key)
  }

  /** The slot of the live feed with this hex key, or -1. */
  findHex(id: string): number {
    return this.#byKey.findHex(this.#keyRows, id)
  }

  /** The slot of the live feed with this hex discovery key, or -1 (indexes them all on first use). */
  findDiscoveryHex(discoveryId: string): number {
    if (this.#byDiscoveryKey === null) this.#indexDiscoveryKeys()
    return this.#byDiscoveryKey!.findHex(this.#discoveryRows!, discoveryId)
  }

  /** Room for `count` more feeds without growing (a batch read from the log). */
  reserve(count: number): void {
    let capacity = this.flags.length
    while (capacity < this.#top + count) capacity *= 2
    if (capacity > this.flags.length) this.#grow(capacity)
    this.#byKey.reserve(this.#keyRows, count)
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

  /** Takes the next slot for no feed: a position the log gave a record that named a feed twice. */
  skip(): void {
    if (this.#top === this.flags.length) this.#grow(this.flags.length * 2)
    const slot = this.#top++
    this.lengths[slot] = 0
    this.flags[slot] = 0
    this.feeds[slot] = null
    this.#removed++
  }

  /** Records the slot's admission tag (a row is written once: a tagged slot keeps its tag). */
  setTag(slot: number, tag: Uint8Array): void {
    if (this.flags[slot]! & FLAG_TAGGED) return
    this.#tags ??= slab(this.flags.length, TAG_BYTES)
    this.#tags.set(tag, slot * TAG_BYTES)
    this.flags[slot]! |= FLAG_TAGGED
  }

  /** A view of the slot's admission tag row, or null when it has none. */
  tagOf(slot: number): Buffer | null {
    if (!(this.flags[slot]! & FLAG_TAGGED)) return null
    return this.#tags!.subarray(slot * TAG_BYTES, (slot + 1) * TAG_BYTES)
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
      this.#discovery = slab(this.flags.length)
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
    const tag = from.tagOf(slot)
    if (tag !== null) this.setTag(at, tag)
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
    const keys = slab(capacity)
    keys.set(this.#keys)
    this.#keys = keys
    this.#keyRows = rowsOf(keys)
    if (this.#discovery !== null) {
      const discovery = slab(capacity)
      discovery.set(this.#discovery)
      this.#discovery = discovery
      this.#discoveryRows = rowsOf(discovery)
    }
    if (this.#tags !== null) {
      const tags = slab(capacity, TAG_BYTES)
      tags.set(this.#tags)
      this.#tags = tags
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
    const old = {
      keys: this.#keys,
      discovery: this.#discovery,
      tags: this.#tags,
      names: this.#names
    }
    const { lengths, seqs, flags, feeds } = this
    const top = this.#top
    this.#keys = slab(capacity)
    this.#keyRows = rowsOf(this.#keys)
    this.#discovery = old.discovery === null ? null : slab(capacity)
    this.#discoveryRows = this.#discovery === null ? null : rowsOf(this.#discovery)
    this.#tags = old.tags === null ? null : slab(capacity, TAG_BYTES)
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
      if (old.tags !== null) {
        old.tags.copy(this.#tags!, at * TAG_BYTES, slot * TAG_BYTES, (slot + 1) * TAG_BYTES)
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

function grown<T extends Float64Array | Uint8Array>(
  Type: new (length: number) => T,
  array: T,
  capacity: number
): T {
  const next = new Type(capacity)
  next.set(array)
  return next
}
