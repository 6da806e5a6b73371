/**
 * What a peer's reconciliations may cost us on one connection, for one
 * multifeed: a token bucket of reply bytes that outlives the channel, so that
 * closing and re-opening the channel does not buy a fresh reply each time.
 *
 * Replies are what a remote's open or request makes us send beyond the open
 * itself: coded symbols, our list, and the elements of ours in DONE (the
 * zero lengths that answer the remote's own elements are not ours to count:
 * they echo what it sent). Updates after the reconciliation follow our own
 * changes and are not charged. An in-sync re-open costs one open each way
 * and nothing from the budget.
 *
 * The unit is what one honest reconciliation of a set of n feeds costs at
 * most: its list (33–41 B a feed) or the symbols list mode would otherwise
 * replace (~1.5 symbols of ~51 B per difference, up to ~0.9·n differences),
 * so 64 B a feed, plus 64 KiB for the first batch and the tail of small
 * differences. The bucket holds two units (a first sync and a re-open) and
 * refills one unit a minute. A reply it cannot pay closes the channel with
 * ERR_LIMIT_EXCEEDED (`limit` 'replyBytes'); the multifeed then stays off
 * that connection until the next one.
 */

/** Reply bytes a feed of our set may cost per reconciliation. */
export const REPLY_BYTES_PER_FEED = 64
/** Reply bytes per reconciliation whatever the set's size. */
export const REPLY_BYTES_BASE = 64 * 1024
/** Units the bucket holds. */
export const REPLY_UNITS = 2
/** Time to refill one unit. */
export const REPLY_REFILL_MS = 60_000

/** What one reconciliation of a set of `count` feeds may cost us (the bucket's unit). */
export function replyUnit(count: number): number {
  return REPLY_BYTES_PER_FEED * count + REPLY_BYTES_BASE
}

export class ReplyBudget {
  readonly #now: () => number
  /** Bytes left; null until the first reply (the bucket starts full). */
  #bytes: number | null = null
  #at = 0

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Bytes left for a set of `count` feeds, now. */
  left(count: number): number {
    const unit = replyUnit(count)
    const capacity = REPLY_UNITS * unit
    const now = this.#now()
    const refill = this.#bytes === null ? capacity : ((now - this.#at) * unit) / REPLY_REFILL_MS
    this.#bytes = Math.min(capacity, (this.#bytes ?? 0) + refill)
    this.#at = now
    return this.#bytes
  }

  /** Pays `bytes` of reply for a set of `count` feeds; false (nothing paid) when they do not fit. */
  spend(bytes: number, count: number): boolean {
    if (bytes > this.left(count)) return false
    this.#bytes! -= bytes
    return true
  }
}
