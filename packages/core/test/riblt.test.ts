import c from 'compact-encoding'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type CodedSymbol,
  codedSymbolEncoding,
  hash64,
  RibltDecoder,
  RibltEncoder
} from '../src/protocol/riblt.js'
import { bytes, rng } from './seeded.js'

/** `count` distinct elements of `width` bytes. */
function distinct(next: () => number, count: number, width: number): Buffer[] {
  const seen = new Set<string>()
  const out: Buffer[] = []
  while (out.length < count) {
    const x = bytes(next, width)
    const hex = x.toString('hex')
    if (!seen.has(hex)) {
      seen.add(hex)
      out.push(x)
    }
  }
  return out
}

const hexes = (xs: Buffer[]) => xs.map((x) => x.toString('hex')).sort()

interface Run {
  decoder: RibltDecoder
  symbols: number
}

/** Encodes `remote`, decodes against `local`, feeding batches (cycling `batches`) until decoded. */
function reconcile(
  width: number,
  salt: Buffer,
  remote: Buffer[],
  local: Buffer[],
  batches: number[] = [1],
  limit = 3 * (remote.length + local.length) + 100
): Run {
  const encoder = new RibltEncoder(width, salt)
  for (const x of remote) encoder.add(x)
  const decoder = new RibltDecoder(width, salt)
  for (const x of local) decoder.addLocal(x)
  let k = 0
  while (!decoder.decoded && !decoder.failed && decoder.received < limit) {
    const from = decoder.received
    decoder.addRemote(encoder.symbols(from, from + batches[k++ % batches.length]!))
  }
  return { decoder, symbols: decoder.received }
}

function split(seed: number, width: number, common: number, onlyA: number, onlyB: number) {
  const all = distinct(rng(seed), common + onlyA + onlyB, width)
  return {
    common: all.slice(0, common),
    a: all.slice(common, common + onlyA),
    b: all.slice(common + onlyA)
  }
}

describe('RIBLT reconciliation', () => {
  it('recovers exactly A\\B and B\\A for random sets, widths and batch sizes', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          width: fc.constantFrom(3, 4, 7, 8, 13, 32, 40, 64),
          common: fc.integer({ min: 0, max: 2000 }),
          onlyA: fc.integer({ min: 0, max: 2000 }),
          onlyB: fc.integer({ min: 0, max: 2000 }),
          batches: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 })
        }),
        ({ seed, width, common, onlyA, onlyB, batches }) => {
          // sizes 0..2000 with a random overlap
          const sizeA = Math.min(2000, common + onlyA)
          const sizeB = Math.min(2000, common + onlyB)
          const s = split(seed, width, common, sizeA - common, Math.max(0, sizeB - common))
          const A = [...s.common, ...s.a]
          const B = [...s.common, ...s.b]
          const salt = bytes(rng(seed + 1), 16)
          const { decoder } = reconcile(width, salt, A, B, batches)
          expect(decoder.decoded).toBe(true)
          expect(decoder.failed).toBe(false)
          expect(hexes(decoder.remoteOnly())).toEqual(hexes(s.a))
          expect(hexes(decoder.localOnly())).toEqual(hexes(s.b))
          const union = new Set(hexes([...A, ...B]))
          expect(new Set(hexes([...B, ...decoder.remoteOnly()]))).toEqual(union)
        }
      ),
      { seed: 42, numRuns: 60 }
    )
  })

  it('decodes identical sets from symbol 0 alone', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 0, max: 2000 }),
        fc.constantFrom(5, 32, 40),
        (seed, n, width) => {
          const set = distinct(rng(seed), n, width)
          const { decoder, symbols } = reconcile(width, bytes(rng(~seed), 16), set, set)
          expect(symbols).toBe(1)
          expect(decoder.decoded).toBe(true)
          expect(decoder.remoteOnly()).toEqual([])
          expect(decoder.localOnly()).toEqual([])
        }
      ),
      { seed: 7, numRuns: 40 }
    )
  })

  it('handles 1-byte elements (the whole space split between the peers)', () => {
    const next = rng(99)
    const all = Array.from({ length: 256 }, (_, i) => Buffer.from([i]))
    const A = all.filter(() => next() % 3 !== 0)
    const B = all.filter(() => next() % 3 !== 0)
    const { decoder } = reconcile(1, Buffer.alloc(16, 5), A, B, [7])
    const inB = new Set(hexes(B))
    const inA = new Set(hexes(A))
    expect(hexes(decoder.remoteOnly())).toEqual(hexes(A).filter((h) => !inB.has(h)))
    expect(hexes(decoder.localOnly())).toEqual(hexes(B).filter((h) => !inA.has(h)))
  })

  it('accepts local elements after symbols arrived, with the same result', () => {
    const s = split(5, 40, 300, 40, 60)
    const salt = Buffer.alloc(16, 1)
    const encoder = new RibltEncoder(40, salt)
    for (const x of [...s.common, ...s.a]) encoder.add(x)
    const decoder = new RibltDecoder(40, salt)
    const local = [...s.common, ...s.b]
    for (const x of local.slice(0, 150)) decoder.addLocal(x)
    decoder.addRemote(encoder.symbols(0, 80))
    for (const x of local.slice(150)) decoder.addLocal(x)
    while (!decoder.decoded && !decoder.failed && decoder.received < 1000) {
      decoder.addRemote(encoder.symbols(decoder.received, decoder.received + 10))
    }
    expect(decoder.decoded).toBe(true)
    expect(hexes(decoder.remoteOnly())).toEqual(hexes(s.a))
    expect(hexes(decoder.localOnly())).toEqual(hexes(s.b))
  })
})

describe('RIBLT encoder', () => {
  it('is rateless and deterministic: any split of the range gives the same symbols', () => {
    const set = distinct(rng(3), 500, 40)
    const salt = Buffer.alloc(16, 9)
    const whole = new RibltEncoder(40, salt)
    for (const x of set) whole.add(x)
    const all = whole.symbols(0, 300)
    const parts = new RibltEncoder(40, salt)
    for (const x of set.slice().reverse()) parts.add(x)
    const pieces = [...parts.symbols(0, 1), ...parts.symbols(1, 64), ...parts.symbols(64, 300)]
    expect(pieces).toEqual(all)
    // asking for an earlier range again recomputes it
    expect(parts.symbols(10, 20)).toEqual(all.slice(10, 20))
    expect(parts.symbols(250, 300)).toEqual(all.slice(250))
  })

  it('maps each element to index i with probability ≈ 1/(1 + i/2) (the paper’s approximation: within 4%)', () => {
    const n = 20_000
    const encoder = new RibltEncoder(8, Buffer.alloc(16, 2))
    for (const x of distinct(rng(11), n, 8)) encoder.add(x)
    const symbols = encoder.symbols(0, 200)
    expect(symbols[0]!.count).toBe(n)
    for (const i of [1, 2, 5, 10, 50, 100, 199]) {
      const p = 1 / (1 + i / 2)
      const sd = Math.sqrt(n * p * (1 - p))
      expect(Math.abs(symbols[i]!.count - n * p)).toBeLessThan(0.04 * n * p + 4 * sd)
    }
  })

  it('pins the mapping and the hash (both peers must compute the same)', () => {
    const encoder = new RibltEncoder(8, Buffer.alloc(16))
    encoder.add(Buffer.alloc(8))
    const symbols = encoder.symbols(0, 1000)
    const indices = symbols.flatMap((s, i) => (s.count === 1 ? [i] : []))
    expect(indices).toEqual([0, 1, 4, 5, 7, 8, 14, 15, 61, 72, 178, 348, 943])
    expect(symbols[0]).toMatchObject({ hashHi: 3897157819, hashLo: 1878926695 })
    expect({ ...hash64(Buffer.from('abc'), Buffer.alloc(16)) }).toEqual({
      hi: 1070105750,
      lo: 1198583518
    })
  })

  it('rejects caller bugs with RangeError / Error', () => {
    const salt = Buffer.alloc(16)
    expect(() => new RibltEncoder(0, salt)).toThrow(RangeError)
    expect(() => new RibltEncoder(40, Buffer.alloc(15))).toThrow(RangeError)
    expect(() => new RibltDecoder(40, Buffer.alloc(17))).toThrow(RangeError)
    const encoder = new RibltEncoder(40, salt)
    expect(() => encoder.add(Buffer.alloc(39))).toThrow(RangeError)
    expect(() => encoder.symbols(5, 3)).toThrow(RangeError)
    expect(() => encoder.symbols(-1, 3)).toThrow(RangeError)
    expect(() => encoder.symbols(0, 1.5)).toThrow(RangeError)
    encoder.symbols(0, 1)
    expect(() => encoder.add(Buffer.alloc(40))).toThrow(/after symbols/)
    const decoder = new RibltDecoder(40, salt)
    expect(() => decoder.addLocal(Buffer.alloc(41))).toThrow(RangeError)
    const bad = { sum: Buffer.alloc(39), hashHi: 0, hashLo: 0, count: 0 }
    expect(() => decoder.addRemote([bad])).toThrow(RangeError)
  })
})

describe('RIBLT symbols needed per difference', () => {
  it('stays within the paper’s overhead (table in notes/riblt.md)', () => {
    const rows: string[] = []
    const plan: Array<[number, number]> = [
      [1, 1000],
      [2, 1000],
      [5, 1000],
      [10, 500],
      [20, 500],
      [100, 200],
      [200, 100],
      [1000, 30]
    ]
    const stats = new Map<number, { mean: number; p95: number; max: number }>()
    for (const [d, trials] of plan) {
      const needed: number[] = []
      for (let t = 0; t < trials; t++) {
        const s = split(d * 100_003 + t, 40, 20, Math.ceil(d / 2), Math.floor(d / 2))
        const salt = bytes(rng(t + 1), 16)
        const { decoder, symbols } = reconcile(
          40,
          salt,
          [...s.common, ...s.a],
          [...s.common, ...s.b]
        )
        expect(decoder.decoded).toBe(true)
        needed.push(symbols)
      }
      needed.sort((x, y) => x - y)
      const mean = needed.reduce((x, y) => x + y, 0) / trials
      const p95 = needed[Math.ceil(0.95 * trials) - 1]!
      const max = needed[trials - 1]!
      stats.set(d, { mean, p95, max })
      rows.push(
        `| ${d} | ${trials} | ${mean.toFixed(2)} | ${(mean / d).toFixed(2)} | ${p95} | ${max} |`
      )
    }
    console.log(['| d | trials | mean | mean/d | p95 | max |', ...rows].join('\n'))
    expect(stats.get(1)!.max).toBe(1) // symbol 0 holds the one difference, pure
    expect(stats.get(2)!.p95).toBeLessThanOrEqual(8)
    for (const d of [10, 20]) expect(stats.get(d)!.mean / d).toBeLessThanOrEqual(2)
    for (const d of [100, 200, 1000]) expect(stats.get(d)!.mean / d).toBeLessThanOrEqual(1.6)
    for (const d of [100, 200, 1000]) expect(stats.get(d)!.max / d).toBeLessThanOrEqual(2.5)
  })
})

describe('RIBLT decoder against adversarial symbols', () => {
  const width = 40
  const salt = Buffer.alloc(16, 3)
  const local = distinct(rng(17), 200, width)

  function victim(opts = {}): RibltDecoder {
    const d = new RibltDecoder(width, salt, opts)
    for (const x of local) d.addLocal(x)
    return d
  }

  function forged(next: () => number, count: number): CodedSymbol {
    const sum = bytes(next, width)
    const h = hash64(sum, salt)
    return { sum, hashHi: h.hi, hashLo: h.lo, count }
  }

  it('random-bytes symbols: no throw, no hang, never decoded', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 3000 }), (seed, n) => {
        const next = rng(seed)
        const d = victim()
        for (let i = 0; i < n; i += 97) {
          const batch = Array.from({ length: Math.min(97, n - i) }, () => ({
            sum: bytes(next, width),
            hashHi: next(),
            hashLo: next(),
            count: (next() % 7) - 3
          }))
          d.addRemote(batch)
        }
        expect(d.decoded).toBe(false)
        expect(d.failed).toBe(false)
        // a random symbol is pure with probability 2^-64: nothing is "recovered"
        expect(d.remoteOnly().length + d.localOnly().length).toBe(0)
      }),
      { seed: 1, numRuns: 30 }
    )
  })

  it('forged pure-looking symbols: garbage is recovered, never more than maxDifferences', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 50 }), (seed, batch) => {
        const next = rng(seed)
        const d = victim({ maxDifferences: 30 })
        for (let i = 0; i < 400; i += batch) {
          d.addRemote(Array.from({ length: batch }, () => forged(next, next() % 2 ? 1 : -1)))
        }
        const recovered = d.remoteOnly().length + d.localOnly().length
        expect(recovered).toBeGreaterThan(0)
        expect(recovered).toBeLessThanOrEqual(30)
        expect(d.decoded).toBe(false)
        if (d.failed) {
          const received = d.received
          d.addRemote([forged(next, 1)]) // ignored once failed
          expect(d.received).toBe(received)
        }
      }),
      { seed: 4, numRuns: 50 }
    )
  })

  it('an honest stream with forgeries mixed in never throws or hangs', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 20 }),
        (seed, positions) => {
          const next = rng(seed)
          const remote = [...local.slice(50), ...distinct(next, 100, width)]
          const encoder = new RibltEncoder(width, salt)
          for (const x of remote) encoder.add(x)
          const symbols = encoder.symbols(0, 600)
          const hit = new Set(positions)
          for (const i of hit) symbols[i] = forged(next, next() % 2 ? 1 : -1)
          const d = victim({ maxDifferences: 1000, maxSymbols: 500 })
          for (let i = 0; i < 600 && !d.decoded && !d.failed; i += 25) {
            d.addRemote(symbols.slice(i, i + 25))
          }
          expect(d.decoded || d.failed || d.received === 600).toBe(true)
          expect(d.remoteOnly().length + d.localOnly().length).toBeLessThanOrEqual(1000)
        }
      ),
      { seed: 2, numRuns: 50 }
    )
  })

  it('counts far off: huge or non-integer counts fail, large ones just do not decode', () => {
    for (const count of [2 ** 41, -(2 ** 53), Number.NaN, Number.POSITIVE_INFINITY, 0.5]) {
      const d = victim()
      expect(() =>
        d.addRemote([{ sum: Buffer.alloc(width), hashHi: 0, hashLo: 0, count }])
      ).not.toThrow()
      expect(d.failed).toBe(true)
      expect(d.decoded).toBe(false)
    }
    const d = victim()
    const next = rng(5)
    d.addRemote(Array.from({ length: 64 }, () => ({ ...forged(next, 1), count: 2 ** 31 })))
    expect(d.failed).toBe(false)
    expect(d.decoded).toBe(false)
  })

  it('maxSymbols and maxDifferences bound an honest but too large difference', () => {
    const s = split(31, width, 10, 300, 0)
    const capped = reconcile(width, salt, [...s.common, ...s.a], s.common, [50], 2000)
    expect(capped.decoder.decoded).toBe(true)
    const encoder = new RibltEncoder(width, salt)
    for (const x of [...s.common, ...s.a]) encoder.add(x)
    const d = new RibltDecoder(width, salt, { maxDifferences: 100 })
    for (const x of s.common) d.addLocal(x)
    d.addRemote(encoder.symbols(0, 1000))
    expect(d.failed).toBe(true)
    expect(d.remoteOnly()).toHaveLength(100)
    const few = new RibltDecoder(width, salt, { maxSymbols: 100 })
    few.addRemote(encoder.symbols(0, 100))
    expect(few.failed).toBe(false)
    few.addRemote(encoder.symbols(100, 101))
    expect(few.failed).toBe(true)
  })
})

describe('coded symbol codec', () => {
  it('round-trips, width + 8 + varint bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        fc.integer(),
        (width, count, hashHi, hashLo, seed) => {
          const enc = codedSymbolEncoding(width)
          const symbol = { sum: bytes(rng(seed), width), hashHi, hashLo, count }
          const buf = c.encode(enc, symbol)
          const zz = count >= 0 ? 2 * count : -2 * count - 1
          const varint = zz <= 0xfc ? 1 : zz <= 0xffff ? 3 : 5
          expect(buf.byteLength).toBe(width + 8 + varint)
          expect(c.decode(enc, buf)).toEqual(symbol)
          for (let cut = 0; cut < buf.byteLength; cut++) {
            expect(() => c.decode(enc, buf.subarray(0, cut))).toThrow()
          }
        }
      ),
      { seed: 3, numRuns: 200 }
    )
  })

  it('a symbol of width 40 from a 100-element set is 49 bytes', () => {
    const encoder = new RibltEncoder(40, Buffer.alloc(16))
    for (const x of distinct(rng(8), 100, 40)) encoder.add(x)
    const sizes = encoder.symbols(0, 64).map((s) => c.encode(codedSymbolEncoding(40), s).length)
    expect(new Set(sizes)).toEqual(new Set([49]))
  })

  it('rejects counts beyond int32, both ways', () => {
    const enc = codedSymbolEncoding(4)
    const symbol = { sum: Buffer.alloc(4), hashHi: 0, hashLo: 0, count: 2 ** 31 }
    expect(() => c.encode(enc, symbol)).toThrow(RangeError)
    const count = (hi: number) => Buffer.from([0xff, 0, 0, 0, 0, hi, 0, 0, 0])
    expect(() => c.decode(enc, Buffer.concat([Buffer.alloc(12), count(1)]))).toThrow(/out of range/)
    expect(() => c.decode(enc, Buffer.concat([Buffer.alloc(12), count(0xff)]))).toThrow()
    expect(() => codedSymbolEncoding(0)).toThrow(RangeError)
  })
})

describe.skipIf(!process.env.RIBLT_BENCH)('RIBLT encoder speed (RIBLT_BENCH=1)', () => {
  it('encodes n = 100 000 into 512 symbols well under 300 ms', () => {
    const salt = Buffer.alloc(16, 4)
    let worst = 0
    for (const n of [10_000, 100_000]) {
      const set = distinct(rng(n), n, 40)
      for (const m of [64, 512]) {
        const times: number[] = []
        for (let r = 0; r < 5; r++) {
          const t0 = performance.now()
          const encoder = new RibltEncoder(40, salt)
          for (const x of set) encoder.add(x)
          const t1 = performance.now()
          encoder.symbols(0, m)
          const t2 = performance.now()
          times.push(t2 - t0)
          console.log(
            `n=${n} m=${m} add ${(t1 - t0).toFixed(1)} ms, symbols ${(t2 - t1).toFixed(1)} ms`
          )
        }
        const median = times.sort((x, y) => x - y)[2]!
        console.log(`n=${n} m=${m} median total ${median.toFixed(1)} ms`)
        if (n === 100_000 && m === 512) worst = median
      }
    }
    expect(worst).toBeLessThan(300)
  })

  it('decodes d = 100 against a local set of n = 100 000', () => {
    const salt = Buffer.alloc(16, 6)
    const s = split(77, 40, 100_000, 50, 50)
    const encoder = new RibltEncoder(40, salt)
    for (const x of [...s.common, ...s.a]) encoder.add(x)
    const symbols = encoder.symbols(0, 400)
    const t0 = performance.now()
    const decoder = new RibltDecoder(40, salt)
    for (const x of [...s.common, ...s.b]) decoder.addLocal(x)
    const t1 = performance.now()
    for (let i = 0; !decoder.decoded && i < 400; i += 64)
      decoder.addRemote(symbols.slice(i, i + 64))
    const t2 = performance.now()
    console.log(
      `decoder n=100000: addLocal ${(t1 - t0).toFixed(1)} ms, ${decoder.received} symbols ${(t2 - t1).toFixed(1)} ms`
    )
    expect(decoder.decoded).toBe(true)
  })
})
