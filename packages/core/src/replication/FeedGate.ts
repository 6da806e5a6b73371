/**
 * On a moderated set's channel, the feeds wait for the records: the peer's
 * feed messages that arrive before we took every record it held at its
 * open (PeerRecords `ready`) are held, in order, and handed on once we did,
 * so no offer of the peer is acted on before the blocks it knows of are
 * ours (and their feeds removed here).
 *
 * An honest peer sends at most its first feed message(s) before it hears
 * from us (a first batch of coded symbols, ≤ MAX_FIRST_BATCH, or its list of
 * at most the feeds its open announced): what is held is bounded by that,
 * and more is ERR_LIMIT_EXCEEDED (limit 'heldBytes').
 */
import { LimitExceededError } from '../errors.js'
import { MAX_FIRST_BATCH } from '../protocol/Reconciler.js'

/** Bytes a held list may take per feed announced (key, length varint, framing: ≤ 48). */
const HELD_BYTES_PER_FEED = 48
/** Bytes held whatever the size: a first batch of symbols (≤ ~52 B each) and framing. */
const HELD_BYTES = MAX_FIRST_BATCH * 56 + 4096

/** Most bytes of feed messages held for a peer whose open announced `count` feeds (bounded by ours). */
export function heldLimit(remoteCount: number, bound: number): number {
  return HELD_BYTES + HELD_BYTES_PER_FEED * Math.min(remoteCount, bound)
}

export class FeedGate<Name> {
  #held: Array<{ name: Name; raw: Buffer }> | null = []
  #bytes = 0
  #limit = HELD_BYTES

  /** True while messages are held. */
  get closed(): boolean {
    return this.#held !== null
  }

  /** The peer's open is known: how much it may send before we are ready. */
  limit(bytes: number): void {
    this.#limit = bytes
  }

  /** A message arrived while closed: held (throws ERR_LIMIT_EXCEEDED past the limit). */
  hold(name: Name, raw: Buffer): void {
    this.#bytes += raw.byteLength
    if (this.#bytes > this.#limit) {
      throw new LimitExceededError(
        'heldBytes',
        this.#limit,
        `Remote sent more than ${this.#limit} bytes of feed messages before its moderation records were taken`
      )
    }
    this.#held!.push({ name, raw })
  }

  /** Opens the gate: returns what was held, in order; later messages pass. */
  open(): Array<{ name: Name; raw: Buffer }> {
    const held = this.#held ?? []
    this.#held = null
    this.#bytes = 0
    return held
  }
}
