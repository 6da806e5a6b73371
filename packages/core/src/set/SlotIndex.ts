/**
 * Slots by key: an open-addressing table (linear probing over an
 * Int32Array) from 32-byte keys to the slots of a FeedTable, the keys living
 * in the table's slab as rows of eight 32-bit words. Hashed over the whole
 * key under a random secret (a peer choosing keys cannot make probes long
 * without knowing it); a hit is verified word by word.
 */
import sodium from 'sodium-universal'

export const KEY_BYTES = 32
export const KEY_WORDS = KEY_BYTES / 4

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
/** Value of each hex digit by char code (-1: not one). */
const HEX_DIGITS = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_DIGITS['0123456789abcdef'.charCodeAt(i)] = i
  HEX_DIGITS['0123456789ABCDEF'.charCodeAt(i)] = i
}

/** Secret multipliers of the index hash (odd), one per key word, and a start value. */
export function indexSeed(): Int32Array {
  const seed = new Int32Array(KEY_WORDS + 1)
  sodium.randombytes_buf(Buffer.from(seed.buffer))
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
export function copyRow(source: Int32Array, from: number, target: Int32Array, to: number): void {
  for (let i = 0; i < KEY_WORDS; i++) target[to * KEY_WORDS + i] = source[from * KEY_WORDS + i]!
}

function rowsEqual(a: Int32Array, at: number, b: Int32Array, bt: number): boolean {
  for (let i = 0; i < KEY_WORDS; i++) if (a[at + i] !== b[bt + i]) return false
  return true
}

/** The slab seen as 32-bit words (native order, as the probe row is). */
export function rowsOf(slab: Buffer): Int32Array {
  return new Int32Array(slab.buffer, slab.byteOffset, slab.byteLength / 4)
}

/**
 * Slots by key: open addressing with linear probing over an Int32Array,
 * the rows (keys) living in the table's slab. Not iterable; it only answers
 * "which slot holds this row".
 */
export class SlotIndex {
  #entries = new Int32Array(16).fill(EMPTY)
  /** Entries live or gone. */
  #used = 0
  #size = 0
  readonly #seed: Int32Array

  constructor(seed: Int32Array) {
    this.#seed = seed
  }

  /** The slot of `key` (32 bytes), or -1. */
  findKey(rows: Int32Array, key: Uint8Array): number {
    if (key.byteLength !== KEY_BYTES) return -1
    probeBytes.set(key)
    return this.find(rows, probeWords, 0)
  }

  /** The slot of the key in hex (64 digits), or -1. */
  findHex(rows: Int32Array, id: string): number {
    return probeHex(id) ? this.find(rows, probeWords, 0) : -1
  }

  /** The slot whose row in `rows` equals row `at` of `probe`, or -1. */
  find(rows: Int32Array, probe: Int32Array, at: number): number {
    const entries = this.#entries
    const mask = entries.length - 1
    for (let i = hashRow(probe, at, this.#seed) & mask; ; i = (i + 1) & mask) {
      const slot = entries[i]!
      if (slot === EMPTY) return -1
      if (slot !== GONE && rowsEqual(rows, slot * KEY_WORDS, probe, at)) return slot
    }
  }

  /** Room for `count` more entries without a rebuild. */
  reserve(rows: Int32Array, count: number): void {
    if (this.#used + count > this.#entries.length * MAX_LOAD)
      this.#rebuild(rows, this.#size + count)
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
