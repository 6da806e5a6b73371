// Links between two replication streams in one process: a plain pipe, and a
// lockstep relay that counts one-way flights (how many times data had to
// cross the link before something happened), for round trips.
import type { Duplex } from 'node:stream'
import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import { destroyStreams, noop } from './net.js'

/** Two replication streams connected; `steps` counts one-way flights (lockstep only). */
export interface Link {
  readonly a: Duplex
  readonly b: Duplex
  /** Delivery steps so far (0 for a plain pipe). */
  readonly steps: number
  /** Bytes both sides wrote on the wire (Noise handshake, framing and MACs included). */
  wireBytes(): number
  close(): Promise<void>
}

function noiseOf(stream: Duplex): NoiseSecretStream {
  const s = stream as unknown as { noiseStream?: NoiseSecretStream }
  return s.noiseStream ?? (stream as unknown as NoiseSecretStream)
}

/** Bytes written on the wire by the streams (both directions when given both ends). */
export function wireBytesOf(...streams: Duplex[]): number {
  return streams.reduce((sum, s) => sum + noiseOf(s).rawBytesWritten, 0)
}

/** A direct pipe: `a.pipe(b).pipe(a)`. */
export function pipeLink(a: Duplex, b: Duplex): Link {
  a.on('error', noop)
  b.on('error', noop)
  a.pipe(b).pipe(a)
  return {
    a,
    b,
    steps: 0,
    wireBytes: () => wireBytesOf(a, b),
    close: () => destroyStreams(a, b)
  }
}

/**
 * A relay that holds everything written in either direction and delivers it
 * only once both sides went quiet for `quietMs` (nothing written meanwhile):
 * each delivery is one step, i.e. one one-way trip of the link, carrying
 * whatever either side sent in reaction to the previous step. Counting steps
 * until an event gives the number of one-way flights it needed, independent
 * of CPU time; a round trip is two steps. A reaction that pauses longer than
 * `quietMs` between two writes would be counted as two steps (over-counts,
 * never under-counts). Within a step, chunks are written one per macrotask
 * (as separate packets would arrive).
 */
export class LockstepLink implements Link {
  #steps = 0
  #ab: Buffer[] = []
  #ba: Buffer[] = []
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor(
    readonly a: Duplex,
    readonly b: Duplex,
    readonly quietMs = 50
  ) {
    a.on('error', noop)
    b.on('error', noop)
    a.on('data', (chunk: Buffer) => this.#hold(this.#ab, chunk))
    b.on('data', (chunk: Buffer) => this.#hold(this.#ba, chunk))
  }

  get steps(): number {
    return this.#steps
  }

  wireBytes(): number {
    return wireBytesOf(this.a, this.b)
  }

  #hold(queue: Buffer[], chunk: Buffer): void {
    queue.push(chunk)
    this.#arm()
  }

  #arm(): void {
    if (this.#closed) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#deliver(), this.quietMs)
  }

  #deliver(): void {
    this.#timer = null
    if (this.#closed || (this.#ab.length === 0 && this.#ba.length === 0)) return
    this.#steps++
    const ab = this.#ab
    const ba = this.#ba
    this.#ab = []
    this.#ba = []
    // One chunk per macrotask, as separate packets arrive: delivering a whole
    // step synchronously stalls the multifeed pairing (bench-findings.md, issue 7 §1).
    this.#feed(this.b, ab, 0)
    this.#feed(this.a, ba, 0)
  }

  #feed(to: Duplex, chunks: Buffer[], i: number): void {
    if (i >= chunks.length || this.#closed) return
    to.write(chunks[i]!)
    setImmediate(() => this.#feed(to, chunks, i + 1))
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    await destroyStreams(this.a, this.b)
  }
}

/**
 * The step at which each side's Noise handshake completed (the responder
 * completes one step after the initiator): flights before that are the
 * handshake's, common to raw corestore and multifeed.
 */
export function handshakeSteps(link: Link): Promise<number> {
  const opened = (s: Duplex) => noiseOf(s).opened.then(() => link.steps)
  return Promise.all([opened(link.a), opened(link.b)]).then((steps) => Math.max(...steps))
}
