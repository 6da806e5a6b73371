/**
 * What we send one peer on its multifeed channel: messages produced only
 * while the stream takes more (Outbox), and replies to the peer's
 * reconciliations paid from the connection's budget (ReplyBudget), which a
 * reply it cannot pay refuses with ERR_LIMIT_EXCEEDED.
 */
import { LimitExceededError } from '../errors.js'
import { Outbox, type Producer } from './Outbox.js'
import type { ChannelMessage, PeerChannel } from './PeerChannel.js'
import { REPLY_UNITS, type ReplyBudget, replyUnit } from './ReplyBudget.js'
import type { ExchangeOut } from './SetExchange.js'

export class PeerOutput implements ExchangeOut {
  readonly #channel: PeerChannel
  readonly #budget: ReplyBudget
  readonly #outbox: Outbox
  /** The set's size our open announced (sizes the budget). */
  #announced = 0

  /** `live`: false once the peer closed or failed; `onError`: a producer's fault (the peer's). */
  constructor(
    channel: PeerChannel,
    budget: ReplyBudget,
    live: () => boolean,
    onError: (err: unknown) => void
  ) {
    this.#channel = channel
    this.#budget = budget
    this.#outbox = new Outbox(() => channel.writable && live(), onError)
  }

  /** Our open announced a set of `count` feeds. */
  announced(count: number): void {
    this.#announced = count
  }

  queue(producer: Producer): void {
    this.#outbox.push(producer)
  }

  send(name: ChannelMessage, raw: Buffer, paid = 0): void {
    if (paid > 0 && !this.#budget.spend(paid, this.#announced)) {
      const unit = replyUnit(this.#announced)
      throw new LimitExceededError(
        'replyBytes',
        REPLY_UNITS * unit,
        `Remote's reconciliations on this connection cost more than ${REPLY_UNITS * unit} bytes of replies (it re-opens too often); refilled at ${unit} bytes a minute`
      )
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
