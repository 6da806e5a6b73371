// When a mesh has converged: every peer holds every block of every feed. Each
// side reports what a peer holds of a feed as it changes (`set`); a 50 ms poll
// resolves `done` once every peer holds the whole mesh, as SyncTracker does
// for two peers.
import { BenchTimeoutError } from '../clock.js'
import { blocksWritten, type MeshShape } from './shape.js'

export class Converged {
  readonly done: Promise<void>
  readonly #target: number
  readonly #lengths: Array<Map<string, number>>
  readonly #held: number[]
  #resolve: () => void = () => {}
  #poller: NodeJS.Timeout | null
  #timer: NodeJS.Timeout | null

  constructor(shape: MeshShape, timeoutMs: number, what: string) {
    this.#target = blocksWritten(shape)
    this.#lengths = Array.from({ length: shape.peers }, () => new Map())
    this.#held = new Array(shape.peers).fill(0)
    let reject: (err: Error) => void = () => {}
    this.done = new Promise<void>((resolve, rej) => {
      this.#resolve = resolve
      reject = rej
    })
    this.done.catch(() => {})
    this.#poller = setInterval(() => this.#poll(), 50)
    this.#timer = setTimeout(() => {
      this.stop()
      const held = this.#held.reduce((s, n) => s + n, 0)
      reject(
        new BenchTimeoutError(
          `${what}: ${held.toLocaleString('en-US')}/${(this.#target * shape.peers).toLocaleString('en-US')} blocks held`,
          timeoutMs
        )
      )
    }, timeoutMs)
  }

  /** Peer `peer` holds the first `length` blocks of feed `id`. */
  set(peer: number, id: string, length: number): void {
    const lengths = this.#lengths[peer]!
    const before = lengths.get(id) ?? 0
    if (length <= before) return
    lengths.set(id, length)
    this.#held[peer]! += length - before
  }

  /** Blocks every peer holds, summed. */
  get held(): number {
    return this.#held.reduce((s, n) => s + n, 0)
  }

  #poll(): void {
    if (this.#held.every((n) => n >= this.#target)) {
      this.stop()
      this.#resolve()
    }
  }

  stop(): void {
    if (this.#poller) clearInterval(this.#poller)
    if (this.#timer) clearTimeout(this.#timer)
    this.#poller = null
    this.#timer = null
  }
}
