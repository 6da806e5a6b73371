/**
 * One reconciliation of two sets of elements (feed key + length), with a
 * rateless IBLT (riblt.ts). Pure: symbols in, decisions out.
 *
 * The encoder (the stream's initiator) sends coded symbols of its snapshot,
 * as many as the difference sketch predicts; the decoder subtracts its own
 * and peels. Once everything peeled, it knows both sides of the difference;
 * if the batch was not enough it asks for more (one more round trip). The
 * bytes are proportional to the difference, not to the sets.
 */
import { MalformedMessageError } from '../errors.js'
import { ELEMENT_BYTES } from './elements.js'
import { estimateDifference } from './estimator.js'
import { MAX_SYMBOLS, MAX_SYMBOLS_PER_MESSAGE, type Symbols } from './messages.js'
import { RibltDecoder, RibltEncoder } from './riblt.js'

/**
 * Most symbols in the first batch, whatever the peer's open message claims:
 * one open message of ~100 bytes never buys more than ~50 KB of reply.
 */
export const MAX_FIRST_BATCH = 1024

/** Symbols sent for an estimated difference of `d` elements. */
export function symbolsFor(d: number): number {
  // About 1.35–1.75 symbols per difference decode (notes/riblt.md); the
  // sketch's estimate is within ±25 % most of the time: aim above both.
  // One difference always decodes from one symbol; small ones have a long tail.
  const n = d <= 1 ? 4 : Math.ceil(d * 2.5 + 8)
  if (!Number.isFinite(n)) return MAX_FIRST_BATCH
  return Math.min(Math.max(n, 4), MAX_FIRST_BATCH)
}

export class ReconcileEncoder {
  readonly #encoder: RibltEncoder
  readonly #limit: number
  #sent = 0

  /** `remoteCount`: the size the remote announced, to bound what it may ask for. */
  constructor(salt: Buffer, elements: Iterable<Buffer>, localCount: number, remoteCount: number) {
    this.#encoder = new RibltEncoder(ELEMENT_BYTES, salt)
    for (const element of elements) this.#encoder.add(element)
    // Small differences have a long tail (two differences took up to 24
    // symbols in notes/riblt.md): the cap only stops a decoder asking for
    // what sets of these sizes can never need.
    this.#limit = Math.min(MAX_SYMBOLS, 8 * (localCount + remoteCount) + 1024)
  }

  get sent(): number {
    return this.#sent
  }

  /**
   * The next `count` symbols. Asking for more than doubles what was sent (an
   * honest decoder asks for as many as it got), or beyond what sets of these
   * sizes can need, is malformed: a request never buys much more than it.
   */
  next(count: number): Symbols {
    if (this.#sent > 0 && count > Math.max(this.#sent, 64)) {
      throw new MalformedMessageError(
        `Remote asked for ${count} more coded symbols after ${this.#sent}: at most doubling is allowed`
      )
    }
    if (this.#sent + count > this.#limit) {
      throw new MalformedMessageError(
        `Remote asked for ${this.#sent + count} coded symbols; sets of these sizes never need more than ${this.#limit}`
      )
    }
    const start = this.#sent
    this.#sent += count
    return { start, symbols: this.#encoder.symbols(start, this.#sent) }
  }
}

export type DecodeResult =
  | { status: 'done'; remoteOnly: Buffer[]; localOnly: Buffer[] }
  | { status: 'more'; count: number }

export class ReconcileDecoder {
  readonly #decoder: RibltDecoder

  constructor(salt: Buffer, elements: Iterable<Buffer>, maxDifferences: number) {
    this.#decoder = new RibltDecoder(ELEMENT_BYTES, salt, { maxDifferences })
    for (const element of elements) this.#decoder.addLocal(element)
  }

  get received(): number {
    return this.#decoder.received
  }

  /** Takes the next batch; throws MalformedMessageError on a peer's inconsistency. */
  receive(message: Symbols): DecodeResult {
    if (message.start !== this.#decoder.received) {
      throw new MalformedMessageError(
        `Coded symbols out of order: expected ${this.#decoder.received}, got ${message.start}`
      )
    }
    this.#decoder.addRemote(message.symbols)
    if (this.#decoder.failed) {
      throw new MalformedMessageError(
        'Coded symbols do not decode (inconsistent, or more differences than the limit)'
      )
    }
    if (this.#decoder.decoded) {
      return {
        status: 'done',
        remoteOnly: this.#decoder.remoteOnly(),
        localOnly: this.#decoder.localOnly()
      }
    }
    const received = this.#decoder.received
    return { status: 'more', count: Math.min(Math.max(received, 8), MAX_SYMBOLS_PER_MESSAGE) }
  }
}

/** What one side summarises of its set for a reconciliation. */
export interface SetSummary {
  readonly count: number
  readonly sketch: ArrayLike<number>
}

/**
 * One reconciliation on one connection, either role: the initiator encodes
 * (`begin`, then `more` on request, until the responder `end`s it); the
 * responder decodes (`receive`).
 */
export class Reconciliation {
  readonly #isInitiator: boolean
  readonly #salt: Buffer
  readonly #maxDifferences: number
  #encoder: ReconcileEncoder | null = null
  #decoder: ReconcileDecoder | null = null
  #done = false

  constructor(isInitiator: boolean, salt: Buffer, maxDifferences: number) {
    this.#isInitiator = isInitiator
    this.#salt = salt
    this.#maxDifferences = maxDifferences
  }

  /**
   * The sets differ: the initiator's first batch of symbols, sized by the
   * sketches (null for the responder, which waits for them).
   */
  begin(local: SetSummary, elements: Iterable<Buffer>, remote: SetSummary): Symbols | null {
    if (!this.#isInitiator) return null
    // A sketch of another size (a future minor's) only loses the estimate:
    // the batches then grow by doubling.
    const sketched =
      local.sketch.length === remote.sketch.length && remote.sketch.length > 0
        ? estimateDifference(local.sketch, remote.sketch)
        : 0
    const estimate = Math.max(sketched, Math.abs(local.count - remote.count))
    this.#encoder = new ReconcileEncoder(this.#salt, elements, local.count, remote.count)
    return this.#encoder.next(symbolsFor(estimate))
  }

  /** Initiator: the responder asks for `count` more symbols. */
  more(count: number): Symbols {
    if (this.#encoder === null) throw new MalformedMessageError('Unexpected request for symbols')
    return this.#encoder.next(count)
  }

  /** Initiator: the responder decoded and ended the reconciliation. */
  end(): void {
    if (this.#encoder === null) throw new MalformedMessageError('Unexpected end of reconciliation')
    this.#encoder = null
    this.#done = true
  }

  /** Responder: a batch of symbols; `elements` gives our set when the first one arrives. */
  receive(message: Symbols, elements: () => Iterable<Buffer>): DecodeResult {
    if (this.#isInitiator || this.#done) throw new MalformedMessageError('Unexpected coded symbols')
    this.#decoder ??= new ReconcileDecoder(this.#salt, elements(), this.#maxDifferences)
    const result = this.#decoder.receive(message)
    if (result.status === 'done') {
      this.#decoder = null
      this.#done = true
    }
    return result
  }
}
