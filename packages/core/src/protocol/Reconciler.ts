/**
 * One reconciliation of two sets of elements (feed key + length), with a
 * rateless IBLT (riblt.ts). Pure: symbols in, decisions out.
 *
 * The encoder (the stream's initiator) sends coded symbols of its snapshot,
 * as many as the difference sketch predicts; the decoder subtracts its own
 * and peels. Once everything peeled, it knows both sides of the difference;
 * if the batch was not enough it asks for more (one more round trip). The
 * bytes are proportional to the difference, not to the sets; so is the CPU
 * when the set keeps a symbol window (SymbolWindow.ts): the first symbols
 * are read from it on both sides, and only symbols beyond it (or a subset
 * of the set, without a window) encode every element (ReconcileCodec.ts).
 */
import { MalformedMessageError } from '../errors.js'
import { likelyDifference } from './estimator.js'
import type { Symbols } from './messages.js'
import {
  type DecodeResult,
  ReconcileDecoder,
  ReconcileEncoder,
  type SymbolSalts
} from './ReconcileCodec.js'
import type { LocalSet } from './SymbolWindow.js'

export { type DecodeResult, ReconcileDecoder, ReconcileEncoder, type SymbolSalts }

/**
 * Most symbols in the first batch, whatever the peer's open message claims:
 * one open message of ~100 bytes never buys more than ~50 KB of reply.
 */
export const MAX_FIRST_BATCH = 1024

/**
 * Symbols sent for an estimated difference of `d` elements. Sized against
 * pure-reconciler trials (notes/riblt.md, "Sizing the first batch"): peeling
 * takes ~1.4–1.7 symbols per difference, with a long tail at small d (p99.9
 * 60 symbols at d = 10), and the 128-counter sketch's estimate has a relative
 * sd of 0.125 (small differences are read exactly: likelyDifference). 2.5·d
 * covers the estimate's low tail at large d; the additive min(20, 3.5·d)
 * covers the peeling tail at small d, and keeps a single change on each
 * side (d = 2: 12 symbols, ~610 B) within a d = 1 reconnect's 3 KiB on the
 * wire. d ≤ 1 is exact and decodes from symbol 0.
 */
export function symbolsFor(d: number): number {
  const n = d <= 1 ? 4 : Math.ceil(2.5 * d + Math.min(20, 3.5 * d))
  if (!Number.isFinite(n)) return MAX_FIRST_BATCH
  return Math.min(Math.max(n, 4), MAX_FIRST_BATCH)
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
  readonly #salts: SymbolSalts
  readonly #maxDifferences: number
  #encoder: ReconcileEncoder | null = null
  #decoder: ReconcileDecoder | null = null
  #local: LocalSet | null = null
  #done = false

  constructor(isInitiator: boolean, salts: SymbolSalts, maxDifferences: number) {
    this.#isInitiator = isInitiator
    this.#salts = salts
    this.#maxDifferences = maxDifferences
  }

  /**
   * The sets differ: the initiator's first batch of symbols, sized by the
   * sketches, from `set` (our set as it is now); null for the responder,
   * which waits for them.
   */
  begin(local: SetSummary, set: LocalSet, remote: SetSummary): Symbols | null {
    if (!this.#isInitiator) {
      set.release()
      return null
    }
    this.#local = set
    // A sketch of another size (a future minor's) only loses the estimate:
    // the batches then grow by doubling.
    const sketched =
      local.sketch.length === remote.sketch.length && remote.sketch.length > 0
        ? likelyDifference(local.sketch, remote.sketch)
        : 0
    // The remote's size is a claim: what it may ask for is budgeted by our
    // own count (symbolLimit) and by the most differences we would ever take;
    // the first batch aims at no more differences than that allows (ours and
    // as many of its), whatever its sketch and claim say.
    const claimed = Math.min(remote.count, this.#maxDifferences)
    const estimate = Math.min(
      Math.max(sketched, Math.abs(local.count - remote.count)),
      local.count + Math.min(claimed, local.count)
    )
    this.#encoder = new ReconcileEncoder(this.#salts, set, local.count, claimed)
    return this.#encoder.next(symbolsFor(estimate))
  }

  /** Initiator: the responder asks for `count` more symbols (`request`, then `produce`). */
  more(count: number): Symbols {
    this.request(count)
    return this.produce()!
  }

  /** Initiator: the responder asks for `count` more symbols, produced when the stream takes them. */
  request(count: number): void {
    if (this.#encoder === null) throw new MalformedMessageError('Unexpected request for symbols')
    this.#encoder.request(count)
  }

  /** Initiator: the symbols asked for and not produced yet (null: none, or ended). */
  produce(): Symbols | null {
    return this.#encoder?.produce() ?? null
  }

  /** Initiator: the responder decoded and ended the reconciliation. */
  end(): void {
    if (this.#encoder === null) throw new MalformedMessageError('Unexpected end of reconciliation')
    this.#encoder = null
    this.#finish()
  }

  /** Responder: a batch of symbols; `set` gives our set when the first one arrives. */
  receive(message: Symbols, set: () => LocalSet): DecodeResult {
    if (this.#isInitiator || this.#done) throw new MalformedMessageError('Unexpected coded symbols')
    if (this.#decoder === null) {
      this.#local = set()
      this.#decoder = new ReconcileDecoder(this.#salts, this.#local, this.#maxDifferences)
    }
    const result = this.#decoder.receive(message)
    if (result.status === 'done') {
      this.#decoder = null
      this.#finish()
    }
    return result
  }

  /** The channel closed before the end: our pinned snapshot stops logging the set's changes. */
  abort(): void {
    this.#encoder = null
    this.#decoder = null
    this.#finish()
  }

  #finish(): void {
    this.#done = true
    this.#local?.release()
    this.#local = null
  }
}
