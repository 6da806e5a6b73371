/// <reference types="@multifeed/holepunch-types" />
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type Hypercore from 'hypercore'

/** Where temporary stores live: /dev/shm when it exists (RAM), the OS temp dir otherwise. */
export const TMP_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

export async function tmpDir(label: string): Promise<string> {
  return mkdtemp(join(TMP_ROOT, `multifeed-bench-${label}-`))
}

export async function rmDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 })
}

export function now(): number {
  return performance.now()
}

/** CPU time (user + system) of this process so far, in ms: both peers of a scenario run here. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

let quiet = false
export function setQuiet(value: boolean): void {
  quiet = value
}

const started = now()
/** A progress line on stderr, prefixed with the elapsed time of the run. */
export function progress(message: string): void {
  if (quiet) return
  const s = ((now() - started) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[${s}s] ${message}\n`)
}

export function block(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size)
  buf.writeUInt32BE(seed >>> 0, 0)
  buf.fill(seed & 0xff, 4)
  return buf
}

/** Appends `blocks` blocks of `size` bytes, in batches. */
export async function fill(
  core: Hypercore<unknown>,
  blocks: number,
  size: number,
  seed: number
): Promise<void> {
  const BATCH = 100
  for (let i = 0; i < blocks; i += BATCH) {
    const batch: Buffer[] = []
    for (let j = i; j < Math.min(blocks, i + BATCH); j++) batch.push(block(size, seed + j))
    await core.append(batch)
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>
): Promise<void> {
  let next = 0
  const workers: Promise<void>[] = []
  for (let w = 0; w < Math.min(limit, items.length); w++) {
    workers.push(
      (async () => {
        while (next < items.length) {
          const i = next++
          await fn(items[i]!, i)
        }
      })()
    )
  }
  await Promise.all(workers)
}

export class BenchTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms: ${what}`)
    this.name = 'BenchTimeoutError'
  }
}

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

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | null = null
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BenchTimeoutError(what, ms)), ms)
    })
  ]).finally(() => {
    if (timer) clearTimeout(timer)
  })
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
