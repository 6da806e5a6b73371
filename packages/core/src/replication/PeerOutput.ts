/**
 * What we send one peer on its multifeed channel: messages produced only
 * while the stream takes more (Outbox), and replies to the peer's
 * reconciliations paid from the connection's budget (ReplyBudget), which a
 * reply it cannot pay refuses with ERR_LIMIT_EXCEEDED.
 */
import { LimitExceededError } from '../errors.js'
import { Outbox, type Producer } from './Outbox.js'
import type { ChannelMessage, PeerChannel } from './PeerChannel.js'
import type { PeerStats } from './PeerHost.js'
import type { ReplyBudget } from './ReplyBudget.js'
import type { ExchangeOut } from './SetExchange.js'

export class PeerOutput implements ExchangeOut {
  readonly #channel: PeerChannel
  readonly #budget: ReplyBudget
  readonly #outbox: Outbox
  /** The multifeed's key (hex): its share of the connection's budget. */
  readonly #key: string
  /** The channel's counters: what the peer sent pays for replies. */
  readonly #stats: PeerStats
  /** Bytes of the peer's credited to the budget so far. */
  #credited = 0

  /**
   * `budget`: the connection's; `key`: the multifeed's (hex); `stats`: this
   * channel's counters; `live`: false once the peer closed or failed;
   * `onError`: a producer's fault (the peer's).
   */
  constructor(
    channel: PeerChannel,
    budget: ReplyBudget,
    key: string,
    stats: PeerStats,
    live: () => boolean,
    onError: (err: unknown) => void
  ) {
    this.#channel = channel
    this.#budget = budget
    this.#key = key
    this.#stats = stats
    this.#outbox = new Outbox(() => channel.writable && live(), onError)
  }

  /** Our open announced a set of `count` feeds. */
  announced(count: number): void {
    this.#budget.announce(this.#key, count)
  }

  /** Our open announced `count` moderation records (a moderated set). */
  announcedRecords(count: number): void {
    this.#budget.announceRecords(this.#key, count)
  }

  queue(producer: Producer): void {
    this.#outbox.push(producer)
  }

  send(name: ChannelMessage, raw: Buffer, paid = 0): void {
    if (paid > 0) {
      const budget = this.#budget
      budget.receive(this.#stats.bytesReceived - this.#credited)
      this.#credited = this.#stats.bytesReceived
      if (!budget.spend(paid)) {
        throw new LimitExceededError(
          'replyBytes',
          budget.allowance,
          `Remote's reconciliations on this connection cost more than ${budget.allowance} bytes of replies (one first sync of each multifeed, then what it sends pays for what it asks)`
        )
      }
    }
    this.#channel.send(name, raw)
  }

  /** The stream took what was queued: send more. */
  drain(): void {
    this.#outbox.drain()
  }

  /** The channel closed: nothing queued is sent. */
  clear(): void {
    this.#outbox.clear()
  }
}
