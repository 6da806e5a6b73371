/**
 * Memory queued per non-reading peer ≤ a stated bound: while a peer does not
 * read a link, what the sender holds for it (its stream buffers and the
 * link's window) stays under `QUEUE_BOUND`.
 */
import type { Finding } from './Violation.js'

/**
 * Bytes an honest peer may queue for one peer that does not read. Issue 13
 * point 2 measured ~38 MiB per re-open over TCP+Noise on main at 4765c75.
 */
export const QUEUE_BOUND = 8 * 1024 * 1024

export const QUEUE = `memory queued per non-reading peer ≤ ${QUEUE_BOUND / 1024 / 1024} MiB`

export interface StalledLink {
  /** The honest sender and the peer that does not read. */
  sender: number
  reader: number
  /** Bytes held for the reader: the sender's stream buffers plus what is in flight. */
  queued: number
}

export function checkQueued(stalled: StalledLink[]): Finding[] {
  return stalled
    .filter((s) => s.queued > QUEUE_BOUND)
    .map((s) => ({
      invariant: QUEUE,
      peer: s.sender,
      detail: `${(s.queued / 1024 / 1024).toFixed(1)} MiB queued for peer ${s.reader}, which does not read`
    }))
}
