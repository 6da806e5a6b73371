/**
 * Byte-level mutations of an encoded message: truncated, bit-flipped,
 * overwritten, extended, a varint made huge, spliced, emptied.
 */
import type { Rng } from './rng.js'

export type Mutation =
  | 'truncate'
  | 'bitflip'
  | 'overwrite'
  | 'extend'
  | 'bigVarint'
  | 'splice'
  | 'empty'
  | 'shuffle'

const MUTATIONS: Readonly<Record<Mutation, number>> = {
  truncate: 5,
  bitflip: 5,
  overwrite: 3,
  extend: 2,
  bigVarint: 3,
  splice: 1,
  empty: 1,
  shuffle: 1
}

/** Varint prefixes of compact-encoding that announce a 2, 4 or 8-byte number. */
const BIG_VARINTS = [
  Buffer.from([0xfd, 0xff, 0xff]),
  Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00]),
  Buffer.from([0xfe, 0x01, 0x10, 0x00, 0x00])
]

export function mutate(rng: Rng, raw: Buffer, other?: Buffer): { kind: Mutation; bytes: Buffer } {
  const kind = rng.weighted(MUTATIONS)
  return { kind, bytes: apply(rng, kind, raw, other) }
}

function apply(rng: Rng, kind: Mutation, raw: Buffer, other?: Buffer): Buffer {
  const out = Buffer.from(raw)
  switch (kind) {
    case 'truncate':
      return out.subarray(0, out.byteLength === 0 ? 0 : rng.int(out.byteLength))
    case 'bitflip': {
      const flips = rng.range(1, 4)
      for (let i = 0; i < flips && out.byteLength > 0; i++) {
        const at = rng.int(out.byteLength)
        out[at]! ^= 1 << rng.int(8)
      }
      return out
    }
    case 'overwrite': {
      const n = rng.range(1, 8)
      for (let i = 0; i < n && out.byteLength > 0; i++) out[rng.int(out.byteLength)] = rng.int(256)
      return out
    }
    case 'extend':
      return Buffer.concat([out, rng.bytes(rng.range(1, 64))])
    case 'bigVarint': {
      // Replace the byte at a varint-looking position (often the first: a
      // count or flags) with a prefix announcing a huge number.
      const at = out.byteLength === 0 || rng.chance(0.6) ? 0 : rng.int(out.byteLength)
      return Buffer.concat([out.subarray(0, at), rng.pick(BIG_VARINTS), out.subarray(at + 1)])
    }
    case 'splice': {
      const tail = other ?? rng.bytes(rng.range(1, 32))
      const cut = rng.int(out.byteLength + 1)
      return Buffer.concat([out.subarray(0, cut), tail.subarray(rng.int(tail.byteLength + 1))])
    }
    case 'empty':
      return Buffer.alloc(0)
    case 'shuffle': {
      for (let i = out.byteLength - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        const t = out[i]!
        out[i] = out[j]!
        out[j] = t
      }
      return out
    }
  }
}
