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
import { type CodedSymbol, checkArgs, hash64, Members, must, symbolAt, Table } from './ribltRows.js'

export { RibltDecoder, type RibltDecoderOptions } from './ribltDecoder.js'
export { type CodedSymbol, hash64 } from './ribltRows.js'

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
