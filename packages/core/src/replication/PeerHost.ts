/**
 * What a multifeed's session on one stream (MultifeedPeer) needs from the
 * multifeed: a narrow interface, so that replication never reaches into
 * the Multifeed class (it implements this, internally).
 */
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import type { MultifeedError } from '../errors.js'
import type { Element } from '../protocol/messages.js'
import type { LocalSet } from '../protocol/SymbolWindow.js'
import type { Feed } from '../set/FeedSet.js'
import type { Moderation } from '../set/Moderation.js'
import type {
  FeedInfo,
  MultifeedEvents,
  PeerProgress,
  PeerRef,
  PeerStats,
  SyncInfo
} from '../types.js'
import type { RecordHost } from './PeerRecords.js'
import type { ReplicationStream } from './ReplicationStream.js'
import type { ReplyBudget } from './ReplyBudget.js'

export type { PeerProgress, PeerStats }

/**
 * The multifeed a peer belongs to (`peer.multifeed`): what replication uses of
 * it, declared here; Multifeed.ts completes it (`extends Multifeed<unknown>`,
 * merged in there), so users get the whole class while replication never
 * imports the façade (notes/layers.md).
 */
export interface MultifeedRef {
  readonly key: Buffer
  readonly discoveryKey: Buffer
  readonly corestore: Corestore
  readonly closing: boolean
  listenerCount(event: keyof MultifeedEvents): number
}

/** The set as one peer may see it (all of it, unless a share policy hides feeds). */
export interface SharedSet {
  feeds: Iterable<Feed>
  count: number
  /** The digest now (may be the set's own buffer, which moves with the set: copy it to keep it). */
  digest: Buffer
  sketch: number[]
  /** Our side of one reconciliation: the set's symbol window, pinned now (or a subset's elements). */
  local(): LocalSet
}

/** What a peer needs from its multifeed (implemented by Multifeed, kept internal). */
export interface PeerHost {
  readonly multifeed: MultifeedRef
  /**
   * A moderated set's records on this peer (set/Moderation.ts: `receive()`
   * verifies, stores and applies a peer's records; `records()` are what we
   * hold), from open on; null for every other set.
   */
  readonly moderation: Moderation | null
  /** The pairing key: the multifeed key, or an encrypted set's mirror key (capabilities.ts). */
  readonly key: Buffer
  /** Most differences one reconciliation may decode (bounds the peer's work). */
  readonly maxDifferences: number
  /** True for an encrypted set: its feeds carry admission tags (set/AdmissionTags.ts). */
  readonly tagged: boolean
  /** A moderated set's records, reconciled before the feeds on every channel (null: not moderated). */
  readonly records: RecordHost | null
  /** The feed of the set with this key. */
  feed(key: Buffer): Feed | undefined
  feedByDiscoveryKey(discoveryId: string): Feed | undefined
  /** May this feed be offered to this peer (share policy)? */
  shares(feed: Feed, peer: PeerRef): boolean
  /** The feeds this peer may see: their digest and sketch, and our side of a reconciliation. */
  shared(peer: PeerRef): SharedSet
  /**
   * The digest of what every peer may see, for the state hint sent with our
   * pairing token; null when a share policy makes it each peer's own (no
   * hint then: the policy is asked once per feed and peer, at the open).
   */
  digest(): Buffer | null
  /**
   * Feeds the peer holds (key + its length): adds the new keys the policy
   * accepts, records lengths; resolves to the feeds that joined the set.
   * `onRefused`: a new key refused for its admission tag.
   */
  receive(
    peer: PeerRef,
    elements: Element[],
    onRefused?: (key: Buffer) => void
  ): Promise<FeedInfo[]>
  /** True when a session should fetch the feed's blocks from peers that hold more. */
  wants(feed: Feed): boolean
  acquire(feed: Feed): Promise<Hypercore<unknown>>
  release(feed: Feed): void
  onVerified(peer: PeerRef): void
  onSynced(peer: PeerRef, info: SyncInfo): void
  onError(peer: PeerRef, error: MultifeedError): void
  /** Handling a peer's input failed here (storage): not the peer's fault. */
  onLocalError(peer: PeerRef, cause: unknown): void
  onClosed(peer: PeerRef, reason: 'local' | 'remote' | 'stream' | 'error'): void
  /** What the peer's reconciliations may cost us on this connection: one budget per stream, shared by its multifeeds, kept across re-opens. */
  replyBudget(replication: ReplicationStream): ReplyBudget
}

/** Counters of a new peer: all zero. */
export function emptyPeerStats(): PeerStats {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    symbolsSent: 0,
    symbolsReceived: 0,
    coresAttached: 0,
    feedsRefused: 0,
    recordsSent: 0,
    recordsReceived: 0,
    recordsAdded: 0,
    recordsRefused: {
      malformed: 0,
      signature: 0,
      'feed-key': 0,
      duplicate: 0,
      full: 0,
      immutable: 0,
      unauthorized: 0,
      revoked: 0,
      ignored: 0
    }
  }
}

/** Progress of several peers, added up. */
export function sumProgress(all: PeerProgress[]): PeerProgress {
  const total = {
    want: { feeds: 0, blocks: 0 },
    give: { feeds: 0, blocks: 0 },
    received: { blocks: 0, bytes: 0 },
    sent: { blocks: 0, bytes: 0 }
  }
  for (const p of all) {
    for (const part of ['want', 'give'] as const) {
      total[part].feeds += p[part].feeds
      total[part].blocks += p[part].blocks
    }
    for (const part of ['received', 'sent'] as const) {
      total[part].blocks += p[part].blocks
      total[part].bytes += p[part].bytes
    }
  }
  return total
}
