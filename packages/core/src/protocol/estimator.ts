/**
 * Difference-size estimator: a tug-of-war (AMS) sketch of k signed counters.
 * Each element adds ±1 to every counter, the sign of counter i being bit i of
 * a keyed 64-bit hash of the element (SipHash-2-4 under the salt; counters 64
 * and up use further keys derived from it). The sketch is linear, so it is
 * kept up to date as the set changes, and a − b is the sketch of the symmetric
 * difference D: E[(a_i − b_i)²] = |D|.
 *
 * Variance: with d = |D|, (a_i − b_i)² has variance 2d² − 2d, so the mean over
 * k counters has relative standard deviation √(2/k)·√(1 − 1/d) ≈ √(2/k):
 * 0.25 for k = 32. Good for sizing a first batch of RIBLT symbols, not for
 * anything that must be exact (d = 0 and d = 1 are exact).
 *
 * Both peers must build their sketches with the same salt and k. The salt is
 * stable for the life of the set, not per connection.
 */
import type { Encoding, EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import sodium from 'sodium-universal'
import { hash64 } from './riblt.js'

/** 128 counters: relative sd 0.125 (notes/riblt.md: how the first batch was sized). */
export const DEFAULT_SKETCH_COUNTERS = 128
export const MAX_SKETCH_COUNTERS = 256

/** A tug-of-war sketch of a set of byte strings. */
export class DifferenceSketch {
  readonly #counters: Int32Array
  /** One 16-byte SipHash key per 64 counters; the first is the salt itself. */
  readonly #keys: Buffer[] = []

  constructor(salt: Buffer, k: number = DEFAULT_SKETCH_COUNTERS) {
    if (salt.byteLength !== 16) throw new RangeError('salt must be 16 bytes')
    if (!Number.isInteger(k) || k < 1 || k > MAX_SKETCH_COUNTERS) {
      throw new RangeError(`k must be an integer in [1, ${MAX_SKETCH_COUNTERS}]`)
    }
    this.#counters = new Int32Array(k)
    this.#keys.push(Buffer.from(salt))
    for (let b = 1; b * 64 < k; b++) {
      const key = Buffer.alloc(16)
      sodium.crypto_generichash(key, Buffer.from(`multifeed/1 sketch key ${b}`), salt)
      this.#keys.push(key)
    }
  }

  /** Number of counters. */
  get k(): number {
    return this.#counters.length
  }

  /** A copy of the counters (what is sent to the remote). */
  get counters(): Int32Array {
    return this.#counters.slice()
  }

  /** Adds an element; the caller guarantees it was not in the set. */
  add(element: Buffer): void {
    this.#update(element, 1)
  }

  /** Removes an element; the caller guarantees it was in the set. */
  remove(element: Buffer): void {
    this.#update(element, -1)
  }

  #update(element: Buffer, d: number): void {
    const counters = this.#counters
    const k = counters.length
    for (let b = 0; b < this.#keys.length; b++) {
      const h = hash64(element, this.#keys[b]!)
      // Counter b·64 + i takes bit i of lo (i < 32), then bit i − 32 of hi.
      for (let half = 0, word = h.lo; half < 2; half++, word = h.hi) {
        const base = b * 64 + half * 32
        const end = Math.min(k, base + 32)
        for (let i = base, w = word; i < end; i++, w >>>= 1) counters[i]! += w & 1 ? -d : d
      }
    }
  }
}

/**
 * The estimated size of the symmetric difference of the sets sketched by `a`
 * and `b` (same salt, same k): the mean of (a_i − b_i)², unbiased.
 */
export function estimateDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError('sketches must have the same, non-zero number of counters')
  }
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! - b[i]!
    sum += x * x
  }
  return sum / a.length
}

const zigzag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0

/**
 * compact-encoding of a sketch's counters: the count k as a varint, then k
 * zigzag varints. Decoding throws a plain Error (for the caller to wrap)
 * unless there are exactly `k` counters, each of magnitude ≤ `maxMagnitude`
 * (default 2³¹ − 1; a caller that bounds its set size should pass that).
 */
export function sketchEncoding(
  k: number = DEFAULT_SKETCH_COUNTERS,
  maxMagnitude = 2 ** 31 - 1
): Encoding<Int32Array> {
  return {
    preencode(state: State, counters: Int32Array) {
      c.uint.preencode(state, counters.length)
      for (const v of counters) c.uint.preencode(state, zigzag(v))
    },
    encode(state: State, counters: Int32Array) {
      if (counters.length !== k) throw new RangeError(`a sketch has ${k} counters`)
      c.uint.encode(state, counters.length)
      for (const v of counters) c.uint.encode(state, zigzag(v))
    },
    decode(state: State): Int32Array {
      const n = c.uint.decode(state)
      if (n !== k) throw new Error(`Sketch has ${n} counters, expected ${k}`)
      const counters = new Int32Array(k)
      for (let i = 0; i < k; i++) {
        const z = c.uint.decode(state)
        const v = z > 0xffffffff ? Number.POSITIVE_INFINITY : (z >>> 1) ^ -(z & 1)
        if (Math.abs(v) > maxMagnitude) throw new Error('Sketch counter out of range')
        counters[i] = v
      }
      return counters
    }
  }
}

/** Below this mean estimate the difference is small enough to be read exactly (see likelyDifference). */
const SMALL_DIFFERENCE = 12
/** ln(n!) for n ≤ 64 (the largest small difference tried is 2·12 + 8 = 32). */
const LOG_FACTORIAL = (() => {
  const table = [0]
  for (let n = 1; n <= 64; n++) table.push(table[n - 1]! + Math.log(n))
  return table
})()

/**
 * The size of the symmetric difference, read exactly when it is small: each
 * counter difference a_i − b_i is a sum of d independent ±1 (one per
 * differing element), so it has d's parity, |a_i − b_i| ≤ d, and d is the
 * most likely value given all k counters (binomial likelihood). With 128
 * counters this is the true d nearly always for d ≤ 12 (d = 2 against d = 4:
 * (7/8)^128 ≈ 4·10⁻⁸), where the mean of squares (estimateDifference) still
 * spreads by ±12 % and a first batch sized from it varied with the
 * connection. Larger differences, or counters that fit no d (a peer's
 * sketch is a claim), get the mean.
 */
export function likelyDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mean = estimateDifference(a, b)
  if (mean > SMALL_DIFFERENCE) return mean
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  const parity = max % 2
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) % 2 !== parity) return mean
  }
  let best = -1
  let bestLog = Number.NEGATIVE_INFINITY
  for (let d = max; d <= 2 * SMALL_DIFFERENCE + 8; d += 2) {
    let log = -a.length * d * Math.LN2
    for (let i = 0; i < a.length; i++) {
      const up = (d + (a[i]! - b[i]!)) / 2
      log += LOG_FACTORIAL[d]! - LOG_FACTORIAL[up]! - LOG_FACTORIAL[d - up]!
    }
    if (log > bestLog) {
      bestLog = log
      best = d
    }
  }
  return best < 0 ? mean : best
}
