/**
 * Changes of the set a peer does not see through hypercore (the feed's core
 * is not on its stream), kept for it until sent as updates: a feed that
 * joined or grew, unless the peer holds as much already.
 */
import type { Protomux } from '@multifeed/holepunch-types'
import type { Element } from '../protocol/messages.js'
import type { Feed } from '../set/FeedSet.js'
import { isAttached } from './attachment.js'
import type { RemoteLengths } from './RemoteLengths.js'

export class PeerUpdates {
  readonly #updates = new Map<string, Feed>()
  readonly #remote: RemoteLengths
  readonly #mux: Protomux
  readonly #shares: (feed: Feed) => boolean

  constructor(remote: RemoteLengths, mux: Protomux, shares: (feed: Feed) => boolean) {
    this.#remote = remote
    this.#mux = mux
    this.#shares = shares
  }

  /**
   * The feed joined the set or grew: kept as an update for the peer unless
   * hypercore tells it (the core is on the stream: `attached` here, or
   * opened by the peer) or it holds as much.
   */
  note(feed: Feed, previous: number, attached: boolean): boolean {
    // Until now the peer held what we held (in sync at the reconciliation, or
    // told since): that is its length as long as nobody tells us more.
    if (!this.#remote.has(feed)) this.#remote.set(feed, previous)
    if (attached || isAttached(this.#mux, feed.discoveryId)) return false
    const known = this.#remote.get(feed)
    if (known !== undefined && known >= feed.length) return false
    this.#updates.set(feed.id, feed)
    return true
  }

  get size(): number {
    return this.#updates.size
  }

  delete(feed: Feed): void {
    this.#updates.delete(feed.id)
  }

  clear(): void {
    this.#updates.clear()
  }

  /** The updates to send now (the peer lacks them and may see them). */
  take(): Element[] {
    const elements: Element[] = []
    for (const feed of this.#updates.values()) {
      const known = this.#remote.get(feed)
      if (known !== undefined && known >= feed.length) continue
      if (isAttached(this.#mux, feed.discoveryId) || !this.#shares(feed)) continue
      elements.push({ key: feed.key, length: feed.length })
    }
    this.#updates.clear()
    return elements
  }
}
