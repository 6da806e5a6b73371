import c from 'compact-encoding'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DifferenceSketch,
  estimateDifference,
  likelyDifference,
  MAX_SKETCH_COUNTERS,
  sketchEncoding
} from '../src/protocol/estimator.js'
import { bytes, rng } from './seeded.js'

function sketch(salt: Buffer, elements: Buffer[], k?: number): DifferenceSketch {
  const s = new DifferenceSketch(salt, k)
  for (const x of elements) s.add(x)
  return s
}

/** The estimate for two sets differing in d elements (plus a shared part), under a seeded salt. */
function trial(seed: number, d: number, k?: number, estimate = estimateDifference): number {
  const next = rng(seed)
  const salt = bytes(next, 16)
  const common = Array.from({ length: 20 }, () => bytes(next, 40))
  const onlyA = Array.from({ length: Math.ceil(d / 2) }, () => bytes(next, 40))
  const onlyB = Array.from({ length: Math.floor(d / 2) }, () => bytes(next, 40))
  const a = sketch(salt, [...common, ...onlyA], k)
  const b = sketch(salt, [...onlyB, ...common], k)
  return estimate(a.counters, b.counters)
}

describe('difference estimator', () => {
  it('add then remove leaves every counter at zero, in any order', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 48 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: MAX_SKETCH_COUNTERS }),
        (salt, raw, k) => {
          const xs = raw.map((x) => Buffer.from(x))
          const s = sketch(Buffer.from(salt), xs, k)
          for (const x of xs.slice().reverse()) s.remove(x)
          expect([...s.counters]).toEqual(new Array(k).fill(0))
        }
      ),
      { seed: 1, numRuns: 100 }
    )
  })

  it('is linear: the sketch of a set does not depend on insertion order', () => {
    const next = rng(2)
    const salt = bytes(next, 16)
    const xs = Array.from({ length: 300 }, () => bytes(next, 40))
    const a = sketch(salt, xs, 100)
    const b = sketch(salt, xs.slice().reverse(), 100)
    expect(a.counters).toEqual(b.counters)
    expect(a.k).toBe(100)
    expect(a.counters.some((v) => v !== 0)).toBe(true)
  })

  it('is exact for d = 0 and d = 1', () => {
    for (let t = 0; t < 50; t++) {
      expect(trial(t, 0)).toBe(0)
      expect(trial(t, 1)).toBe(1)
    }
  })

  it('reads small differences exactly from 128 counters (the mean of squares spreads ±12 %)', () => {
    for (const d of [0, 1, 2, 3, 4]) {
      const mean = new Set<number>()
      for (let t = 0; t < 300; t++) {
        expect(trial(d * 7919 + t, d, 128, likelyDifference)).toBe(d)
        mean.add(trial(d * 7919 + t, d, 128))
      }
      if (d >= 2) expect(mean.size).toBeGreaterThan(1)
    }
    // Counters that fit no small d (mixed parities: a claim, not a set) get the mean.
    const odd = [1, 2, ...new Array(126).fill(0)]
    expect(likelyDifference(odd, new Array(128).fill(0))).toBe(
      estimateDifference(odd, new Array(128).fill(0))
    )
  })

  it('is unbiased over seeded trials (mean within 3 standard errors)', () => {
    for (const [d, k] of [
      [10, 32],
      [100, 32],
      [100, 8],
      [300, 100]
    ] as const) {
      const trials = 1000
      let sum = 0
      for (let t = 0; t < trials; t++) sum += trial(d * 7919 + k * 104_729 + t, d, k)
      const mean = sum / trials
      const se = (d * Math.sqrt((2 * (1 - 1 / d)) / k)) / Math.sqrt(trials)
      expect(Math.abs(mean - d)).toBeLessThan(3 * se)
    }
  })

  it('underestimates by half rarely (k = 32, 1000 trials; table in notes/riblt.md)', () => {
    const rows: string[] = []
    const below = new Map<number, number>()
    for (const d of [1, 2, 10, 100, 1000]) {
      const trials = 1000
      const estimates: number[] = []
      for (let t = 0; t < trials; t++) estimates.push(trial(d * 1_000_003 + t, d, 32))
      const low = estimates.filter((e) => e < 0.5 * d).length
      const high = estimates.filter((e) => e > 2 * d).length
      const mean = estimates.reduce((x, y) => x + y, 0) / trials
      const sd = Math.sqrt(estimates.reduce((x, e) => x + (e - mean) ** 2, 0) / trials)
      below.set(d, low)
      rows.push(
        `| ${d} | ${mean.toFixed(1)} | ${(sd / d).toFixed(3)} | ${low / 10}% | ${high / 10}% |`
      )
    }
    console.log(['| d | mean | sd/d | est < d/2 | est > 2d |', ...rows].join('\n'))
    expect(below.get(1)).toBe(0)
    expect(below.get(2)).toBeLessThanOrEqual(5) // P(Bin(32, ½) < 8) ≈ 0.1%
    for (const d of [10, 100, 1000]) expect(below.get(d)).toBeLessThanOrEqual(25) // χ²₃₂ tail ≈ 0.9%
  })

  it('rejects bad construction and mismatched sketches', () => {
    expect(() => new DifferenceSketch(Buffer.alloc(15))).toThrow(RangeError)
    expect(() => new DifferenceSketch(Buffer.alloc(16), 0)).toThrow(RangeError)
    expect(() => new DifferenceSketch(Buffer.alloc(16), MAX_SKETCH_COUNTERS + 1)).toThrow(
      RangeError
    )
    expect(() => estimateDifference([1, 2], [1])).toThrow(RangeError)
    expect(() => estimateDifference([], [])).toThrow(RangeError)
  })
})

describe('sketch codec', () => {
  it('round-trips any counters within range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }).chain((k) =>
          fc.array(fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), {
            minLength: k,
            maxLength: k
          })
        ),
        (values) => {
          const enc = sketchEncoding(values.length)
          const counters = Int32Array.from(values)
          const buf = c.encode(enc, counters)
          expect(c.decode(enc, buf)).toEqual(counters)
          for (let cut = 0; cut < buf.byteLength; cut++) {
            expect(() => c.decode(enc, buf.subarray(0, cut))).toThrow()
          }
        }
      ),
      { seed: 5, numRuns: 200 }
    )
  })

  it('refuses the wrong number of counters and out-of-range magnitudes', () => {
    const counters = Int32Array.from([1, -2, 3])
    const three = c.encode(sketchEncoding(3), counters)
    expect(() => c.decode(sketchEncoding(2), three)).toThrow(/expected 2/)
    expect(() => c.decode(sketchEncoding(4), three)).toThrow(/expected 4/)
    expect(() => c.decode(sketchEncoding(3, 2), three)).toThrow(/out of range/)
    expect(c.decode(sketchEncoding(3, 3), three)).toEqual(counters)
    expect(() => c.encode(sketchEncoding(4), counters)).toThrow(RangeError)
    // a counter varint beyond 32 bits
    const huge = Buffer.from([1, 0xff, 0, 0, 0, 0, 1, 0, 0, 0])
    expect(() => c.decode(sketchEncoding(1), huge)).toThrow(/out of range/)
  })

  it('a k = 32 sketch of 100 000 elements is about 75 bytes', () => {
    const next = rng(9)
    const s = new DifferenceSketch(bytes(next, 16), 32)
    for (let i = 0; i < 100_000; i++) s.add(bytes(next, 40))
    const size = c.encode(sketchEncoding(32), s.counters).byteLength
    console.log(`k = 32, n = 100 000: ${size} bytes`)
    expect(size).toBeGreaterThan(1 + 32)
    expect(size).toBeLessThanOrEqual(1 + 32 * 3)
  })
})
