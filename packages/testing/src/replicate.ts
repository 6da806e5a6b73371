import type { Duplex } from 'node:stream'
import type { Multifeed } from '@multifeed/core'

/** A direct pipe between two multifeeds (no network). */
export interface Replication extends AsyncDisposable {
  /** The initiator's stream (`a.replicate(true)`) and the responder's (`b.replicate(false)`). */
  readonly streams: readonly [Duplex, Duplex]
  /** Errors the streams emitted (a destroyed pipe is not an error). */
  readonly errors: readonly Error[]
  /** Destroys both streams and resolves once both closed. Idempotent. */
  close(): Promise<void>
}

/**
 * Replicates `a` (initiator) with `b` over an in-memory pipe:
 * `a.replicate(true)` piped into `b.replicate(false)` and back.
 *
 * ```ts
 * await using pipe = replicate(a, b)
 * await untilSynced([a, b])
 * ```
 */
export function replicate(a: Multifeed, b: Multifeed): Replication {
  const s1: Duplex = a.replicate(true)
  const s2: Duplex = b.replicate(false)
  const errors: Error[] = []
  const onError = (err: Error): void => {
    errors.push(err)
  }
  s1.on('error', onError)
  s2.on('error', onError)
  s1.pipe(s2).pipe(s1)
  const closed = Promise.all([whenClosed(s1), whenClosed(s2)])
  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    if (closing === null) {
      s1.destroy()
      s2.destroy()
      closing = closed.then(() => {})
    }
    return closing
  }
  return { streams: [s1, s2], errors, close, [Symbol.asyncDispose]: close }
}

function whenClosed(stream: Duplex): Promise<void> {
  if (stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}
