/**
 * The coded symbols of one reconciliation, both ends.
 *
 * Symbols [0, split) are the set's symbols under the stable symbol salt: a
 * set keeps them up to date (SymbolWindow), so both sides read them in O(d).
 * Symbols [split, ∞) start a second stream, under a salt fresh per
 * connection, over every element (O(n), rare: a difference of ~1,400
 * elements or more). The second stream is what a stable salt alone would
 * lose: a key holder who knows the stable salt can grind feed keys whose
 * 64-bit hashes collide (~2³² SipHashes), and two colliding elements in a
 * difference never peel; under a salt nobody knew in advance they do. The
 * decoder carries what the first stream recovered into the second.
 */
import { MalformedMessageError } from '../errors.js'
import { ELEMENT_BYTES } from './elements.js'
import { MAX_SYMBOLS, MAX_SYMBOLS_PER_MESSAGE, type Symbols } from './messages.js'
import { type CodedSymbol, RibltDecoder, RibltEncoder } from './riblt.js'
import { type LocalSet, WINDOW_SYMBOLS } from './SymbolWindow.js'

/** The salts of one reconciliation (pairing.symbolSalts) and where the second stream starts. */
export interface SymbolSalts {
  /** Stable for the life of the set (the window's). */
  readonly stable: Buffer
  /** Fresh per connection. */
  readonly connection: Buffer
  /** First index of the second stream; default WINDOW_SYMBOLS (a protocol constant). */
  readonly split?: number
}

/** The split point, checked against the window (a window under other terms is a caller bug). */
function splitOf(salts: SymbolSalts, local: LocalSet): number {
  const split = salts.split ?? WINDOW_SYMBOLS
  const window = local.window
  if (window !== null && (!window.salt.equals(salts.stable) || window.size < split)) {
    throw new Error('Reconciliation: the symbol window has another salt or is too small')
  }
  return split
}

/** Every element of `local` encoded under `salt` (O(n): only without a window, or past it). */
function encoderOf(salt: Buffer, local: LocalSet): RibltEncoder {
  const encoder = new RibltEncoder(ELEMENT_BYTES, salt)
  for (const element of local.elements()) encoder.add(element)
  return encoder
}

/**
 * Most coded symbols one reconciliation sends for sets of `localCount` and
 * (claimed) `remoteCount` elements. The remote's size is a claim, so it
 * counts for no more than our own: an honest pair with a difference beyond
 * our size lists (protocol minor 1, list.ts) rather than asks for symbols.
 * Peeling d differences takes ≤ 1.45·d symbols at large d (notes/riblt.md),
 * and d ≤ 2·localCount here, so 3·(both) leaves room; the 1,024 covers the
 * long tail of small differences (two took up to 29 symbols).
 */
export function symbolLimit(localCount: number, remoteCount: number): number {
  return Math.min(MAX_SYMBOLS, 3 * (localCount + Math.min(remoteCount, localCount)) + 1024)
}

export class ReconcileEncoder {
  readonly #local: LocalSet
  readonly #salts: SymbolSalts
  readonly #split: number
  /** Built when first needed: [0, split) without a window, and [split, ∞). */
  #stable: RibltEncoder | null = null
  #connection: RibltEncoder | null = null
  readonly #limit: number
  /** Symbols sent, and asked for (sent up to `#requested` once the stream takes them). */
  #sent = 0
  #requested = 0

  /** `remoteCount`: the size the remote announced, to bound what it may ask for. */
  constructor(salts: SymbolSalts, local: LocalSet, localCount: number, remoteCount: number) {
    this.#split = splitOf(salts, local)
    this.#local = local
    this.#salts = salts
    this.#limit = symbolLimit(localCount, remoteCount)
  }

  get sent(): number {
    return this.#sent
  }

  /** Most symbols this reconciliation sends. */
  get limit(): number {
    return this.#limit
  }

  /** True while symbols asked for have not been produced (`produce`). */
  get pending(): boolean {
    return this.#requested > this.#sent
  }

  /** The next `count` symbols, at once (`request` then `produce`). */
  next(count: number): Symbols {
    this.request(count)
    return this.produce()!
  }

  /**
   * Accepts a request for `count` more symbols, to be produced later (when
   * the stream takes them). Asking again before the last batch was produced
   * (a decoder asks only after it read one), for more than doubles what was
   * sent (an honest decoder asks for as many as it got), or once the limit
   * was sent, is malformed: a request never buys much more than it. A
   * request that crosses the limit gets what is left.
   */
  request(count: number): void {
    if (this.pending) {
      throw new MalformedMessageError(
        'Remote asked for more coded symbols before it could have read the last batch'
      )
    }
    if (this.#sent > 0 && count > Math.max(this.#sent, 64)) {
      throw new MalformedMessageError(
        `Remote asked for ${count} more coded symbols after ${this.#sent}: at most doubling is allowed`
      )
    }
    if (this.#sent >= this.#limit) {
      throw new MalformedMessageError(
        `Remote asked for more than ${this.#limit} coded symbols; sets of these sizes never need more`
      )
    }
    this.#requested = this.#sent + Math.min(count, this.#limit - this.#sent)
  }

  /** The symbols requested and not yet produced (null: none). */
  produce(): Symbols | null {
    if (!this.pending) return null
    const start = this.#sent
    const end = this.#requested
    this.#sent = end
    const split = this.#split
    let symbols: CodedSymbol[] = []
    if (start < split) {
      const window = this.#local.window
      const to = Math.min(end, split)
      if (window !== null) symbols = window.symbols(start, to)
      else {
        this.#stable ??= encoderOf(this.#salts.stable, this.#local)
        symbols = this.#stable.symbols(start, to)
      }
    }
    if (end > split) {
      this.#connection ??= encoderOf(this.#salts.connection, this.#local)
      symbols.push(...this.#connection.symbols(Math.max(start, split) - split, end - split))
    }
    return { start, symbols }
  }
}

export type DecodeResult =
  | { status: 'done'; remoteOnly: Buffer[]; localOnly: Buffer[] }
  | { status: 'more'; count: number }

export class ReconcileDecoder {
  readonly #local: LocalSet
  readonly #salts: SymbolSalts
  readonly #split: number
  readonly #maxDifferences: number
  readonly #first: RibltDecoder
  #second: RibltDecoder | null = null

  constructor(salts: SymbolSalts, local: LocalSet, maxDifferences: number) {
    this.#split = splitOf(salts, local)
    this.#local = local
    this.#salts = salts
    this.#maxDifferences = maxDifferences
    const window = local.window ?? undefined
    this.#first = new RibltDecoder(ELEMENT_BYTES, salts.stable, { maxDifferences, window })
    if (window === undefined) for (const e of local.elements()) this.#first.addLocal(e)
  }

  get received(): number {
    return this.#first.received + (this.#second?.received ?? 0)
  }

  /** Takes the next batch; throws MalformedMessageError on a peer's inconsistency. */
  receive(message: Symbols): DecodeResult {
    if (message.start !== this.received) {
      throw new MalformedMessageError(
        `Coded symbols out of order: expected ${this.received}, got ${message.start}`
      )
    }
    const firstPart = Math.max(0, Math.min(message.symbols.length, this.#split - message.start))
    if (firstPart > 0) this.#first.addRemote(message.symbols.slice(0, firstPart))
    if (firstPart < message.symbols.length && !this.#first.failed && !this.#first.decoded) {
      this.#second ??= this.#secondStream()
      this.#second.addRemote(message.symbols.slice(firstPart))
    }
    if (this.#first.failed || this.#second?.failed) {
      throw new MalformedMessageError(
        'Coded symbols do not decode (inconsistent, or more differences than the limit)'
      )
    }
    if (this.#first.decoded) {
      return {
        status: 'done',
        remoteOnly: this.#first.remoteOnly(),
        localOnly: this.#first.localOnly()
      }
    }
    if (this.#second?.decoded) {
      return {
        status: 'done',
        remoteOnly: [...this.#first.remoteOnly(), ...this.#second.remoteOnly()],
        localOnly: [...this.#first.localOnly(), ...this.#second.localOnly()]
      }
    }
    const received = this.received
    return { status: 'more', count: Math.min(Math.max(received, 8), MAX_SYMBOLS_PER_MESSAGE) }
  }

  /**
   * The second stream's decoder: our set with what the first stream found
   * already applied (its local-only elements out, its remote-only ones in),
   * so that it decodes only what is left.
   */
  #secondStream(): RibltDecoder {
    const second = new RibltDecoder(ELEMENT_BYTES, this.#salts.connection, {
      maxDifferences: this.#maxDifferences
    })
    const gone = new Set(this.#first.localOnly().map((e) => e.toString('latin1')))
    for (const e of this.#local.elements()) if (!gone.has(e.toString('latin1'))) second.addLocal(e)
    for (const e of this.#first.remoteOnly()) second.addLocal(e)
    return second
  }
}
