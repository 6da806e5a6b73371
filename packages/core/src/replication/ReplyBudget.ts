/**
 * What a peer's reconciliations may cost us on one connection: one budget of
 * reply bytes per connection, shared by every multifeed on it and kept across
 * re-opens of their channels, so that neither re-opening a channel nor
 * holding the keys of several sets buys a fresh reply each time.
 *
 * Replies are what a remote's open or request makes us send beyond the open
 * itself: coded symbols, our list, and the elements of ours in DONE (the
 * zero lengths that answer the remote's own elements are not ours to count:
 * they echo what it sent). Updates after the reconciliation follow our own
 * changes and are not charged. An in-sync re-open costs one open each way
 * and nothing from the budget.
 *
 * The connection's allowance is one first sync of every multifeed paired on
 * it: per multifeed, 128 B a feed of our set (its size as our opens
 * announced it, the largest counted once, however often the channel
 * re-opens) plus 4 KiB; for a moderated set, also 1,152 B a moderation
 * record of ours (its ≤ 1 KiB bytes sent once, and its share of the ids'
 * reconciliation), counted the same way. A first sync costs at most its list (33–41 B a feed)
 * or the symbols list mode would otherwise replace (up to ~1.1 symbols of
 * ~51 B per feed in the first batch, twice that in the rare batch that was
 * short), and the 4 KiB pays a small set's first batch and the peeling tail of
 * small differences. Beyond the allowance, replies are paid by what the peer
 * sends: each byte it sent on the connection's multifeed channels pays
 * REPLY_BYTES_PER_BYTE bytes of reply. There is no refill with time, so
 * what we send in replies on a connection is at most
 *
 *   Σ over its multifeeds (128 B·n + 1,152 B·r + 4 KiB) + 4 × (bytes it sent on them)
 *
 * (r: our records, 0 unless the set is moderated) *
 * (`replyAllowance`). A reply the budget cannot pay closes the channel with
 * ERR_LIMIT_EXCEEDED (`limit` 'replyBytes'); the multifeed then stays off
 * that connection until the next one.
 */

/** Reply bytes a feed of our set may cost, once per connection. */
export const REPLY_BYTES_PER_FEED = 128
/** Reply bytes a moderation record of ours may cost, once per connection (a record is ≤ 1,024 B). */
export const REPLY_BYTES_PER_RECORD = 1152
/** Reply bytes per multifeed paired on a connection, whatever the set's size. */
export const REPLY_BYTES_PER_SET = 4 * 1024
/** Reply bytes each byte the peer sent on the connection's multifeed channels pays for. */
export const REPLY_BYTES_PER_BYTE = 4

/**
 * The most a peer's reconciliations make us send on one connection: `sets`
 * lists the size of each multifeed paired on it (our set, largest announced),
 * `received` the bytes the peer sent on their channels, `records` the
 * number of moderation records of each moderated set among them.
 */
export function replyAllowance(
  sets: Iterable<number>,
  received = 0,
  records: Iterable<number> = []
): number {
  let bytes = REPLY_BYTES_PER_BYTE * received
  for (const count of sets) bytes += REPLY_BYTES_PER_FEED * count + REPLY_BYTES_PER_SET
  for (const count of records) bytes += REPLY_BYTES_PER_RECORD * count
  return bytes
}

export class ReplyBudget {
  /** Per multifeed (key, hex): the largest set size our opens announced on this connection. */
  readonly #sets = new Map<string, number>()
  /** Per moderated multifeed (key, hex): the most records our opens announced on this connection. */
  readonly #records = new Map<string, number>()
  /** Bytes of the peer's on our multifeed channels, paying for replies. */
  #received = 0
  #spent = 0

  /** Our open of multifeed `key` (hex) announced `count` feeds. */
  announce(key: string, count: number): void {
    this.#sets.set(key, Math.max(this.#sets.get(key) ?? 0, count))
  }

  /** Our open of moderated multifeed `key` (hex) announced `count` records. */
  announceRecords(key: string, count: number): void {
    this.#records.set(key, Math.max(this.#records.get(key) ?? 0, count))
  }

  /** The peer sent `bytes` more on a multifeed channel of this connection. */
  receive(bytes: number): void {
    this.#received += bytes
  }

  /** Bytes of reply the connection may cost in all, now. */
  get allowance(): number {
    return replyAllowance(this.#sets.values(), this.#received, this.#records.values())
  }

  /** Bytes left, now. */
  get left(): number {
    return this.allowance - this.#spent
  }

  /** Pays `bytes` of reply; false (nothing paid) when they do not fit. */
  spend(bytes: number): boolean {
    if (bytes > this.left) return false
    this.#spent += bytes
    return true
  }
}

/** One budget per connection (its replication stream), whichever multifeed asks. */
const budgets = new WeakMap<object, ReplyBudget>()

/** The reply budget of the connection `stream` (made on first use). */
export function replyBudgetOf(stream: object): ReplyBudget {
  let budget = budgets.get(stream)
  if (budget === undefined) {
    budget = new ReplyBudget()
    budgets.set(stream, budget)
  }
  return budget
}
