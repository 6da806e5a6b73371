/**
 * The flat tables behind the RIBLT (riblt.ts): coded symbols and elements in
 * columns, the keyed hash, and the mapping of an element to the symbols it
 * is in. Internal to protocol/: the encoder, the decoder and the symbol
 * window (SymbolWindow.ts) share them.
 */
import sodium from 'sodium-universal'

/** One coded symbol: XOR of its elements, XOR of their hashes, and how many there are. */
export interface CodedSymbol {
  sum: Buffer
  /** High and low 32 bits of the XOR of the elements' hashes, as uint32. */
  hashHi: number
  hashLo: number
  count: number
}

/** Coded symbols [0, size) of our own set, kept outside the decoder (SymbolWindow.ts). */
export interface LocalRows {
  readonly size: number
  /** Our symbols [from, to), to ≤ size, as a table with `base` = from (read only). */
  rows(from: number, to: number): Table
}

const shorthash = sodium.crypto_shorthash
const hashOut = Buffer.alloc(8)
/** The last hash computed by `hash64`. */
const H = { hi: 0, lo: 0 }

/**
 * Element hashes computed so far (process-wide): the work of a
 * reconciliation is counted in them (a test asserts it follows d, not n).
 */
export const hashes = { count: 0 }

/** SipHash-2-4 of `input` under `salt` into `H`: lo = bytes 0–3, hi = bytes 4–7, little-endian. */
export function hash64(input: Uint8Array, salt: Buffer): { hi: number; lo: number } {
  hashes.count++
  shorthash(hashOut, input, salt)
  H.lo = hashOut.readUInt32LE(0)
  H.hi = hashOut.readUInt32LE(4)
  return H
}

/** Throws a RangeError (a caller bug, never peer input) unless `ok`. */
export function must(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message)
}

export function checkArgs(width: number, salt?: Buffer): void {
  must(Number.isInteger(width) && width >= 1, 'width must be a positive integer')
  must(salt === undefined || salt.byteLength === 16, 'salt must be 16 bytes')
}

type Column = Int32Array | Float64Array | Uint8Array

/** `a` copied into a zeroed array of the same type and `size` entries. */
function grown<T extends Column>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size)
  b.set(a)
  return b
}

/** Flat rows of `width` bytes, a 64-bit hash (hi, lo) and a signed number `num` each. */
export class Rows {
  length = 0
  bytes: Uint8Array
  /** An Int32Array view of `bytes` for 4-byte XORs, when the width allows it. */
  words: Int32Array | null
  hi = new Int32Array(16)
  lo = new Int32Array(16)
  num = new Float64Array(16)

  constructor(readonly width: number) {
    this.bytes = new Uint8Array(16 * width)
    this.words = width % 4 === 0 ? new Int32Array(this.bytes.buffer) : null
  }

  /** Appends `n` zeroed rows. */
  grow(n: number): void {
    const need = this.length + n
    if (need > this.hi.length) {
      const cap = Math.max(need, this.hi.length * 2)
      this.bytes = grown(this.bytes, cap * this.width)
      if (this.words !== null) this.words = new Int32Array(this.bytes.buffer)
      this.hi = grown(this.hi, cap)
      this.lo = grown(this.lo, cap)
      this.num = grown(this.num, cap)
      this.more(cap)
    }
    this.length = need
  }

  /** Grows the subclass's own columns to `cap`. */
  more(_cap: number): void {}
}

/** Coded symbols [base, base + length); `num` is the count. */
export class Table extends Rows {
  base = 0
  /** Symbols whose count or hash is non-zero. */
  dirty = 0
  /** Indices whose count became ±1: purity candidates (the decoder's worklist). */
  readonly candidates: number[] = []

  note(j: number, wasDirty: boolean): void {
    const cnt = this.num[j]!
    const isDirty = cnt !== 0 || this.hi[j] !== 0 || this.lo[j] !== 0
    if (isDirty !== wasDirty) this.dirty += isDirty ? 1 : -1
    if (cnt === 1 || cnt === -1) this.candidates.push(j)
  }
}

/** Elements; `num` is the delta they add to a count, (s0, s1, next) their mapping state. */
export class Members extends Rows {
  s0 = new Int32Array(16)
  s1 = new Int32Array(16)
  next = new Float64Array(16)

  override more(cap: number): void {
    this.s0 = grown(this.s0, cap)
    this.s1 = grown(this.s1, cap)
    this.next = grown(this.next, cap)
  }

  push(element: Uint8Array, hi: number, lo: number, delta: number): number {
    const i = this.length
    this.grow(1)
    this.bytes.set(element, i * this.width)
    this.hi[i] = hi
    this.lo[i] = lo
    this.num[i] = delta
    this.reset(i)
    return i
  }

  /** Forgets every member (keeps the capacity). */
  clear(): void {
    this.length = 0
  }

  /** Back to index 0 (xoroshiro's state must not be all zero). */
  reset(i: number): void {
    const hi = this.hi[i]!
    const lo = this.lo[i]!
    this.s0[i] = hi === 0 && lo === 0 ? 0x9e3779b9 : hi
    this.s1[i] = lo
    this.next[i] = 0
  }

  /** Applies members [first, last) to the symbols of `t` in [from, to); their mappings end ≥ to. */
  apply(t: Table, from: number, to: number, first = 0, last = this.length): void {
    const w = this.width
    const W = w >> 2
    const { words: tw, bytes: sums } = t
    const { words: mw, bytes } = this
    for (let i = first; i < last; i++) {
      let idx = this.next[i]!
      if (idx >= to) continue
      let s0 = this.s0[i]!
      let s1 = this.s1[i]!
      const hi = this.hi[i]!
      const lo = this.lo[i]!
      const d = this.num[i]!
      while (idx < to) {
        if (idx >= from) {
          const j = idx - t.base
          const was = t.num[j] !== 0 || t.hi[j] !== 0 || t.lo[j] !== 0
          if (tw !== null && mw !== null) {
            for (let k = 0, a = j * W, b = i * W; k < W; k++) tw[a + k]! ^= mw[b + k]!
          } else {
            for (let k = 0, a = j * w, b = i * w; k < w; k++) sums[a + k]! ^= bytes[b + k]!
          }
          t.hi[j]! ^= hi
          t.lo[j]! ^= lo
          t.num[j]! += d
          t.note(j, was)
        }
        // xoroshiro64** step, then the gap to the next index.
        const r = Math.imul(rotl(Math.imul(s0, 0x9e3779bb), 5), 5) >>> 0
        s1 ^= s0
        s0 = rotl(s0, 26) ^ s1 ^ (s1 << 9)
        s1 = rotl(s1, 13)
        idx += Math.max(1, Math.ceil((idx + 1.5) * (65536 / Math.sqrt(r + 0.5) - 1)))
      }
      this.s0[i] = s0
      this.s1[i] = s1
      this.next[i] = idx
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

export function symbolAt(t: Table, j: number): CodedSymbol {
  const w = t.width
  const sum = Buffer.from(t.bytes.subarray(j * w, (j + 1) * w))
  return { sum, hashHi: t.hi[j]! >>> 0, hashLo: t.lo[j]! >>> 0, count: t.num[j]! }
}
