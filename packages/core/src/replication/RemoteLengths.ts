/**
 * What the peer at the other end of a stream told us it holds, by feed
 * (reconciliation, updates, hypercore); for feeds changed since, what it
 * held. -1 when it does not know the feed at all.
 */
import type { Feed } from '../set/FeedSet.js'

/** Feeds and blocks. */
export interface Amount {
  feeds: number
  blocks: number
}

export class RemoteLengths {
  readonly #lengths = new Map<string, { feed: Feed; length: number }>()

  /** The length the peer told us it holds, if it did. */
  get(feed: Feed): number | undefined {
    return this.#lengths.get(feed.id)?.length
  }

  has(feed: Feed): boolean {
    return this.#lengths.has(feed.id)
  }

  /** Records `length` for `feed`; with `max` (default), only when it is more than known. */
  set(feed: Feed, length: number, max = true): void {
    const known = this.#lengths.get(feed.id)
    if (known === undefined) this.#lengths.set(feed.id, { feed, length })
    else if (!max || length > known.length) known.length = length
  }

  delete(feed: Feed): void {
    this.#lengths.delete(feed.id)
  }

  clear(): void {
    this.#lengths.clear()
  }

  /**
   * What the peer holds that we lack, and what we hold that it lacks (of
   * the feeds it `shares`), as it told us.
   */
  amounts(shares: (feed: Feed) => boolean): { want: Amount; give: Amount } {
    const want = { feeds: 0, blocks: 0 }
    const give = { feeds: 0, blocks: 0 }
    for (const { feed, length } of this.#lengths.values()) {
      if (length > feed.length) {
        want.feeds++
        want.blocks += length - feed.length
      } else if (length < feed.length && shares(feed)) {
        // length -1: the peer does not know the feed
        give.feeds++
        give.blocks += feed.length - Math.max(length, 0)
      }
    }
    return { want, give }
  }

  /** The feeds the peer holds more of than we do, with its length. */
  wanted(): Array<{ feed: Feed; length: number }> {
    const out: Array<{ feed: Feed; length: number }> = []
    for (const entry of this.#lengths.values()) {
      if (entry.length > entry.feed.length) out.push({ feed: entry.feed, length: entry.length })
    }
    return out
  }
}
