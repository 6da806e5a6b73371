import type { Multifeed } from '@multifeed/core'

/** Progress of one peer on one multifeed. */
export interface Cell {
  feeds: number
  blocks: number
}

/**
 * What a multifeed holds: its feeds, and the blocks each holds
 * (`FeedInfo.length`, the blocks held contiguously), counted up to the
 * `entries` each writer writes. The demo's completion is what is held
 * against what was written, not a count of blocks moved: that counted a
 * block fetched twice twice, and nothing a connection moved before a
 * restart (or, before progress was cumulative, a closed connection).
 * Opens no core.
 */
export function held(multi: Multifeed, entries: number, except: Buffer | null = null): Cell {
  // `except`: an identity whose feeds are not counted (--spammer: the spammer's).
  const feeds = multi.feeds().filter((f) => except === null || f.owner?.equals(except) !== true)
  let blocks = 0
  for (const info of feeds) blocks += Math.min(info.length, entries)
  return { feeds: feeds.length, blocks }
}
