/**
 * Which errors of a connection the networker reports, and when. Some are
 * normal life (a duplicate connection dropped, a failed dial): never
 * reported. A reset may be the remote swapping our connection for a newer
 * one: held back for a grace period, and dropped if a new connection to the
 * same remote shows up meanwhile.
 */
import type { NoiseSecretStream } from '@multifeed/holepunch-types'

/** How long a reset connection waits for its replacement before the reset is reported. */
const RESET_GRACE_MS = 3000

/**
 * The errors a connection reports that are part of normal life, not failures
 * for the user. When both sides dial at once, Hyperswarm keeps one connection
 * and destroys the other with "Duplicate connection"; the side that did not
 * choose sees the dropped one reset (or time out) before it received a byte,
 * often while the kept one to the same peer is already up. A connection that
 * never received a byte carried nothing: its failure is a failed dial, which
 * Hyperswarm retries silently.
 */
export function isBenignConnectionError(
  err: unknown,
  stream?: NoiseSecretStream,
  hasTwin = false
): boolean {
  if (!(err instanceof Error)) return false
  if (err.message === 'Duplicate connection') return true
  if (stream === undefined) return false
  if (stream.rawBytesRead === 0) return true
  return hasTwin && (err as { code?: unknown }).code === 'ECONNRESET'
}

/**
 * Resets held back per remote (by public key), each until its grace period
 * ends or a new connection to that remote cancels it.
 */
export class ResetGrace {
  readonly #pending = new Map<string, Set<NodeJS.Timeout>>()

  /** Calls `report` after the grace period, unless `cancel()` for `remotePublicKey` comes first. */
  defer(remotePublicKey: Buffer, report: () => void): void {
    const id = remotePublicKey.toString('hex')
    let pending = this.#pending.get(id)
    if (pending === undefined) {
      pending = new Set()
      this.#pending.set(id, pending)
    }
    const timer = setTimeout(() => {
      pending.delete(timer)
      if (pending.size === 0 && this.#pending.get(id) === pending) {
        this.#pending.delete(id)
      }
      report()
    }, RESET_GRACE_MS)
    timer.unref()
    pending.add(timer)
  }

  /** A new connection to `remotePublicKey`: the resets of its earlier ones were a swap. */
  cancel(remotePublicKey: Buffer): void {
    const id = remotePublicKey.toString('hex')
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    for (const timer of pending) clearTimeout(timer)
    this.#pending.delete(id)
  }

  /** Drops every held-back reset (at close). */
  clear(): void {
    for (const pending of this.#pending.values()) {
      for (const timer of pending) clearTimeout(timer)
    }
    this.#pending.clear()
  }
}

/** `err` as an Error (a thrown non-Error is wrapped, its text kept). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
