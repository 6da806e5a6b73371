/**
 * Appends through the sessions the set hands out, followed to the end: a
 * block that landed is reported to the length index even when its session
 * closed meanwhile, and `close()` waits for every append in flight before
 * the sessions close and the clean-close mark is written.
 *
 * Without it an append started just before `multi.close()` resolved while
 * the set no longer listened: the block was on disk, but the clean-close
 * mark carried the old length, the next open trusted it, and the block was
 * listed, reconciled and served by no one (issue 13).
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import { ClosedError } from '../errors.js'

export class Appends {
  readonly #inFlight = new Set<Promise<unknown>>()
  #closed = false

  /**
   * Follows the appends of `core`: `landed(length)` gets the core's length
   * once each resolves; once closed, an append rejects with ERR_CLOSED and
   * writes nothing.
   */
  follow(core: Hypercore<unknown>, landed: (length: number) => void): void {
    const append = core.append.bind(core)
    core.append = (blocks, options) => {
      if (this.#closed) {
        return Promise.reject(new ClosedError('The multifeed is closed: nothing was appended'))
      }
      const appending = append(blocks, options)
      this.#inFlight.add(appending)
      appending.then(
        ({ length }) => {
          this.#inFlight.delete(appending)
          landed(length)
        },
        () => this.#inFlight.delete(appending)
      )
      return appending
    }
  }

  /** Refuses new appends and resolves once every append in flight settled. */
  async close(): Promise<void> {
    this.#closed = true
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
  }
}
