/**
 * Reading across the set, for kappa-style indexes: every block of every
 * feed, each feed in order, from a position the caller stored, live if
 * asked. A core is opened while its blocks are read and closed after.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import type { Feed } from './FeedSet.js'

export interface ReadOptions {
  /** Keep waiting for new blocks and feeds once everything held was read. Default false. */
  live?: boolean
  /**
   * Where to resume: for each feed (hex key), the next block to read
   * (`seq + 1` of the last entry you processed). Feeds not named start at 0.
   */
  since?: Record<string, number> | Map<string, number>
  /** Ends the iteration (without an error) when it aborts. */
  signal?: AbortSignal
}

export interface ReadEntry<T> {
  /** The feed's key. */
  key: Buffer
  /** The block's index in its feed. */
  seq: number
  value: T
}

export interface ReaderHost {
  /** The feeds of the set right now, in the order they joined. */
  feeds(): readonly Feed[]
  /** A session of the feed that the reader closes after reading. */
  session(feed: Feed): Promise<Hypercore<unknown>>
  /** Calls `listener` when a feed joins or grows, or the set closes; returns the unsubscribe. */
  onChange(listener: () => void): () => void
  readonly closing: boolean
}

export async function* read<T>(
  host: ReaderHost,
  options: ReadOptions
): AsyncGenerator<ReadEntry<T>> {
  const next = new Map<string, number>(
    options.since instanceof Map ? options.since : Object.entries(options.since ?? {})
  )
  const signal = options.signal
  let changed = true
  let wake: (() => void) | null = null
  const poke = (): void => {
    changed = true
    wake?.()
  }
  const off = host.onChange(poke)
  signal?.addEventListener('abort', poke)
  try {
    while (!host.closing && !signal?.aborted) {
      changed = false
      for (const feed of [...host.feeds()]) {
        let seq = next.get(feed.id) ?? 0
        if (seq >= feed.length) continue
        const session = await host.session(feed)
        try {
          const end = Math.min(feed.length, session.contiguousLength)
          for await (const value of session.createReadStream({ start: seq, end })) {
            yield { key: feed.key, seq, value: value as T }
            next.set(feed.id, ++seq)
            if (host.closing || signal?.aborted) return
          }
        } finally {
          await session.close().catch(() => {})
        }
      }
      if (options.live !== true) return
      if (!changed) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = null
      }
    }
  } finally {
    off()
    signal?.removeEventListener('abort', poke)
  }
}
