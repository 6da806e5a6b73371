/**
 * Rateless Invertible Bloom Lookup Table (Yang, Gilad, Alizadeh, "Practical
 * Rateless Set Reconciliation", SIGCOMM 2024). The sender encodes its set
 * into an endless stream of coded symbols; the receiver subtracts its own set
 * and peels the difference out of the first ~1.35–1.75·d symbols, whatever d
 * is, so nobody has to know d in advance.
 *
 * Elements are fixed-width byte strings. Each has a 64-bit SipHash-2-4
 * (`crypto_shorthash`) under a 16-byte salt: both peers must use the same salt.
 * Element `x` is in coded symbol 0 and then in the increasing index sequence
 * drawn from `x`'s hash, where index i is present with probability ≈ 1/(1+i/2):
 * from the last index j, the gap is ⌈(j + 1.5)(u^(-1/2) − 1)⌉ (at least 1)
 * with u uniform in (0, 1). u is (r + 0.5)/2^32, r the next output of
 * xoroshiro64** seeded with the hash (hi, lo). Integer steps are 32-bit, the
 * gap uses one IEEE-754 sqrt (correctly rounded), so both peers compute the
 * same sequence exactly. Not compatible with the Go reference, on purpose.
 */
import type { Encoding, EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import sodium from 'sodium-universal'

/** One coded symbol: XOR of its elements, XOR of their hashes, and how many there are. */
export interface CodedSymbol {
  sum: Buffer
  /** High and low 32 bits of the XOR of the elements' hashes, as uint32. */
  hashHi: number
  hashLo: number
  count: number
}

export interface RibltDecoderOptions {
  /** Most elements (both sides together) the decoder recovers before it gives up. Default 100 000. */
  maxDifferences?: number
  /** Most coded symbols it accepts before it gives up. Default 3·maxDifferences + 1024. */
  maxSymbols?: number
}

const shorthash = sodium.crypto_shorthash
const hashOut = Buffer.alloc(8)
/** The last hash computed by `hash64`. */
const H = { hi: 0, lo: 0 }

/** SipHash-2-4 of `input` under `salt` into `H`: lo = bytes 0–3, hi = bytes 4–7, little-endian. */
export function hash64(input: Uint8Array, salt: Buffer): { hi: number; lo: number } {
  shorthash(hashOut, input, salt)
  H.lo = hashOut.readUInt32LE(0)
  H.hi = hashOut.readUInt32LE(4)
  return H
}

/** Throws a RangeError (a caller bug, never peer input) unless `ok`. */
function must(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message)
}

function checkArgs(width: number, salt?: Buffer): void {
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
class Rows {
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
class Table extends Rows {
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
class Members extends Rows {
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

function symbolAt(t: Table, j: number): CodedSymbol {
  const w = t.width
  const sum = Buffer.from(t.bytes.subarray(j * w, (j + 1) * w))
  return { sum, hashHi: t.hi[j]! >>> 0, hashLo: t.lo[j]! >>> 0, count: t.num[j]! }
}

/** Encodes one set into coded symbols. Add every element before the first `symbols()`. */
export class RibltEncoder {
  readonly #members: Members
  readonly #salt: Buffer
  #advanced = 0

  constructor(
    readonly width: number,
    salt: Buffer
  ) {
    checkArgs(width, salt)
    this.#members = new Members(width)
    this.#salt = Buffer.from(salt)
  }

  /** Adds an element (exactly `width` bytes) of the set; the caller guarantees it is new. */
  add(element: Buffer): void {
    must(element.byteLength === this.width, `element must be ${this.width} bytes`)
    if (this.#advanced > 0) throw new Error('RibltEncoder: add() after symbols()')
    const h = hash64(element, this.#salt)
    this.#members.push(element, h.hi, h.lo, 1)
  }

  /** Coded symbols [from, to): can be called again later with a higher range (rateless). */
  symbols(from: number, to: number): CodedSymbol[] {
    must(Number.isSafeInteger(from) && Number.isSafeInteger(to), 'from, to must be integers')
    must(from >= 0 && to >= from, 'symbols(from, to) needs 0 ≤ from ≤ to')
    const m = this.#members
    if (from < this.#advanced) for (let i = 0; i < m.length; i++) m.reset(i)
    const t = new Table(this.width)
    t.base = from
    t.grow(to - from)
    m.apply(t, from, to)
    this.#advanced = Math.max(to, 1)
    return Array.from({ length: to - from }, (_, j) => symbolAt(t, j))
  }
}

/**
 * Decodes the difference between a remote set (its coded symbols) and ours.
 * Incremental: symbols arrive in batches; the table holds remote − local, pure
 * symbols are peeled from a worklist, and each recovered element joins the
 * members so that it is subtracted from later symbols too. Never throws on
 * what the remote sends: an inconsistent stream, or one past a limit, ends in
 * `failed` (and the decoder ignores everything after).
 */
export class RibltDecoder {
  readonly #members: Members
  readonly #table: Table
  readonly #salt: Buffer
  /** Recovered elements by their bytes (latin1), with their net sign: + remote only, − local only. */
  readonly #recovered = new Map<string, { element: Buffer; net: number }>()
  #recoveries = 0
  readonly #maxDifferences: number
  readonly #maxSymbols: number
  #failed = false
  #changes = 0
  #verified = -1

  constructor(
    readonly width: number,
    salt: Buffer,
    opts: RibltDecoderOptions = {}
  ) {
    checkArgs(width, salt)
    this.#members = new Members(width)
    this.#table = new Table(width)
    this.#salt = Buffer.from(salt)
    this.#maxDifferences = opts.maxDifferences ?? 100_000
    this.#maxSymbols = opts.maxSymbols ?? 3 * this.#maxDifferences + 1024
  }

  /** Coded symbols received so far: the next batch starts at this index. */
  get received(): number {
    return this.#table.length
  }

  /** The stream was inconsistent or went past a limit; nothing more is decoded. */
  get failed(): boolean {
    return this.#failed
  }

  /** True once every difference is recovered (the subtracted, peeled table is empty). */
  get decoded(): boolean {
    const t = this.#table
    if (this.#failed || t.length === 0 || t.dirty !== 0) return false
    if (this.#verified !== this.#changes) {
      if (t.bytes.subarray(0, t.length * this.width).some((b) => b !== 0)) return false
      this.#verified = this.#changes
    }
    return true
  }

  /** Adds an element of our own set (any time, also after symbols arrived). */
  addLocal(element: Buffer): void {
    must(element.byteLength === this.width, `element must be ${this.width} bytes`)
    const h = hash64(element, this.#salt)
    this.#enter(element, h.hi, h.lo, -1)
    this.#peel()
  }

  /** The remote's coded symbols, in order, starting at index `received`. */
  addRemote(symbols: CodedSymbol[]): void {
    const t = this.#table
    let sane = t.length + symbols.length <= this.#maxSymbols
    for (const s of symbols) {
      must(s.sum.byteLength === this.width, `sum must be ${this.width} bytes`)
      if (!Number.isSafeInteger(s.count) || Math.abs(s.count) > 2 ** 40) sane = false
    }
    if (!sane) this.#fail()
    if (this.#failed) return
    const from = t.length
    t.grow(symbols.length)
    for (const [k, s] of symbols.entries()) {
      t.bytes.set(s.sum, (from + k) * this.width)
      t.hi[from + k] = s.hashHi
      t.lo[from + k] = s.hashLo
      t.num[from + k] = s.count
      t.note(from + k, false)
    }
    this.#changes++
    this.#members.apply(t, from, t.length)
    this.#peel()
  }

  /** Elements only the remote has (complete once `decoded`). */
  remoteOnly(): Buffer[] {
    return [...this.#recovered.values()].filter((r) => r.net > 0).map((r) => r.element)
  }

  /** Elements only we have (complete once `decoded`). */
  localOnly(): Buffer[] {
    return [...this.#recovered.values()].filter((r) => r.net < 0).map((r) => r.element)
  }

  #fail(): void {
    this.#failed = true
    this.#table.candidates.length = 0
  }

  /** A new member, applied with `delta` to every symbol received so far. */
  #enter(element: Uint8Array, hi: number, lo: number, delta: number): void {
    const m = this.#members
    const i = m.push(element, hi, lo, delta)
    this.#changes++
    m.apply(this.#table, 0, this.#table.length, i, i + 1)
  }

  #peel(): void {
    const t = this.#table
    const w = this.width
    while (t.candidates.length > 0 && !this.#failed) {
      const j = t.candidates.pop()!
      const cnt = t.num[j]!
      if (cnt !== 1 && cnt !== -1) continue
      const sum = t.bytes.subarray(j * w, (j + 1) * w)
      const h = hash64(sum, this.#salt)
      if (h.hi !== t.hi[j]! >>> 0 || h.lo !== t.lo[j]! >>> 0) continue
      if (++this.#recoveries > this.#maxDifferences) this.#fail()
      else {
        const element = Buffer.from(sum)
        // Recovered twice with opposite signs (a local element added late): they cancel.
        const key = element.toString('latin1')
        const r = this.#recovered.get(key) ?? { element, net: 0 }
        r.net += cnt
        if (r.net === 0) this.#recovered.delete(key)
        else this.#recovered.set(key, r)
        // Removed from every symbol so far (which empties j) and from every later one.
        this.#enter(element, h.hi, h.lo, -cnt)
      }
    }
  }
}

const zigzag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0

/**
 * compact-encoding of one coded symbol of `width`: sum (width bytes), the hash
 * (8 bytes: lo then hi, little-endian), count as a zigzag varint (int32 only).
 */
export function codedSymbolEncoding(width: number): Encoding<CodedSymbol> {
  checkArgs(width)
  return {
    preencode(state: State, s: CodedSymbol) {
      state.end += width + 8
      c.uint.preencode(state, zigzag(s.count))
    },
    encode(state: State, s: CodedSymbol) {
      must(s.sum.byteLength === width && (s.count | 0) === s.count, 'bad sum width or count')
      const b = state.buffer!
      b.set(s.sum, state.start)
      b.writeUInt32LE(s.hashLo >>> 0, state.start + width)
      b.writeUInt32LE(s.hashHi >>> 0, state.start + width + 4)
      state.start += width + 8
      c.uint.encode(state, zigzag(s.count))
    },
    decode(state: State): CodedSymbol {
      const b = state.buffer
      if (b === null || state.end - state.start < width + 8) throw new Error('Out of bounds')
      const sum = Buffer.from(b.subarray(state.start, state.start + width))
      const hashLo = b.readUInt32LE(state.start + width)
      const hashHi = b.readUInt32LE(state.start + width + 4)
      state.start += width + 8
      const z = c.uint.decode(state)
      if (z > 0xffffffff) throw new Error('Coded symbol count out of range')
      return { sum, hashHi, hashLo, count: (z >>> 1) ^ -(z & 1) }
    }
  }
}
