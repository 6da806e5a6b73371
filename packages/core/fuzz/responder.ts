/**
 * The keyholder's honest side of X's channel: as the stream's initiator it
 * encodes coded symbols of its fake set, as the responder it decodes A's,
 * and it queues the answers the protocol expects. The `honest` operation
 * sends them, in order; the other operations may interleave anything.
 */
import { ELEMENT_BYTES, elementOf } from '../src/protocol/elements.js'
import {
  decodeElements,
  decodeMore,
  decodeSymbols,
  ELEMENTS_DONE,
  encodeElements,
  encodeMore,
  encodeSymbols
} from '../src/protocol/messages.js'
import { symbolSalt, symbolSalts } from '../src/protocol/pairing.js'
import { ReconcileDecoder } from '../src/protocol/Reconciler.js'
import { RibltEncoder } from '../src/protocol/riblt.js'
import { listedSet } from '../src/protocol/SymbolWindow.js'
import type { Generators } from './generators.js'
import type { Mode } from './roles.js'
import { ELEMENTS, MORE, SYMBOLS } from './wire.js'

/** An answer the protocol expects, to be sent by the `honest` operation. */
export interface Reply {
  type: number
  raw: Buffer
  what: string
}

export class Responder {
  /** Our encoder of coded symbols while A may ask for more, and how many we sent. */
  encoder: RibltEncoder | null = null
  encoded = 0
  readonly replies: Reply[] = []

  readonly #mode: Mode
  readonly #key: Buffer
  readonly #hash: Buffer
  readonly #initiator: boolean
  /** Where the fake set (the feeds our Open claims) comes from. */
  readonly #generators: Generators
  #decoder: ReconcileDecoder | null = null

  constructor(mode: Mode, key: Buffer, hash: Buffer, initiator: boolean, generators: Generators) {
    this.#mode = mode
    this.#key = key
    this.#hash = hash
    this.#initiator = initiator
    this.#generators = generators
  }

  /** X's channel opened anew on our side: nothing is pending. */
  reset(): void {
    this.encoder = null
    this.encoded = 0
    this.#decoder = null
    this.replies.length = 0
  }

  /** A opened X's channel to us. */
  onOpen(): void {
    if (this.#mode !== 'keyholder' || !this.#initiator) return
    // We encode (the stream's initiator does): the first batch of coded symbols.
    this.encoder = new RibltEncoder(ELEMENT_BYTES, symbolSalt(this.#key))
    for (const e of this.#generators.fake) this.encoder.add(elementOf(e.key, e.length))
    this.encoded = 0
    this.replies.push({ type: SYMBOLS, raw: this.#nextSymbols(8), what: 'first symbols' })
  }

  #nextSymbols(count: number): Buffer {
    const start = this.encoded
    this.encoded += count
    return encodeSymbols({ start, symbols: this.encoder!.symbols(start, this.encoded) })
  }

  onSymbols(raw: Buffer): void {
    if (this.#mode !== 'keyholder') return
    if (this.#decoder === null) {
      this.#decoder = new ReconcileDecoder(
        symbolSalts(this.#key, this.#hash),
        listedSet(this.#generators.fake.map((e) => elementOf(e.key, e.length))),
        100_000
      )
    }
    try {
      const result = this.#decoder.receive(decodeSymbols(raw))
      if (result.status === 'more') {
        this.replies.push({ type: MORE, raw: encodeMore({ count: result.count }), what: 'more' })
        return
      }
      this.#decoder = null
      const lacking = result.localOnly.map((el) => ({
        key: Buffer.from(el.subarray(0, 32)),
        length: el.readUInt32BE(32) * 2 ** 32 + el.readUInt32BE(36)
      }))
      this.replies.push({
        type: ELEMENTS,
        raw: encodeElements({ flags: ELEMENTS_DONE, elements: lacking }),
        what: 'done'
      })
    } catch {
      this.#decoder = null
    }
  }

  onMore(raw: Buffer): void {
    if (this.encoder === null) return
    try {
      const { count } = decodeMore(raw)
      this.replies.push({ type: SYMBOLS, raw: this.#nextSymbols(count), what: 'symbols asked' })
    } catch {}
  }

  onElements(raw: Buffer): void {
    try {
      const m = decodeElements(raw)
      if (m.flags & ELEMENTS_DONE) this.encoder = null
    } catch {}
  }
}
