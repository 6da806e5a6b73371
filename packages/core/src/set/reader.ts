/**
 * Reading across the set, for kappa-style indexes: every block of every
 * feed, each feed in order, from a position the caller stored, live if
 * asked. A core is opened while its blocks are read and closed after. A
 * block that does not decode is an entry with an `error`, never the end.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import type { EncodingError } from '../errors.js'
import { undecodable } from './blockEncoding.js'
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

/**
 * What `read()` yields for each block, in order: its value, or, for a block
 * that does not decode with the set's `valueEncoding` (a member wrote bytes
 * of another encoding), an `error` in its place. Either way `key` and `seq`
 * say where it is, so a stored position (`since`) moves past it.
 */
export type ReadEntry<T> = ReadValueEntry<T> | ReadErrorEntry

/** A block that decoded. */
export interface ReadValueEntry<T> {
  /** The feed's key. */
  key: Buffer
  /** The block's index in its feed. */
  seq: number
  value: T
  error?: undefined
}

/** A block that does not decode: reported, skipped, and the read goes on. */
export interface ReadErrorEntry {
  /** The feed's key. */
  key: Buffer
  /** The block's index in its feed. */
  seq: number
  value?: undefined
  /** ERR_ENCODING with the feed's `key`, the `seq` and the codec's error as `cause`. */
  error: EncodingError
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
          for (; seq < end; next.set(feed.id, ++seq)) {
            yield await entryAt<T>(session, feed.key, seq)
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

/** Block `seq` of the feed: its value, or the error that says it does not decode. */
async function entryAt<T>(
  session: Hypercore<unknown>,
  key: Buffer,
  seq: number
): Promise<ReadEntry<T>> {
  try {
    return { key, seq, value: (await session.get(seq)) as T }
  } catch (err) {
    const error = undecodable(err, key, seq)
    if (error === null) throw err
    return { key, seq, error }
  }
}
