/**
 * When a peer's connection went quiet, for the sweep of its idle cores
 * (PeerCores): no block moved, no core attached or waiting to, for the idle
 * time. In the middle of a sync the sweep would detach, one by one, cores
 * that are done while thousands of others still move, and scan them all on
 * every tick; so it looks only once the connection is quiet, and on a
 * connection that never is, every BUSY_SWEEP_FACTOR idle times.
 */

/** A connection that never goes quiet is swept every this many idle times all the same. */
export const BUSY_SWEEP_FACTOR = 10

export class QuietClock {
  /** Blocks moved on the connection (both ways), counted to tell when it went quiet. */
  #moves = 0
  /** What `#moves + attached` was at the last look, and when it last changed. */
  #lastActivity = -1
  #busySince = 0
  #lastScan = -1

  /** A block of the set moved on the connection (either way). */
  moved(): void {
    this.#moves++
  }

  /**
   * At `now`, with `attached` cores attached so far and `busy` when cores
   * wait or open: null when the sweep should not look yet, else whether
   * the connection has been quiet for `idleMs`.
   */
  look(now: number, idleMs: number, attached: number, busy: boolean): boolean | null {
    const activity = this.#moves + attached
    if (activity !== this.#lastActivity || busy) {
      this.#lastActivity = activity
      this.#busySince = now
    }
    if (this.#lastScan < 0) this.#lastScan = now
    const quiet = now - this.#busySince >= idleMs
    if (!quiet && now - this.#lastScan < BUSY_SWEEP_FACTOR * idleMs) return null
    this.#lastScan = now
    return quiet
  }
}
