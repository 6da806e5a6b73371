import type {
  Hypercore,
  HypercoreKeyPair as KeyPair,
  ValueEncoding
} from '@multifeed/holepunch-types'
import type { CallbackError, MultifeedError } from './errors.js'
import type { BoundOptions } from './lifecycle/bounded.js'
import type { MultifeedPeer } from './protocol/MultifeedPeer.js'

export type { KeyPair, ValueEncoding }

/** A key as users hand it to us: 32 bytes, 64 hex characters or 52 z-base-32 characters. */
export type KeyLike = Buffer | Uint8Array | string

/** What we know of a feed in the set. */
export interface FeedInfo {
  /** The core's public key (32 bytes). */
  readonly key: Buffer
  /** True for a core this store created through `writer()`. */
  readonly local: boolean
  /** The local name given to `writer(name)`; null for remote feeds. Never sent to peers. */
  readonly name: string | null
  /** For a remote feed learned live, the peer that offered it; null when added locally or re-opened from storage. */
  readonly from: MultifeedPeer | null
}

export interface AcceptContext {
  /** The peer offering the key. */
  readonly peer: MultifeedPeer
}

export interface ShareContext {
  /** The peer we are about to offer the feed to. */
  readonly peer: MultifeedPeer
}

/** Decides which remote feeds join the set and which feeds are offered to whom. */
export interface MultifeedPolicy {
  /**
   * Called once for every key a peer offers that we do not know yet. Return
   * false to ignore it (it is not stored, not replicated, not passed on).
   * May be async; keys of one message are decided in order. A throw or a
   * rejection refuses the key and is reported as `callback-error`.
   */
  accept?(key: Buffer, context: AcceptContext): boolean | Promise<boolean>
  /**
   * Called for every feed before it is offered to a peer (its key sent and its
   * core attached to the peer's stream). Return false to keep it from that peer.
   * A throw keeps it from that peer and is reported as `callback-error`.
   */
  share?(feed: FeedInfo, context: ShareContext): boolean
}

export interface MultifeedLimits {
  /**
   * Largest number of keys a peer may send us in one Feeds message (announced
   * in our handshake; honest peers batch to it). Default 1024, at most 8192.
   */
  maxKeysPerMessage?: number
  /** Largest number of feeds the set may hold. Default 100,000. */
  maxFeeds?: number
}

export interface MultifeedOptions {
  /** Block encoding for every core of the set (a writer may override it). */
  valueEncoding?: ValueEncoding
  /** Accept/share hooks. */
  policy?: MultifeedPolicy
  limits?: MultifeedLimits
  /**
   * false (default): every remote feed is downloaded in full and kept up to
   * date live, like the legacy multifeed. true: blocks are fetched on demand.
   */
  sparse?: boolean
}

export interface WriterOptions {
  /** Use this key pair for the writer's core instead of one derived from the name. */
  keyPair?: KeyPair
  valueEncoding?: ValueEncoding
}

/** Bounds of `downloaded()`: `timeout` (ERR_TIMEOUT) and/or `signal` (ERR_ABORTED). */
export type DownloadedOptions = BoundOptions

/** Summary of the initial exchange with one peer (the legacy `remote-feeds`). */
export interface RemoteFeedsInfo {
  /** Feeds this peer taught us in the exchange (new to us). */
  readonly added: Hypercore<unknown>[]
  /** True when the digests matched and no list was exchanged at all. */
  readonly inSync: boolean
}

export interface MultifeedEvents {
  /** A core joined the set: created locally, learned from a peer, or (once, at open) re-loaded. */
  feed: [core: Hypercore<unknown>, info: FeedInfo]
  /** A peer proved its capability; its feed list is being exchanged. */
  'peer-add': [peer: MultifeedPeer]
  /** A peer's channel closed, for whatever reason. */
  'peer-remove': [peer: MultifeedPeer]
  /** The initial exchange with a peer is complete and the feeds it taught us replicate. */
  'remote-feeds': [peer: MultifeedPeer, info: RemoteFeedsInfo]
  /** A peer misbehaved or spoke another version; its channel was closed. Nothing of ours was lost. */
  'peer-error': [error: MultifeedError, peer: MultifeedPeer]
  /**
   * A policy hook or one of your event listeners threw. The protocol went on
   * (a throwing `accept` refuses that key; a throwing `share` does not share).
   * Without a listener, it becomes a process warning.
   */
  'callback-error': [error: CallbackError, peer: MultifeedPeer | null]
  /** The multifeed closed. */
  close: []
}
