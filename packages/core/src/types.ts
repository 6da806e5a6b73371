import type {
  Encoding,
  Hypercore,
  HypercoreKeyPair as KeyPair,
  KeyPair as SigningKeyPair,
  ValueEncoding
} from '@multifeed/holepunch-types'
import type { CallbackError, MultifeedError, StorageError } from './errors.js'

export type { KeyPair, ValueEncoding }

/** An identity of moderated sets: an Ed25519 key pair, both halves (set/identity.ts). */
export type IdentityKeyPair = SigningKeyPair

/**
 * A peer as the types below name it: the class `MultifeedPeer` (replication/),
 * which completes this interface (`extends MultifeedPeer`, merged in by
 * replication/MultifeedPeer.ts), so that these types stay at the bottom of
 * core's layers (notes/layers.md).
 */
// biome-ignore lint/suspicious/noEmptyInterface: completed by replication/MultifeedPeer.ts
export interface PeerRef {}

/** A key as users hand it to us: 32 bytes, 64 hex characters or 52 z-base-32 characters. */
export type KeyLike = Buffer | Uint8Array | string

/** The block type a value encoding gives: Buffer, string, JSON value or the codec's type. */
export type ValueOf<E> = E extends 'utf-8'
  ? string
  : E extends 'json'
    ? unknown
    : E extends Encoding<infer T>
      ? T
      : Buffer

/** A core of the set, as a session the caller owns, typed by the set's value encoding. */
export type Feed<T = Buffer> = Hypercore<T>

/** What we know of a feed of the set, without opening its core. */
export interface FeedInfo {
  /** The core's public key (32 bytes). */
  readonly key: Buffer
  /** Its discovery key (what travels in hypercore's channel opens). */
  readonly discoveryKey: Buffer
  /** True for a core this store created through `writer()`. */
  readonly local: boolean
  /** The local name given to `writer(name)`; null for remote feeds. Never sent to peers. */
  readonly name: string | null
  /** Blocks 0..length-1 are held here (the contiguous length, as last known). */
  readonly length: number
  /**
   * In a moderated set: the identity (public key) its verified bind record
   * names as the feed's owner; null when none does (or several), and in
   * every other set.
   */
  readonly owner: Buffer | null
}

export interface AcceptContext {
  /** The peer offering the key; null for `multi.add(key)`. */
  readonly peer: PeerRef | null
}

export interface ShareContext {
  /** The peer we are about to offer the feed to. */
  readonly peer: PeerRef
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
   * Decides whether a feed is offered to a peer (counted in what we
   * reconcile with it, its key and blocks served to it). Must be
   * synchronous and stable for a peer. A throw keeps the feed from that peer
   * and is reported as `callback-error`.
   */
  share?(feed: FeedInfo, context: ShareContext): boolean
  /**
   * Moderated sets: this member's own choice about each block and unblock
   * the set's records hold, given the set's rule (`context.verdict`: null
   * when it counts). Return false to ignore it (a moderator you do not
   * follow), true to follow it anyway (trust someone the set does not make
   * a moderator), undefined to keep the rule's verdict. Must be synchronous
   * and a function of the record alone (it is asked again whenever the
   * records change): then every member with the same policy and records
   * reaches the same state. A throw keeps the verdict and is reported as
   * `callback-error`.
   */
  moderation?(record: ModerationRecord, context: ModerationContext): boolean | undefined
}

/** A block or unblock of a moderated set, as `policy.moderation` sees it. */
export interface ModerationRecord {
  readonly type: 'block' | 'unblock'
  readonly target: ModerationTarget
  /** The identity that signed it. */
  readonly signer: Buffer
  /** When the signer says it signed it (ms since the epoch). */
  readonly time: number
  /** A block's reason ('' when none, and for an unblock). */
  readonly reason: string
  /** The record's id (BLAKE2b-256 of its bytes). */
  readonly id: Buffer
}

export interface ModerationContext {
  /**
   * Why the set's rule does not count the record: its signer was no
   * moderator in its past (`unauthorized`) or was revoked (`revoked`);
   * null when it counts.
   */
  readonly verdict: 'unauthorized' | 'revoked' | null
}

/**
 * What a moderation block or unblock names: one feed (by its key), or an
 * identity (by its public key: every feed bound to it, now and later).
 */
export type ModerationTarget<K = Buffer> = { readonly feed: K } | { readonly identity: K }

/** A target the set's moderation blocks, and the block shown for it. */
export interface ModerationBlock {
  readonly target: ModerationTarget
  /** The identity that signed the block (of the blocks in force: the earliest claimed). */
  readonly signer: Buffer
  /** When the signer says it signed it (ms since the epoch; shown, never used to order). */
  readonly time: number
  /** Why, as the signer wrote it ('' when none). */
  readonly reason: string
}

/** What one change of a moderated set's records changed here (the `moderation` event). */
export interface ModerationEvent {
  /** Targets blocked now that were not. */
  readonly blocked: ModerationBlock[]
  /** Targets no longer blocked. */
  readonly unblocked: ModerationTarget[]
  /** True when the moderators changed (`multi.moderation.moderators()`). */
  readonly moderators: boolean
  /** Feeds this change took out of the set here. */
  readonly removed: FeedInfo[]
}

export interface MultifeedLimits {
  /** Largest number of feeds the set may hold. Default 100,000. */
  maxFeeds?: number
  /**
   * Most differences one reconciliation with a peer may find (bounds the
   * work a peer can cause). Default 100,000.
   */
  maxDifferences?: number
  /**
   * A moderated set: most bind records it holds (one per writer of the set),
   * and apart from them most grants, revokes, blocks and unblocks. A record
   * past it is refused (`full` in `peer.stats.recordsRefused`); one of ours
   * (a `writer()`'s bind, a `block()`) rejects with `ERR_LIMIT_EXCEEDED`.
   * Default 100,000.
   */
  maxRecords?: number
}

export interface MultifeedOptions<E extends ValueEncoding = ValueEncoding> {
  /** Block encoding of every core of the set: 'binary' (default), 'utf-8', 'json' or a compact-encoding. */
  valueEncoding?: E
  /** Accept/share hooks. */
  policy?: MultifeedPolicy
  limits?: MultifeedLimits
  /**
   * false (default): every remote feed is downloaded in full and kept up to
   * date live, like the legacy multifeed. true: blocks are fetched when a
   * session of yours asks for them.
   */
  sparse?: boolean
  /**
   * Milliseconds a core with nothing left to move on a connection (both
   * sides hold the same blocks) stays attached there before it is detached
   * and, when nothing else holds it, closed. Checked once the connection has
   * been quiet this long (a sync in progress keeps its cores), or every 10
   * idle times on a connection that never is. Default 5000.
   */
  idleTimeout?: number
  /**
   * true with no key: create an encrypted set (every block of every feed
   * encrypted with a key derived from the set's key; members read
   * plaintext). Its key says it is encrypted, so a member opens it with the
   * key alone; true with a plain set's key, or false with an encrypted
   * set's, is ERR_INVALID_ARGUMENT.
   */
  encrypted?: boolean
  /**
   * true with no key: create a moderated set founded by this peer's
   * identity (`multi.invite` is what members open it with). Without it the
   * key says: an invite opens a moderated set, a key this corestore holds
   * as a moderated set re-opens it as one. true with a key that names no
   * moderated set here, false with an invite or such a key, or true with
   * `encrypted` (moderated sets are not encrypted yet) is ERR_INVALID_ARGUMENT.
   */
  moderated?: boolean
  /**
   * The identity that binds this peer's writers and signs its moderation
   * records in moderated sets (one person's devices may share one).
   * Default: one derived from the corestore's primary key. Unused by other sets.
   */
  identity?: IdentityKeyPair
}

export interface WriterOptions {
  /** Use this key pair for the writer's core instead of one derived from the name. */
  keyPair?: KeyPair
}

/** Options of `downloaded()`: how many peers to wait for, and the bounds of the wait. */
export interface DownloadedOptions extends BoundOptions {
  /**
   * Wait until at least this many peers completed their first
   * reconciliation before syncing (with every peer connected then).
   * Default 0: sync with the peers connected now, none if there are none.
   */
  minPeers?: number
}

/**
 * Options of `synced()`: one peer (default: every connected peer, once
 * `minPeers` of them reconciled) and the bounds of the wait.
 */
export interface SyncedOptions extends DownloadedOptions {
  peer?: PeerRef
}

export interface BoundOptions {
  /** Reject with `ERR_TIMEOUT` after this many milliseconds. */
  timeout?: number
  /** Reject with `ERR_ABORTED` when it aborts. */
  signal?: AbortSignal
}

/** Bytes and messages of the multifeed protocol alone (not hypercore's). */
export interface PeerStats {
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  /** Coded symbols sent and received in reconciliations. */
  symbolsSent: number
  symbolsReceived: number
  /** Cores this peer's session attached to the stream. */
  coresAttached: number
  /**
   * New feeds this peer offered that an encrypted set refused for their
   * admission tag (missing, or not the key's: a feed no member added), or
   * that a moderated set refused as bound to no identity (no bind record
   * held). The channel stays open: a mirror relaying it may be honest.
   */
  feedsRefused: number
  /** Moderation records (a moderated set's channel): sent to the peer, and received from it. */
  recordsSent: number
  recordsReceived: number
  /** Of the records received: new, verified and stored (whether a rule then counts them or not). */
  recordsAdded: number
  /** Of the records received: why they changed nothing (see `RecordRefusal`). */
  recordsRefused: Record<RecordRefusal, number>
}

/**
 * Why a moderation record a peer sent changed nothing: `malformed`, a bad
 * `signature` or `feed-key` (forged or mutated), a `duplicate` (held
 * already: replayed), `full` (the set holds its most records); or, stored
 * but refused by the convergence rule, `immutable`, `unauthorized`,
 * `revoked` (a revoked signer's), `ignored` (this peer's policy).
 */
export type RecordRefusal =
  | 'malformed'
  | 'signature'
  | 'feed-key'
  | 'duplicate'
  | 'full'
  | 'immutable'
  | 'unauthorized'
  | 'revoked'
  | 'ignored'

/** How far the sync with one peer has got (see `MultifeedPeer.progress`). */
export interface PeerProgress {
  /** What the peer holds that we lack, in feeds and blocks. */
  readonly want: { feeds: number; blocks: number }
  /** What we hold that the peer lacks, in feeds and blocks. */
  readonly give: { feeds: number; blocks: number }
  /**
   * Blocks and bytes of this set received from the peer on this connection
   * (in `multi.progress()`: from every peer since open, closed sessions
   * included: it never goes backwards).
   */
  readonly received: { blocks: number; bytes: number }
  /** Blocks and bytes of this set sent to the peer on this connection (`multi.progress()`: as `received`). */
  readonly sent: { blocks: number; bytes: number }
}

/** What `synced()` and `downloaded()` resolve to: with whom the sync was. */
export interface SyncResult {
  /** The peers whose holdings we now hold (their first reconciliation completed); empty when there was none. */
  readonly peers: PeerRef[]
}

/** The outcome of the first reconciliation with a peer. */
export interface SyncInfo {
  /** Feeds this peer taught us (new to us). */
  readonly added: FeedInfo[]
  /** True when the sets were equal: nothing but the two open messages travelled. */
  readonly inSync: boolean
}

export interface MultifeedEvents {
  /** A feed joined the set: a writer of ours or `add()` (`peer` null), or learned from `peer`. */
  feed: [info: FeedInfo, peer: PeerRef | null]
  /** A feed left the set (`remove()`, `block()`). */
  remove: [info: FeedInfo]
  /** A feed we hold grew (an append here, or blocks downloaded). */
  append: [info: FeedInfo]
  /** A peer proved the multifeed key on a stream; reconciliation starts. */
  'peer-add': [peer: PeerRef]
  /** A peer's channel closed, for whatever reason. */
  'peer-remove': [peer: PeerRef]
  /** The first reconciliation with a peer is complete: both sides know what differs. */
  reconciled: [peer: PeerRef, info: SyncInfo]
  /** How far the sync with a peer has got changed (at most once per tick per peer, while listened to). */
  progress: [peer: PeerRef, progress: PeerProgress]
  /** A peer misbehaved or spoke another version; its channel was closed. Nothing of ours was lost. */
  'peer-error': [error: MultifeedError, peer: PeerRef]
  /**
   * Storing what a peer sent failed here (ERR_STORAGE, `cause` kept): the
   * peer is not blamed, its channel lives on, the next reconciliation offers
   * the same feeds again. Without a listener nothing else happens.
   */
  'storage-error': [error: StorageError, peer: PeerRef | null]
  /**
   * A policy hook or one of your event listeners threw. The protocol went on
   * (a throwing `accept` refuses that key; a throwing `share` does not share).
   * Without a listener, it becomes a process warning.
   */
  'callback-error': [error: CallbackError, peer: PeerRef | null]
  /**
   * A moderated set's records changed what is blocked or who moderates
   * (records of ours or a peer's), and the set acted on it: the feeds
   * blocked are removed, the ones freed may join again.
   */
  moderation: [change: ModerationEvent]
  /** The multifeed closed. */
  close: []
}
