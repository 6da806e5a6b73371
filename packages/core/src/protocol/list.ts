/**
 * List mode: a first sync sends the set itself, not coded symbols. Pure:
 * summaries and messages in, decisions out.
 *
 * When most of the set differs (one side empty, or two sets that share
 * little), coded symbols cost more than the elements they stand for: a
 * symbol is ~50 bytes and peeling needs ~1.35–1.75 symbols per difference,
 * while a feed in an Elements message is 33 bytes (key + length varint).
 * The first batch of symbols is capped, so a difference of thousands also
 * costs several requests for more. In list mode the initiator sends its
 * whole set in Elements messages flagged LIST (the last LIST_END); the
 * responder diffs it against its own and answers DONE exactly as after
 * decoding symbols: one round trip, no symbol, no decoder.
 *
 * Both sides decide from the two open messages alone (counts and sketches
 * as announced, both minors ≥ LIST_MINOR), so each knows whether a list or
 * symbols must come: a list where symbols are due, symbols where a list is
 * due, a list that is longer than announced, repeats a feed, holds more
 * differences than `maxDifferences`, or goes on after LIST_END, is a
 * MalformedMessageError.
 */
import { MalformedMessageError } from '../errors.js'
import { estimateDifference } from './estimator.js'
import {
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  type Element,
  type Elements,
  MAX_ELEMENTS_PER_MESSAGE
} from './messages.js'

/** The first minor version that knows list mode. */
export const LIST_MINOR = 1
/** Bytes of a feed in a list (32-byte key + a length varint), for lengths below 2¹⁶. */
export const LIST_BYTES_PER_FEED = 33
/**
 * Bytes of coded symbols per difference, at best: ~50-byte symbols × 1.5
 * symbols per difference (more in practice: the first batch aims at 2.5).
 */
export const SYMBOL_BYTES_PER_DIFFERENCE = 75

/** What an open message announced of a set: its size and its difference sketch. */
export interface Announced {
  readonly minor: number
  readonly count: number
  readonly sketch: ArrayLike<number>
}

/**
 * True when the initiator should send its list: both know list mode and the
 * list (33 B a feed of the initiator's) costs no more than the symbols of
 * the estimated difference would at their best (75 B a difference). The
 * estimate is symmetric, so both sides reach the same answer.
 */
export function listPays(initiator: Announced, responder: Announced): boolean {
  if (initiator.minor < LIST_MINOR || responder.minor < LIST_MINOR) return false
  const sketched =
    initiator.sketch.length === responder.sketch.length && initiator.sketch.length > 0
      ? estimateDifference(initiator.sketch, responder.sketch)
      : 0
  const estimate = Math.max(sketched, Math.abs(initiator.count - responder.count))
  return LIST_BYTES_PER_FEED * initiator.count <= SYMBOL_BYTES_PER_DIFFERENCE * estimate
}

/**
 * The initiator's list: at most `announced` feeds (what its open message
 * counted; feeds that joined since go to the peer as updates), in Elements
 * messages of at most MAX_ELEMENTS_PER_MESSAGE, the last one LIST_END. An
 * empty set is one empty LIST_END message.
 */
export function listMessages(
  feeds: Iterable<{ key: Buffer; length: number; tag?: Buffer | null }>,
  announced: number
): Elements[] {
  const messages: Elements[] = []
  let chunk: Element[] = []
  let total = 0
  for (const { key, length, tag } of feeds) {
    if (total === announced) break
    total++
    chunk.push(tag === undefined ? { key, length } : { key, length, tag })
    if (chunk.length === MAX_ELEMENTS_PER_MESSAGE) {
      messages.push({ flags: ELEMENTS_LIST, elements: chunk })
      chunk = []
    }
  }
  if (chunk.length > 0 || messages.length === 0) {
    messages.push({ flags: ELEMENTS_LIST, elements: chunk })
  }
  messages[messages.length - 1]!.flags |= ELEMENTS_LIST_END
  return messages
}

/**
 * One reconciliation in list mode, either role: the initiator's list went
 * out and DONE is due; or the responder takes the list (`receive`).
 */
export class ListExchange {
  readonly #receiver: ListReceiver | null
  #awaitingDone: boolean

  private constructor(receiver: ListReceiver | null) {
    this.#receiver = receiver
    this.#awaitingDone = receiver === null
  }

  /**
   * Null unless both open messages say list mode; else the exchange, with
   * the initiator's list messages to send now (none for the responder).
   */
  static begin(
    isInitiator: boolean,
    ours: Announced,
    remote: Announced,
    feeds: Iterable<{ key: Buffer; length: number; tag?: Buffer | null }>,
    maxDifferences: number
  ): { exchange: ListExchange; messages: Elements[] } | null {
    if (!listPays(isInitiator ? ours : remote, isInitiator ? remote : ours)) return null
    if (!isInitiator) {
      return {
        exchange: new ListExchange(new ListReceiver(remote.count, maxDifferences)),
        messages: []
      }
    }
    return { exchange: new ListExchange(null), messages: listMessages(feeds, ours.count) }
  }

  /**
   * A message flagged LIST or LIST_END (`exchange` null: symbols are due).
   * Returns the difference at the list's end; throws MalformedMessageError
   * when no list is due here or the list breaks a rule.
   */
  static receive(
    exchange: ListExchange | null,
    message: Elements,
    ours: () => Iterable<{ id: string; key: Buffer; length: number }>
  ): ListDifference | null {
    const receiver = exchange === null ? null : exchange.#receiver
    if (!receiver || !(message.flags & ELEMENTS_LIST)) {
      throw new MalformedMessageError('Unexpected feed list')
    }
    if (message.flags & ELEMENTS_DONE) throw new MalformedMessageError('Feed list flagged done')
    return receiver.receive(message, ours)
  }

  /** DONE arrived: true when it answers our list (once); false when it is not ours to take. */
  done(): boolean {
    const awaiting = this.#awaitingDone
    this.#awaitingDone = false
    return awaiting
  }
}

/** What differs, once the whole list arrived: as after decoding symbols. */
export interface ListDifference {
  /** Our feeds the initiator does not hold at our length. */
  localOnly: Element[]
  /** The initiator's feeds we do not hold at its length. */
  remoteOnly: Element[]
}

/**
 * The responder's side: takes the list message by message. Memory stays
 * within our set plus `maxDifferences`: every feed of the list is ours at
 * the same length or counts as a difference.
 */
export class ListReceiver {
  readonly #announced: number
  readonly #maxDifferences: number
  /** Our feeds (by hex id) not yet matched by the list. */
  #ours: Map<string, { key: Buffer; length: number }> | null = null
  readonly #seen = new Set<string>()
  readonly #remoteOnly: Element[] = []
  #ended = false

  /** `announced`: the count of the initiator's open message. */
  constructor(announced: number, maxDifferences: number) {
    this.#announced = announced
    this.#maxDifferences = maxDifferences
  }

  /**
   * One list message; `ours` gives our set (as shared with the peer) when
   * the first one arrives. Returns the difference at LIST_END, else null.
   */
  receive(
    message: Elements,
    ours: () => Iterable<{ id: string; key: Buffer; length: number }>
  ): ListDifference | null {
    if (this.#ended) throw new MalformedMessageError('Feed list after its end')
    if (this.#ours === null) {
      this.#ours = new Map()
      for (const feed of ours()) this.#ours.set(feed.id, { key: feed.key, length: feed.length })
    }
    if (this.#seen.size + message.elements.length > this.#announced) {
      throw new MalformedMessageError(
        `Feed list longer than the ${this.#announced} feeds its open message announced`
      )
    }
    for (const element of message.elements) {
      const id = element.key.toString('hex')
      if (this.#seen.has(id)) throw new MalformedMessageError('Feed list names a feed twice')
      this.#seen.add(id)
      const ours = this.#ours.get(id)
      if (ours !== undefined && ours.length === element.length) {
        this.#ours.delete(id)
        continue
      }
      this.#remoteOnly.push(element)
      if (this.#remoteOnly.length > this.#maxDifferences) {
        throw new MalformedMessageError(
          `Feed list differs from our set in more than ${this.#maxDifferences} feeds`
        )
      }
    }
    if ((message.flags & ELEMENTS_LIST_END) === 0) return null
    this.#ended = true
    const localOnly: Element[] = []
    for (const { key, length } of this.#ours.values()) localOnly.push({ key, length })
    if (localOnly.length + this.#remoteOnly.length > this.#maxDifferences) {
      throw new MalformedMessageError(
        `Feed list differs from our set in more than ${this.#maxDifferences} feeds`
      )
    }
    this.#ours = null
    this.#seen.clear()
    return { localOnly, remoteOnly: this.#remoteOnly }
  }
}
