/**
 * Message generators: seeded feed keys, element lists, coded symbols, a
 * valid message of each type, Open messages (valid, or bent the way an
 * attacker would) and a capability fit for each role. Valid means encoded
 * by core's own encoders, so a valid message is valid; mutate.ts breaks the
 * bytes afterwards. A new kind of message gets its generator here and the
 * operation that sends it in ops.ts.
 */
import { ELEMENT_BYTES } from '../src/protocol/elements.js'
import {
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  type Element,
  encodeElements,
  encodeMore,
  encodeOpen,
  encodeSymbols,
  MAX_SKETCH_COUNTERS,
  MODERATION_MINOR,
  type Open,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  type RecordsSummary
} from '../src/protocol/messages.js'
import { capability } from '../src/protocol/pairing.js'
import type { CodedSymbol } from '../src/protocol/riblt.js'
import { mutate } from './mutate.js'
import type { Rng } from './rng.js'
import type { Mode, Replayable } from './roles.js'
import { MORE, SYMBOLS } from './wire.js'

const SKETCH_COUNTERS = 32

/** What the generators draw from. */
export interface GeneratorOptions {
  rng: Rng
  mode: Mode
  /** The key of multifeed X (a forger and a stranger use it only to derive what leaked). */
  key: Buffer
  /** Feeds of X on A (a keyholder knows them from an earlier sync). */
  xKeys(): Buffer[]
  /** Keys this corestore holds for something else than X (an adoption attempt). */
  foreignKeys(): Buffer[]
  replay: Replayable
  /**
   * Leave out the triggers of findings already reported (a sketch of another
   * size or with huge counters in Open), to look past them.
   */
  skipKnown?: boolean
  /**
   * A moderated X: the records summary of what X holds now on this
   * connection (an open that says "in sync"); absent for a plain X.
   */
  recordsSummary?: ((handshakeHash: Buffer) => RecordsSummary) | null
}

export class Generators {
  /** The feeds the latest valid Open claims (the keyholder answers for them on X's channel). */
  fake: Element[] = []

  readonly #o: GeneratorOptions
  readonly #rng: Rng
  /** The connection's handshake hash and role: what a capability is bound to. */
  readonly #hash: Buffer
  readonly #initiator: boolean

  constructor(options: GeneratorOptions, hash: Buffer, initiator: boolean) {
    this.#o = options
    this.#rng = options.rng
    this.#hash = hash
    this.#initiator = initiator
  }

  /** A valid Open of a fresh fake set (which becomes `fake`). */
  validOpen(): Open {
    const rng = this.#rng
    this.fake = []
    const n = rng.int(5)
    for (let i = 0; i < n; i++) this.fake.push({ key: this.key(), length: rng.range(0, 6) })
    // Deduplicate: a set has each key once.
    const seen = new Set<string>()
    this.fake = this.fake.filter((e) => {
      const id = e.key.toString('hex')
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
    const sketch: number[] = []
    for (let i = 0; i < SKETCH_COUNTERS; i++) sketch.push(rng.range(-3, 3))
    const summary = this.#o.recordsSummary
    if (summary) {
      // A moderated X's channel (minor 3): mostly in sync on records (the
      // feeds then begin), else a summary that starts a records exchange
      // the puppet does not follow (the feeds wait, bounded).
      return {
        major: PROTOCOL_MAJOR,
        minor: MODERATION_MINOR,
        capability: this.capability(),
        setProof: rng.bytes(16),
        count: this.fake.length,
        sketch,
        records: rng.chance(0.8)
          ? summary(this.#hash)
          : {
              setProof: rng.bytes(16),
              count: rng.range(0, 20),
              sketch: Array.from({ length: 32 }, () => rng.range(-3, 3))
            }
      }
    }
    return {
      major: PROTOCOL_MAJOR,
      // Half of the time a peer of minor 0 (no list mode: coded symbols are due).
      minor: rng.chance(0.5) ? PROTOCOL_MINOR : 0,
      capability: this.capability(),
      setProof: rng.bytes(16),
      count: this.fake.length,
      sketch
    }
  }

  /** The keyholder's true proof; the others' reflected, replayed, zero or random. */
  capability(): Buffer {
    if (this.#o.mode === 'keyholder') return capability(this.#o.key, this.#hash, this.#initiator)
    const rng = this.#rng
    // A stranger cannot derive A's proof to reflect it.
    switch (this.#o.mode === 'stranger' ? 1 + rng.int(3) : rng.int(4)) {
      case 0:
        // Reflection: A's own proof sent back.
        return capability(this.#o.key, this.#hash, !this.#initiator)
      case 1:
        return this.#o.replay.capabilities.length > 0
          ? rng.pick(this.#o.replay.capabilities)
          : rng.bytes(16)
      case 2:
        return Buffer.alloc(16)
      default:
        return rng.bytes(16)
    }
  }

  /** An Open the way an attacker would bend one. */
  badOpen(): { raw: Buffer; note: string } {
    const rng = this.#rng
    const open = this.validOpen()
    const variant = this.#o.skipKnown ? rng.pick([0, 1, 4, 5]) : rng.int(10)
    switch (variant) {
      case 0:
        open.major = rng.pick([0, 1, 3, 2 ** 32])
        return { raw: encodeOpen(open), note: `major ${open.major}` }
      case 1:
        open.minor = rng.pick([1, 2 ** 32, 2 ** 53 - 1])
        return { raw: encodeOpen(open), note: `minor ${open.minor}` }
      case 2: {
        const k = rng.pick([0, 1, 31, 33, 64, MAX_SKETCH_COUNTERS, MAX_SKETCH_COUNTERS + 1])
        open.sketch = Array.from({ length: k }, () => rng.range(-3, 3))
        return { raw: encodeOpen(open), note: `sketch of ${k} counters` }
      }
      case 3:
        open.sketch = open.sketch.map(() =>
          rng.pick([2 ** 31, -(2 ** 31), 2 ** 40, rng.range(-1000, 1000)])
        )
        return { raw: encodeOpen(open), note: 'huge sketch counters' }
      case 4:
        open.count = rng.pick([2 ** 32, 2 ** 53 - 1, 1_000_000])
        return { raw: encodeOpen(open), note: `count ${open.count}` }
      case 5:
        open.setProof = Buffer.alloc(16)
        return { raw: encodeOpen(open), note: 'zero set proof' }
      default: {
        const m = mutate(rng, encodeOpen(open))
        return { raw: m.bytes, note: `open ${m.kind}` }
      }
    }
  }

  /** A feed key to offer: new, refused by A's policy, A's own, or held for another set. */
  key(): Buffer {
    const rng = this.#rng
    const kind = rng.weighted({ fresh: 3, refused: 2, known: 3, foreign: 2 })
    if (kind === 'known') {
      const keys = this.#o.xKeys()
      if (keys.length > 0) return rng.pick(keys)
    }
    if (kind === 'foreign') {
      const keys = this.#o.foreignKeys()
      if (keys.length > 0) return rng.pick(keys)
    }
    const key = rng.bytes(32)
    // A's accept policy refuses keys whose first byte is 0.
    if (kind === 'refused') key[0] = 0
    else if (key[0] === 0) key[0] = 1
    return key
  }

  elements(n: number): Element[] {
    const out: Element[] = []
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.#rng.chance(0.1)) out.push(out[this.#rng.int(out.length)]!)
      else out.push({ key: this.key(), length: this.#rng.length() })
    }
    return out
  }

  garbageSymbols(n: number): CodedSymbol[] {
    const rng = this.#rng
    return Array.from({ length: n }, () => ({
      sum: rng.bytes(ELEMENT_BYTES),
      hashHi: rng.u32(),
      hashLo: rng.u32(),
      count: rng.pick([1, -1, 0, 2, rng.range(-(2 ** 31), 2 ** 31 - 1)])
    }))
  }

  /** A valid message of type 0..2 (for mutations); `encoded`: symbols sent so far. */
  valid(encoded: number): { type: number; raw: Buffer } {
    const rng = this.#rng
    const type = rng.int(3)
    if (type === SYMBOLS) {
      const symbols = this.garbageSymbols(rng.range(0, 6))
      return { type, raw: encodeSymbols({ start: rng.pick([0, encoded]), symbols }) }
    }
    if (type === MORE) return { type, raw: encodeMore({ count: rng.range(1, 64) }) }
    return {
      type,
      raw: encodeElements({
        flags: rng.pick([0, 0, ELEMENTS_DONE, ELEMENTS_LIST, ELEMENTS_LIST | ELEMENTS_LIST_END]),
        elements: this.elements(3)
      })
    }
  }
}
