/**
 * Moderated runs: what a blocked feed sends over the links the simulator
 * observes. Every Noise stream of an in-process honest peer has its
 * plaintext watched as it is written (Protomux writes each frame with
 * `stream.write`, so the wrap below sees every frame before it is
 * encrypted; the one place the simulator touches a stream's method). A
 * frame that carries a blocked feed's discovery key (a core's channel open)
 * or one of its junk blocks (`spamMarker`), sent while both ends have acted
 * on the block (the sender's `moderation` event came and its state still
 * blocks it; the receiver's event came), is a hit: a block of F crossed a
 * link after both ends held the record. Child peers' own streams live in
 * their process: what they send is not watched (what they receive from an
 * in-process peer is).
 */
import crypto from 'hypercore-crypto'
import type { LinkEnd } from './LinkEnd.js'
import { type Acted, spamMarker } from './Moderated.js'

export interface WireHit {
  sender: number
  receiver: number
  set: number
  /** The feed (hex) whose material crossed. */
  feed: string
  what: 'discovery key' | 'junk block'
}

/** What the watch asks the world, synchronously. */
export interface WatchedWorld {
  /** What `peer` acted on in `set` (null: not open there, or unknown). */
  acted(peer: number, set: number): Acted | null
  /** True when `peer` (in process) has `set` open and its state blocks the feed now. */
  blocksNow(peer: number, set: number, key: string, owner: string | null): boolean
  /** Set indices. */
  readonly sets: number
}

const SPAM = Buffer.from(spamMarker('').slice(0, 5))

interface Patterns {
  discoveryKey: Buffer
  marker: Buffer
}

export class WireWatch {
  readonly hits: WireHit[] = []
  /** Frames looked at. */
  frames = 0
  /** Frames that carried junk blocks of any spam feed (blocked or not): the watch sees plaintext. */
  spamFrames = 0
  readonly #patterns = new Map<string, Patterns>()

  constructor(readonly world: WatchedWorld) {}

  /** Watches what `sender` writes to `receiver` on this end. */
  attach(sender: number, receiver: number, end: LinkEnd): void {
    const stream = end.stream as unknown as { write(chunk: unknown, ...rest: unknown[]): boolean }
    if (stream === undefined) return
    const write = stream.write.bind(stream)
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
        this.#look(sender, receiver, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      }
      return write(chunk, ...rest)
    }
  }

  #look(sender: number, receiver: number, frame: Buffer): void {
    this.frames++
    if (frame.includes(SPAM)) this.spamFrames++
    for (let set = 0; set < this.world.sets; set++) {
      const acted = this.world.acted(sender, set)
      if (acted === null || acted.removed.length === 0) continue
      for (const { key, owner } of acted.removed) {
        const p = this.#of(key)
        const what = frame.includes(p.discoveryKey)
          ? ('discovery key' as const)
          : frame.includes(p.marker)
            ? ('junk block' as const)
            : null
        if (what === null) continue
        if (!this.world.blocksNow(sender, set, key, owner)) continue
        const there = this.world.acted(receiver, set)
        if (there === null) continue
        const targets = new Set(there.targets)
        if (!targets.has(`feed:${key}`) && !(owner !== null && targets.has(`identity:${owner}`))) {
          continue
        }
        this.hits.push({ sender, receiver, set, feed: key, what })
      }
    }
  }

  #of(key: string): Patterns {
    let p = this.#patterns.get(key)
    if (p === undefined) {
      p = {
        discoveryKey: crypto.discoveryKey(Buffer.from(key, 'hex')),
        marker: Buffer.from(spamMarker(key))
      }
      this.#patterns.set(key, p)
    }
    return p
  }
}
