/**
 * A multifeed's peers: one MultifeedPeer per replication stream the
 * multifeed is attached to, and the PeerHost they share (the multifeed's
 * side of the protocol: its set, policies, cores and events). Owns the
 * fan-out to the peers of what changes here (a feed joined, grew or left,
 * blocks moved), `progress` events (once per peer per tick), the user's
 * sessions that make peers fetch a feed, and the idle sweep that detaches
 * and closes cores with nothing left to move.
 */
import type { Duplex } from 'node:stream'
import type { Hypercore, HypercorePeer } from '@multifeed/holepunch-types'
import { ClosedError, StorageError } from '../errors.js'
import type { Callbacks } from '../lifecycle/Callbacks.js'
import type { Settings } from '../lifecycle/options.js'
import { admit } from '../set/admission.js'
import type { CorePool } from '../set/CorePool.js'
import { type Feed, infoOf, listedSubset } from '../set/FeedSet.js'
import type { Membership } from '../set/Membership.js'
import type { Moderation } from '../set/Moderation.js'
import { MultifeedPeer, type PeerHost, type PeerProgress } from './MultifeedPeer.js'
import { type MultifeedRef, sumProgress } from './PeerHost.js'
import type { RecordHost } from './PeerRecords.js'
import { RecordIndex } from './RecordIndex.js'
import { ReplicationStream, rootOf } from './ReplicationStream.js'
import { replyBudgetOf } from './ReplyBudget.js'

/** What the peers need from their multifeed (given by the façade). */
export interface PeersContext {
  readonly multifeed: MultifeedRef
  readonly membership: Membership
  readonly pool: CorePool
  readonly callbacks: Callbacks
  /** `sparse`, `maxDifferences` and `idleTimeout` serve here. */
  readonly settings: Settings
  /** What pairing and the capability are keyed by (capabilities.ts: an encrypted set's mirror key). */
  readonly pairingKey: Buffer
  /** Throws ERR_CLOSED once the multifeed or its corestore is closing. */
  assertOpen(): void
  /** A feed joined the set from `peer`: tell the user and every peer. */
  announce(feed: Feed, from: MultifeedPeer): void
  /** Something that waiters watch changed (here: a peer synced or left). */
  wake(): void
  /** A moderated set's moderation on this peer (from open on), or null. */
  moderation(): Moderation | null
}

export class Peers {
  readonly #context: PeersContext
  readonly #peers = new Map<ReplicationStream, MultifeedPeer>()
  /** Sessions of users per feed: while one is open, the feed's blocks are fetched. */
  readonly #userSessions = new Map<string, number>()
  readonly #progressDue = new Set<MultifeedPeer>()
  /** Blocks and bytes moved with peers since open: kept when a peer's session closes. */
  readonly #moved = { received: { blocks: 0, bytes: 0 }, sent: { blocks: 0, bytes: 0 } }
  readonly #host: PeerHost
  #sweeper: NodeJS.Timeout | null = null

  constructor(context: PeersContext) {
    this.#context = context
    this.#host = this.#makeHost()
  }

  /** What the peers share of their multifeed (read by tests: it is what replication sees). */
  get host(): PeerHost {
    return this.#host
  }

  /** Peers whose capability verified, on every stream the multifeed is attached to. */
  verified(): MultifeedPeer[] {
    return [...this.#peers.values()].filter((peer) => peer.opened)
  }

  /**
   * The multifeed's progress: `want`/`give` added up over the verified peers
   * (what is left, as they told us); `received`/`sent` the blocks and bytes
   * moved with any peer since open, closed peer sessions included (never
   * goes backwards).
   */
  progress(): PeerProgress {
    const now = sumProgress(this.verified().map((peer) => peer.progress))
    return {
      want: now.want,
      give: now.give,
      received: { ...this.#moved.received },
      sent: { ...this.#moved.sent }
    }
  }

  /** The multifeed's peer on `stream` (created, and started, unless a live one is there). */
  attach(stream: Duplex): MultifeedPeer {
    this.#context.assertOpen()
    const replication = ReplicationStream.for(this.#context.multifeed.corestore, stream)
    const existing = this.#peers.get(replication)
    if (existing !== undefined && !existing.closed) return existing
    const peer = new MultifeedPeer(this.#host, replication)
    this.#peers.set(replication, peer)
    peer.start()
    return peer
  }

  /** Closes the multifeed's peer on `stream`, if any. */
  detach(stream: Duplex): void {
    const replication = ReplicationStream.of(stream)
    const peer = replication ? this.#peers.get(replication) : undefined
    if (peer === undefined) return
    this.#peers.delete(replication!)
    peer.close()
  }

  /** A feed joined the set: every peer hears of it. */
  announce(feed: Feed): void {
    // -1: the peers do not know the feed at all (length 0 would be "known, empty").
    for (const peer of this.#peers.values()) peer.changed(feed, -1)
  }

  /** A feed grew from `previous`: every peer hears of it, and of its progress. */
  grew(feed: Feed, previous: number): void {
    for (const peer of this.#peers.values()) {
      peer.changed(feed, previous)
      this.#progressed(peer)
    }
  }

  /**
   * Moderation records were added here (signed here, or taken from a peer):
   * every peer gets those it lacks. The set calls it after each change.
   */
  recordsChanged(): void {
    for (const peer of this.#peers.values()) peer.recordsChanged()
  }

  /**
   * A feed let back into the set (a moderation unblock): its core goes on
   * every peer's stream, so that a peer holding it answers (it serves the
   * core it is asked for) and its blocks are fetched again; a peer that
   * lacks it lets the core go idle. A new key's own update tells the peer
   * our length (0), which makes no holder send.
   */
  seek(feed: Feed): void {
    for (const peer of this.verified()) peer.serve(feed.discoveryId)?.catch(() => {})
  }

  /** A feed left the set: its core leaves every stream. */
  forget(feed: Feed): void {
    for (const peer of this.#peers.values()) peer.forget(feed)
  }

  /** Bytes of a block moved to or from a peer on one of our streams. */
  transferred(direction: 'received' | 'sent', bytes: number, from: HypercorePeer): void {
    const replication = ReplicationStream.of(from.stream)
    if (replication === null) return // not one of the library's streams
    const total = this.#moved[direction]
    total.blocks++
    total.bytes += bytes
    const peer = this.#peers.get(replication)
    if (peer === undefined) return
    peer.transferred(direction, bytes)
    this.#progressed(peer)
  }

  /** The user holds `session` of `feed`: its blocks are fetched from peers until it closes. */
  hold(feed: Feed, session: Hypercore<unknown>): void {
    // Sparse: the blocks of a feed are fetched while a session of the user holds it.
    if (this.#context.settings.sparse && !session.writable) session.download({ start: 0, end: -1 })
    this.#userSessions.set(feed.id, (this.#userSessions.get(feed.id) ?? 0) + 1)
    session.once('close', () => {
      const left = (this.#userSessions.get(feed.id) ?? 1) - 1
      if (left > 0) this.#userSessions.set(feed.id, left)
      else this.#userSessions.delete(feed.id)
    })
    // update({ wait: true }) on the session waits while its core is on its
    // way to the peers that may hold more: hypercore then waits for their
    // channels (it resolved false at once before the core was attached).
    const reaching = this.verified().map((peer) => peer.fetch(feed))
    if (reaching.length === 0) return
    const found = session.findingPeers()
    Promise.allSettled(reaching).then(found)
  }

  /** Starts the idle sweep: cores with nothing left to move on a stream are detached and closed. */
  startSweeping(): void {
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.min(this.#context.settings.idleTimeout, 2000)
    )
    this.#sweeper.unref()
  }

  /** Stops the sweep and closes every peer. */
  close(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper)
    for (const peer of [...this.#peers.values()]) peer.close()
    this.#peers.clear()
  }

  #sweep(): void {
    const now = Date.now()
    for (const peer of this.#peers.values()) peer.sweep(now, this.#context.settings.idleTimeout)
  }

  /** Emits `progress` for the peer once per tick (only while someone listens). */
  #progressed(peer: MultifeedPeer): void {
    const { multifeed, callbacks } = this.#context
    if (multifeed.listenerCount('progress') === 0 || this.#progressDue.has(peer)) return
    this.#progressDue.add(peer)
    queueMicrotask(() => {
      this.#progressDue.delete(peer)
      if (!peer.closed && !multifeed.closing) callbacks.emit('progress', peer, peer.progress)
    })
  }

  #onPeerClosed(peer: MultifeedPeer, reason: 'local' | 'remote' | 'stream' | 'error'): void {
    const replication = peer.replication
    if (this.#peers.get(replication) === peer) this.#peers.delete(replication)
    if (peer.opened) this.#context.callbacks.emit('peer-remove', peer)
    this.#context.wake()
    // The remote let go of this multifeed but the connection lives on: wait
    // for it to announce the multifeed again.
    if (reason === 'remote' && !this.#context.multifeed.closing && !replication.closed) {
      // Runs inside Protomux's close handler, which must never throw: a
      // corestore closed under the multifeed leaves nothing to pair again.
      try {
        this.attach(replication.stream)
      } catch (err) {
        if (!(err instanceof ClosedError)) throw err
      }
    }
  }

  #makeHost(): PeerHost {
    const { multifeed, membership, pool, callbacks } = this.#context
    const set = membership.set
    const shares = (feed: Feed, peer: MultifeedPeer): boolean =>
      callbacks.shares(infoOf(feed), peer)
    const context = this.#context
    // Made once the set's moderation is there (from open on), then kept.
    let records: RecordHost | null = null
    const recordsOf = (moderation: Moderation): RecordHost => {
      // Records new here, ours or a peer's, go to every peer once on disk, before the
      // set removes what they block here (notes/moderation-hardening.md: a block of a
      // feed still spreading reached the members only after the founder's own purge).
      moderation.onStored((change) => {
        if (change.added.length > 0) this.recordsChanged()
      })
      return {
        index: new RecordIndex(context.pairingKey, moderation),
        receive: (bytes) => moderation.receive(bytes),
        refusal: (hex) => moderation.state.refused.get(hex) ?? null
      }
    }
    return {
      multifeed,
      get moderation() {
        return context.moderation()
      },
      get records() {
        const moderation = context.moderation()
        if (records === null && moderation !== null) records = recordsOf(moderation)
        return records
      },
      key: this.#context.pairingKey,
      maxDifferences: this.#context.settings.maxDifferences,
      tagged: membership.tags.required,
      feed: (key) => set.find(key),
      feedByDiscoveryKey: (discoveryId) => set.byDiscoveryKey(discoveryId),
      shares,
      digest: () => (callbacks.hasSharePolicy ? null : set.digest()),
      shared: (peer) => {
        if (!callbacks.hasSharePolicy) {
          // The sketch is read only where the set proofs differ (or for a peer of pairing
          // minor < 6): an in-sync reconnect of many sets builds none.
          let sketch: number[] | null = null
          return {
            feeds: set.all(),
            count: set.size,
            digest: set.digest(),
            get sketch() {
              sketch ??= set.sketch()
              return sketch
            },
            local: () => set.snapshot()
          }
        }
        const feeds = set.all().filter((feed) => shares(feed, peer))
        return {
          feeds,
          count: feeds.length,
          ...set.summaryOf(feeds),
          local: () => listedSubset(feeds)
        }
      },
      receive: (peer, elements, onRefused) =>
        admit(
          {
            membership,
            root: rootOf(multifeed.corestore),
            accepts: (key) => callbacks.accepts(key, peer),
            assertOpen: () => this.#context.assertOpen(),
            onRefused
          },
          elements
        ).then((feeds) => {
          for (const feed of feeds) this.#context.announce(feed, peer)
          return feeds.map(infoOf)
        }),
      wants: (feed) =>
        (!this.#context.settings.sparse && !feed.local) || this.#userSessions.has(feed.id),
      acquire: (feed) => pool.acquire(feed),
      release: (feed) => pool.release(feed),
      onVerified: (peer) => callbacks.emit('peer-add', peer),
      onSynced: (peer, info) => {
        callbacks.emit('reconciled', peer, info)
        this.#progressed(peer)
        this.#context.wake()
      },
      onError: (peer, error) => callbacks.emit('peer-error', error, peer),
      onLocalError: (peer, cause) => {
        if (multifeed.closing) return
        const error = new StorageError(
          `Storing what a peer sent failed here: ${(cause as Error)?.message ?? cause}`,
          { cause }
        )
        callbacks.emit('storage-error', error, peer)
      },
      onClosed: (peer, reason) => this.#onPeerClosed(peer, reason),
      replyBudget: (replication) => replyBudgetOf(replication)
    }
  }
}
