/**
 * The reconciliation on one multifeed channel, from the two open messages to
 * DONE, whichever of its three ways it goes:
 *
 * - the set proofs match: in sync after one round trip, nothing else travels;
 * - most of the set differs (both opens say so): the initiator lists its set
 *   and the responder diffs it (list mode, protocol/list.ts);
 * - otherwise coded symbols of a rateless IBLT (protocol/Reconciler.ts),
 *   sized by the sketches, with requests for more until the responder decodes.
 *
 * Either way the responder ends up with the difference (returned to the
 * channel's owner, which answers DONE with what the initiator lacks) and the
 * initiator with the responder's DONE. Input out of step throws
 * MalformedMessageError: MultifeedPeer closes the channel.
 */
import { MalformedMessageError } from '../errors.js'
import { keyOfElement, lengthOfElement } from '../protocol/elements.js'
import { type Announced, ListExchange } from '../protocol/list.js'
import {
  decodeMore,
  decodeSymbols,
  type Element,
  type Elements,
  encodeElements,
  encodeMore,
  encodeSymbols,
  minorOf,
  type Open,
  type Symbols,
  TAGS_MINOR
} from '../protocol/messages.js'
import { secretsEqual, setProof, symbolSalts } from '../protocol/pairing.js'
import { Reconciliation } from '../protocol/Reconciler.js'
import type { LocalSet } from '../protocol/SymbolWindow.js'
import type { PeerStats } from '../types.js'
import type { Producer } from './Outbox.js'

/** An element of an exchanged set: a feed (key, length), or a moderation record (id, 0). */
export interface Exchanged {
  /** `key` in hex. */
  readonly id: string
  readonly key: Buffer
  readonly length: number
}

/** What the exchange needs of our set (a SharedSet of feeds, or a moderated set's records). */
export interface ExchangedSet {
  feeds: Iterable<Exchanged>
  count: number
  digest: Buffer
  sketch: number[]
  local(): LocalSet
}

/**
 * How the exchange sends: producers queued on the peer's outbox (run while
 * the stream takes more), each sending encoded messages with `send`; a
 * reply (symbols, our list) is paid from the connection's reply budget.
 */
export interface ExchangeOut {
  queue(producer: Producer): void
  /** Sends one message; `paid`: bytes of it charged to the reply budget (throws if they do not fit). */
  send(message: 'symbols' | 'more' | 'elements', raw: Buffer, paid?: number): void
}

/** What differs: our elements the initiator lacks, and the initiator's we lack. */
export interface Difference {
  localOnly: Element[]
  remoteOnly: Element[]
}

export class SetExchange {
  readonly #key: Buffer
  readonly #maxDifferences: number
  readonly #stats: Pick<PeerStats, 'symbolsSent' | 'symbolsReceived'>
  readonly #out: ExchangeOut
  /** Our set's feeds carry admission tags (an encrypted set). */
  readonly #setTagged: boolean
  /** Tags travel on this channel: our set's feeds carry them and the remote is at minor ≥ 4. */
  #tagged = false
  /**
   * What our open message announced: list mode decides from both opens. Its
   * sketch is read once the proofs differ (the set's, memoised: the one our
   * open or our SKETCHES carried).
   */
  #announced: ExchangedSet | null = null
  #announcedCount = 0
  /**
   * The digest our open message proved (a copy: the set's own digest moves
   * with the set). In sync is decided from the two announced sets, never
   * from the set as it is when the remote's open arrives.
   */
  #announcedDigest: Buffer | null = null
  #reconciliation: Reconciliation | null = null
  #list: ListExchange | null = null
  #way: 'in sync' | 'list' | 'symbols' | null = null
  #rounds = 0

  /** `stats`: the peer's counters (coded symbols sent and received are counted here). */
  /** `tagged`: our set's feeds carry admission tags (an encrypted set). */
  constructor(
    key: Buffer,
    maxDifferences: number,
    stats: Pick<PeerStats, 'symbolsSent' | 'symbolsReceived'>,
    out: ExchangeOut,
    tagged = false
  ) {
    this.#key = key
    this.#setTagged = tagged
    this.#maxDifferences = maxDifferences
    this.#stats = stats
    this.#out = out
  }

  /** True once the exchange went the list way. */
  get listed(): boolean {
    return this.#list !== null
  }

  /**
   * True once both opens are known when Elements carry admission tags on
   * this channel (an encrypted set, both at minor ≥ TAGS_MINOR).
   */
  get tagged(): boolean {
    return this.#tagged
  }

  /** Which way the exchange went (null until both opens are known). */
  get way(): 'in sync' | 'list' | 'symbols' | null {
    return this.#way
  }

  /** Batches of coded symbols so far (the first, and one per request for more). */
  get rounds(): number {
    return this.#rounds
  }

  /** Our open message announces `shared`: kept for the decision between list and symbols. */
  announce(shared: ExchangedSet): void {
    this.#announced = shared
    this.#announcedCount = shared.count
    this.#announcedDigest = Buffer.from(shared.digest)
  }

  /**
   * Both opens are known (the remote's capability verified): true when the
   * set proofs match (in sync); otherwise the exchange starts (the
   * initiator's list or first symbols go out now).
   *
   * Both sides decide from the two open messages alone, so they decide the
   * same: our set may have changed since our open (a writer appended while
   * the remote's open travelled), and comparing that against the remote's
   * proof would have one side wait for symbols the other, in sync, never
   * sends. A change since our open reaches the peer as an update (kept from
   * the open on, sent once reconciled).
   */
  begin(
    hash: Buffer,
    isInitiator: boolean,
    shared: ExchangedSet,
    remote: Pick<Open, 'count' | 'sketch' | 'setProof'> & { minor: number }
  ): boolean {
    this.#tagged = this.#setTagged && remote.minor >= TAGS_MINOR
    const proof = setProof(this.#key, hash, this.#announcedDigest!)
    if (secretsEqual(proof, remote.setProof)) {
      this.#way = 'in sync'
      return true
    }
    const announced: Announced = {
      minor: minorOf(this.#setTagged),
      count: this.#announcedCount,
      sketch: this.#announced!.sketch
    }
    const list = ListExchange.begin(
      isInitiator,
      announced,
      remote,
      shared.feeds,
      this.#maxDifferences
    )
    if (list !== null) {
      this.#way = 'list'
      this.#list = list.exchange
      // One list message a call, while the stream takes more.
      const messages = list.messages
      let i = 0
      if (messages.length > 0) {
        this.#out.queue(() => {
          if (this.#list === null) return true
          const raw = encodeElements(messages[i]!, this.#tagged)
          this.#out.send('elements', raw, raw.byteLength)
          return ++i >= messages.length
        })
      }
      return false
    }
    this.#way = 'symbols'
    this.#rounds = 1
    this.#reconciliation = new Reconciliation(
      isInitiator,
      symbolSalts(this.#key, hash),
      this.#maxDifferences
    )
    const reconciliation = this.#reconciliation
    const first = reconciliation.begin(shared, shared.local(), remote)
    if (first !== null) {
      this.#out.queue(() => {
        if (this.#reconciliation === reconciliation) this.#sendSymbols(first)
        return true
      })
    }
    return false
  }

  /** Responder: a batch of coded symbols; the difference once decoded (null: more asked for). */
  symbols(raw: Buffer, local: () => LocalSet): Difference | null {
    if (this.#reconciliation === null) throw new MalformedMessageError('Unexpected coded symbols')
    const message = decodeSymbols(raw)
    this.#stats.symbolsReceived += message.symbols.length
    const result = this.#reconciliation.receive(message, local)
    if (result.status === 'more') {
      this.#rounds++
      const raw = encodeMore({ count: result.count })
      this.#out.queue(() => {
        this.#out.send('more', raw)
        return true
      })
      return null
    }
    return {
      localOnly: result.localOnly.map(toElement),
      remoteOnly: result.remoteOnly.map(toElement)
    }
  }

  /**
   * Initiator: the responder asks for more symbols. The request is checked
   * now; the symbols go out when the stream takes them.
   */
  more(raw: Buffer): void {
    const reconciliation = this.#reconciliation
    if (reconciliation === null) {
      throw new MalformedMessageError('Unexpected request for symbols')
    }
    reconciliation.request(decodeMore(raw).count)
    this.#rounds++
    this.#out.queue(() => {
      const symbols = this.#reconciliation === reconciliation ? reconciliation.produce() : null
      if (symbols !== null) this.#sendSymbols(symbols)
      return true
    })
  }

  /** Responder: a part of the initiator's list; the difference once the list ended. */
  list(message: Elements, ours: () => Iterable<Exchanged>): Difference | null {
    return ListExchange.receive(this.#list, message, ours)
  }

  /** Initiator: the responder's DONE (answering our list, or ending the symbols). */
  done(): void {
    if (this.#list?.done()) return
    if (this.#reconciliation === null) {
      throw new MalformedMessageError('Unexpected end of reconciliation')
    }
    this.#reconciliation.end()
  }

  /** The channel closed: nothing more is sent or taken. */
  close(): void {
    this.#reconciliation?.abort()
    this.#reconciliation = null
    this.#list = null
  }

  #sendSymbols(symbols: Symbols): void {
    const raw = encodeSymbols(symbols)
    this.#out.send('symbols', raw, raw.byteLength)
    this.#stats.symbolsSent += symbols.symbols.length
  }
}

function toElement(element: Buffer): Element {
  return { key: keyOfElement(element), length: lengthOfElement(element) }
}
