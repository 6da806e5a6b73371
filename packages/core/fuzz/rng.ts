/**
 * A seeded PRNG (mulberry32) and the draws the fuzzer makes with it. Every
 * decision of a run comes from here, so a seed names a run: the same seed
 * makes the same choices in the same order (the bytes differ, since keys of
 * the Noise handshake are fresh, but not the sequence of operations).
 */
export class Rng {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A derived, independent generator (for one episode, one connection). */
  static derive(seed: number, ...labels: number[]): Rng {
    let h = (seed ^ 0x9e3779b9) >>> 0
    for (const label of labels) {
      h = Math.imul(h ^ (label >>> 0), 0x85ebca6b) >>> 0
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
      h = (h ^ (h >>> 16)) >>> 0
    }
    return new Rng(h)
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list')
    return items[this.int(items.length)]!
  }

  /** A key of `weights` drawn with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    const entries = Object.entries(weights) as [K, number][]
    let total = 0
    for (const [, w] of entries) total += w
    let x = this.float() * total
    for (const [k, w] of entries) {
      x -= w
      if (x < 0) return k
    }
    return entries[entries.length - 1]![0]
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i += 4) {
      const v = this.u32()
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff
    }
    return out
  }

  /** A length as peers send them: small, edge values, or huge. */
  length(): number {
    switch (this.int(6)) {
      case 0:
        return 0
      case 1:
        return this.range(1, 4)
      case 2:
        return this.range(5, 1000)
      case 3:
        return this.pick([2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 31])
      default:
        return this.range(1, 20)
    }
  }

  /** A count as peers send them: edge values around the limits. */
  count(limit: number): number {
    switch (this.int(5)) {
      case 0:
        return this.pick([0, 1, limit - 1, limit, limit + 1])
      case 1:
        return this.pick([2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1])
      default:
        return this.range(1, 16)
    }
  }
}
