/**
 * What the façade tells the user and every peer when the set changes: a feed
 * joined (`announce`), a feed's core grew (`grew`). Takes the parts it needs
 * (multifeed/parts.ts), never the Multifeed class (notes/layers.md).
 */
import type { Callbacks } from '../lifecycle/Callbacks.js'
import type { Changes } from '../lifecycle/Changes.js'
import type { MultifeedPeer } from '../replication/MultifeedPeer.js'
import type { Peers } from '../replication/Peers.js'
import { type Feed, infoOf } from '../set/FeedSet.js'
import type { Membership } from '../set/Membership.js'

/** The parts an event touches. */
export interface EventParts {
  readonly membership: Membership
  readonly callbacks: Callbacks
  readonly peers: Peers
  readonly changes: Changes
}

/** A feed joined the set: tell the user and every peer. */
export function announce(parts: EventParts, feed: Feed, from: MultifeedPeer | null): void {
  parts.callbacks.emit('feed', infoOf(feed), from)
  parts.peers.announce(feed)
  parts.changes.wake()
}

/**
 * A feed's core grew (an append, or blocks fetched): tell the user and every
 * peer. While closing, still recorded: the clean-close mark carries it
 * (set/Appends.ts); nothing is emitted then.
 */
export function grew(parts: EventParts, closing: boolean, feed: Feed, length: number): void {
  const previous = feed.length
  if (!parts.membership.setLength(feed, length) || closing) return
  parts.callbacks.emit('append', infoOf(feed))
  parts.peers.grew(feed, previous)
  parts.changes.wake()
}
