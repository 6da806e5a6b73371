import type { Hypercore } from '@multifeed/holepunch-types'
import { BenchTimeoutError } from './clock.js'

/**
 * Tracks cores on a reader until each one holds `length` contiguous blocks.
 * Cores are added as they become known (`add`); `done` resolves once `expected`
 * distinct cores are complete.
 */
export class SyncTracker {
  readonly expected: number
  readonly length: number
  private readonly complete = new Set<string>()
  private readonly pending = new Map<string, Hypercore<unknown>>()
  private resolve: (() => void) | null = null
  private reject: ((err: Error) => void) | null = null
  readonly done: Promise<void>
  private poller: NodeJS.Timeout | null = null
  private timer: NodeJS.Timeout | null = null

  constructor(expected: number, length: number, timeoutMs: number, what: string) {
    this.expected = expected
    this.length = length
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.done.catch(() => {})
    if (expected === 0) this.finish()
    this.poller = setInterval(() => this.poll(), 50)
    this.timer = setTimeout(() => {
      this.stop()
      this.reject?.(
        new BenchTimeoutError(
          `${what}: ${this.complete.size}/${expected} cores complete`,
          timeoutMs
        )
      )
    }, timeoutMs)
  }

  get completed(): number {
    return this.complete.size
  }

  /**
   * Watches the core until it holds `[0, length)`. With `download` (raw
   * corestore) it also requests that range; a multifeed downloads by itself.
   */
  add(core: Hypercore<unknown>, id: string, download = true): void {
    if (this.complete.has(id) || this.pending.has(id)) return
    this.pending.set(id, core)
    if (download) {
      core
        .download({ start: 0, end: this.length })
        .done()
        .then(
          () => this.check(id),
          () => {}
        )
    }
    core.on('download', () => this.check(id))
    this.check(id)
  }

  private check(id: string): void {
    const core = this.pending.get(id)
    if (!core) return
    if (core.contiguousLength >= this.length) {
      this.pending.delete(id)
      this.complete.add(id)
      if (this.complete.size >= this.expected) this.finish()
    }
  }

  private poll(): void {
    for (const id of [...this.pending.keys()]) this.check(id)
  }

  private finish(): void {
    this.stop()
    this.resolve?.()
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller)
    if (this.timer) clearTimeout(this.timer)
    this.poller = null
    this.timer = null
  }

  /** Verifies the definition of synced on the given cores: each exists and has exactly `length`. */
  static verify(cores: Hypercore<unknown>[], expected: number, length: number): void {
    if (cores.length !== expected) {
      throw new Error(`reader holds ${cores.length} cores, expected ${expected}`)
    }
    for (const core of cores) {
      if (core.contiguousLength !== length) {
        throw new Error(`core has contiguousLength ${core.contiguousLength}, expected ${length}`)
      }
    }
  }
}
