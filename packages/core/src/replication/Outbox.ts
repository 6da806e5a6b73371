/**
 * What we send one peer on its multifeed channel, produced only while the
 * connection takes more: the stream's backpressure (Protomux's `drained`,
 * false once a write filled the stream's buffer, true again at its `drain`).
 *
 * Every reply (coded symbols, a list, DONE, updates) is a producer that
 * sends at most one message a call; the outbox runs the producers in order
 * while the stream is drained and stops as soon as it is not, until the
 * channel hears `drain`. So a peer that does not read makes us queue at most
 * the stream's high-water mark plus one message (≤ 4,096 coded symbols,
 * ~210 KB) per multifeed channel, whatever it asks for; what it asks for
 * meanwhile waits as a few integers (see ReconcileEncoder.request: a second
 * request before the first was produced is a fault of the peer).
 */

/** Sends at most one message; returns true once it has nothing more to send. */
export type Producer = () => boolean

export class Outbox {
  readonly #writable: () => boolean
  readonly #onError: (err: unknown) => void
  readonly #queue: Producer[] = []
  #running = false

  /**
   * `writable`: true while the stream takes more (and the channel is open);
   * `onError`: a producer threw (a limit of ours: the peer's fault).
   */
  constructor(writable: () => boolean, onError: (err: unknown) => void) {
    this.#writable = writable
    this.#onError = onError
  }

  /** Producers waiting for the stream to drain. */
  get waiting(): number {
    return this.#queue.length
  }

  /** Queues `producer` behind the others and runs what the stream takes now. */
  push(producer: Producer): void {
    this.#queue.push(producer)
    this.drain()
  }

  /** Runs producers while the stream takes more (also called at the stream's `drain`). Never throws. */
  drain(): void {
    if (this.#running) return
    this.#running = true
    try {
      while (this.#queue.length > 0 && this.#writable()) {
        if (this.#queue[0]!()) this.#queue.shift()
      }
    } catch (err) {
      this.#queue.length = 0
      this.#onError(err)
    } finally {
      this.#running = false
    }
  }

  /** The channel closed: nothing queued is sent. */
  clear(): void {
    this.#queue.length = 0
  }
}
