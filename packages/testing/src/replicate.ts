import type { Duplex } from 'node:stream'
import { type Multifeed, Resource } from '@multifeed/core'
import type { NoEvents } from './Teardown.js'

/**
 * A direct pipe between two multifeeds (no network): `a.replicate(true)`
 * piped into `b.replicate(false)` and back, from construction on. `close()`
 * destroys both streams and resolves once both closed.
 */
export class Replication extends Resource<NoEvents> {
  /** The initiator's stream (`a.replicate(true)`) and the responder's (`b.replicate(false)`). */
  readonly streams: readonly [Duplex, Duplex]
  /** Errors the streams emitted (a destroyed pipe is not an error). */
  readonly errors: Error[] = []

  constructor(a: Multifeed<unknown>, b: Multifeed<unknown>) {
    super()
    const s1: Duplex = a.replicate(true)
    const s2: Duplex = b.replicate(false)
    for (const stream of [s1, s2]) stream.on('error', (err: Error) => this.errors.push(err))
    s1.pipe(s2).pipe(s1)
    this.streams = [s1, s2]
  }

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    const closed = this.streams.map(whenClosed)
    for (const stream of this.streams) stream.destroy()
    await Promise.all(closed)
  }
}

/**
 * Replicates `a` (initiator) with `b` over an in-memory pipe.
 *
 * ```ts
 * await using pipe = replicate(a, b)
 * await untilSynced([a, b])
 * ```
 */
export function replicate(a: Multifeed<unknown>, b: Multifeed<unknown>): Replication {
  const pipe = new Replication(a, b)
  void pipe.ready()
  return pipe
}

function whenClosed(stream: Duplex): Promise<void> {
  if (stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}
