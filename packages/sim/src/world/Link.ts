/**
 * A link between two peers of the simulated network: two ends (one per
 * member) and a pipe each way. Destroying either end destroys the link.
 */

import type { LinkEnd } from './LinkEnd.js'
import { Pipe } from './Pipe.js'

export class Link {
  /** a → b and b → a. */
  readonly ab: Pipe
  readonly ba: Pipe
  readonly closed: Promise<void>
  #gone = false
  readonly #listeners: Array<() => void> = []

  constructor(
    /** Peer indices (-1 for a member the world did not name). */
    readonly a: number,
    readonly b: number,
    readonly endA: LinkEnd,
    readonly endB: LinkEnd
  ) {
    this.ab = new Pipe(endA.raw, endB.raw)
    this.ba = new Pipe(endB.raw, endA.raw)
    let ends = 2
    let resolve!: () => void
    this.closed = new Promise((r) => {
      resolve = r
    })
    const onEnd = (): void => {
      this.destroy()
      if (--ends === 0) resolve()
    }
    endA.onClose(onEnd)
    endB.onClose(onEnd)
  }

  get destroyed(): boolean {
    return this.#gone
  }

  /** The pipe that carries what `from` sends. */
  from(peer: number): Pipe {
    return peer === this.a ? this.ab : this.ba
  }

  /** The end of `peer`. */
  end(peer: number): LinkEnd {
    return peer === this.a ? this.endA : this.endB
  }

  onClose(listener: () => void): void {
    if (this.#gone) listener()
    else this.#listeners.push(listener)
  }

  destroy(): void {
    if (this.#gone) return
    this.#gone = true
    this.ab.close()
    this.ba.close()
    this.endA.destroy()
    this.endB.destroy()
    for (const listener of this.#listeners.splice(0)) listener()
  }
}
