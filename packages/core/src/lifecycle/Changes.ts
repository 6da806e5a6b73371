/**
 * The one change subscription of a multifeed: what waits on the set
 * (`synced()`, `read()`) subscribes here, and is woken whenever something
 * it watches changed: a length, a feed, a peer, the lifecycle.
 */
export class Changes {
  readonly #listeners = new Set<() => void>()

  /** Calls `listener` on every change `wake()` announces; returns the unsubscribe. */
  on(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Something that waiters watch changed. */
  wake(): void {
    for (const listener of [...this.#listeners]) listener()
  }
}
