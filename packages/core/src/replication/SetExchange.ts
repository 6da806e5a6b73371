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
  type Open,
  PROTOCOL_MINOR,
  type Symbols
} from '../protocol/messages.js'
import { secretsEqual, setProof, symbolSalts } from '../protocol/pairing.js'
import { Reconciliation } from '../protocol/Reconciler.js'
import type { LocalSet } from '../protocol/SymbolWindow.js'
import type { Feed } from '../set/FeedSet.js'
import type { PeerStats, SharedSet } from './PeerHost.js'

/** What the exchange sends, already encoded, on the channel's messages of that name. */
export type ExchangeSend = (message: 'symbols' | 'more' | 'elements', raw: Buffer) => void

/** What differs: our elements the initiator lacks, and the initiator's we lack. */
export interface Difference {
  localOnly: Element[]
  remoteOnly: Element[]
}

export class SetExchange {
  readonly #key: Buffer
  readonly #maxDifferences: number
  readonly #stats: PeerStats
  readonly #send: ExchangeSend
  /** What our open message announced: list mode decides from both opens. */
  #announced: Announced | null = null
  /**
   * The digest our open message proved (a copy: the set's own digest moves
   * with the set). In sync is decided from the two announced sets, never
   * from the set as it is when the remote's open arrives.
   */
  #announcedDigest: Buffer | null = null
  #reconciliation: Reconciliation | null = null
  #list: ListExchange | null = null

  /** `stats`: the peer's counters (coded symbols sent and received are counted here). */
  constructor(key: Buffer, maxDifferences: number, stats: PeerStats, send: ExchangeSend) {
    this.#key = key
    this.#maxDifferences = maxDifferences
    this.#stats = stats
    this.#send = send
  }

  /** True once the exchange went the list way. */
  get listed(): boolean {
    return this.#list !== null
  }

  /** Our open message announces `shared`: kept for the decision between list and symbols. */
  announce(shared: SharedSet): void {
    this.#announced = { minor: PROTOCOL_MINOR, count: shared.count, sketch: shared.sketch }
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
  begin(hash: Buffer, isInitiator: boolean, shared: SharedSet, remote: Open): boolean {
    const announced = setProof(this.#key, hash, this.#announcedDigest!)
    if (secretsEqual(announced, remote.setProof)) return true
    const list = ListExchange.begin(
      isInitiator,
      this.#announced!,
      remote,
      shared.feeds,
      this.#maxDifferences
    )
    if (list !== null) {
      this.#list = list.exchange
      for (const message of list.messages) this.#send('elements', encodeElements(message))
      return false
    }
    this.#reconciliation = new Reconciliation(
      isInitiator,
      symbolSalts(this.#key, hash),
      this.#maxDifferences
    )
    const first = this.#reconciliation.begin(shared, shared.local(), remote)
    if (first !== null) this.#sendSymbols(first)
    return false
  }

  /** Responder: a batch of coded symbols; the difference once decoded (null: more asked for). */
  symbols(raw: Buffer, local: () => LocalSet): Difference | null {
    if (this.#reconciliation === null) throw new MalformedMessageError('Unexpected coded symbols')
    const message = decodeSymbols(raw)
    this.#stats.symbolsReceived += message.symbols.length
    const result = this.#reconciliation.receive(message, local)
    if (result.status === 'more') {
      this.#send('more', encodeMore({ count: result.count }))
      return null
    }
    return {
      localOnly: result.localOnly.map(toElement),
      remoteOnly: result.remoteOnly.map(toElement)
    }
  }

  /** Initiator: the responder asks for more symbols. */
  more(raw: Buffer): void {
    if (this.#reconciliation === null) {
      throw new MalformedMessageError('Unexpected request for symbols')
    }
    this.#sendSymbols(this.#reconciliation.more(decodeMore(raw).count))
  }

  /** Responder: a part of the initiator's list; the difference once the list ended. */
  list(message: Elements, ours: () => Iterable<Feed>): Difference | null {
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
    this.#stats.symbolsSent += symbols.symbols.length
    this.#send('symbols', encodeSymbols(symbols))
  }
}

function toElement(element: Buffer): Element {
  return { key: keyOfElement(element), length: lengthOfElement(element) }
}
