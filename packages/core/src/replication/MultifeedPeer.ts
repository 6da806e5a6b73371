/**
 * One multifeed on one replication stream, the object users see as a peer:
 * its state, progress and counters, the cores of the set on the stream
 * (PeerCores), and the life of its channel, from pairing to teardown.
 *
 * 1. The stream pairs the multifeed (ReplicationStream); both sides open the
 *    channel `multifeed/2` (PeerChannel: the id of the key on this
 *    connection, the capability, the set's summary). Nothing about the set
 *    is sent before the remote's capability verified.
 * 2. The sets are reconciled (SetExchange: in sync, a list or coded
 *    symbols), the peer's elements learned and ours sent as updates
 *    afterwards (PeerSync).
 * 3. The side that lacks blocks of a feed attaches its core; the holder
 *    answers through `serve()` (only for feeds of this set, this peer proven).
 *
 * A peer's input never throws out of a Protomux handler: any fault closes
 * this channel only (`#fail`), once.
 */
import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import {
  ClosedError,
  LimitExceededError,
  MalformedMessageError,
  type MultifeedError,
  VersionMismatchError
} from '../errors.js'
import { parseKey } from '../keys.js'
import { debug, shortId } from '../lifecycle/debug.js'
import { minorOf, type Open, PROTOCOL_MAJOR } from '../protocol/messages.js'
import type { Feed } from '../set/FeedSet.js'
import type { FeedInfo, KeyLike, SyncInfo } from '../types.js'
import { FeedGate, heldLimit } from './FeedGate.js'
import { type ChannelMessage, PeerChannel } from './PeerChannel.js'
import { PeerCores } from './PeerCores.js'
import {
  emptyPeerStats,
  type MultifeedRef,
  type PeerHost,
  type PeerProgress,
  type PeerStats
} from './PeerHost.js'
import { PeerOutput } from './PeerOutput.js'
import { PeerRecords } from './PeerRecords.js'
import { PeerSync } from './PeerSync.js'
import { type ReplicationStream, rootOf, type StreamMember } from './ReplicationStream.js'
import { SetExchange } from './SetExchange.js'

export type { PeerHost, PeerProgress, PeerStats }

// The peer the public types name (types.ts `PeerRef`) is this class.
type Self = MultifeedPeer
declare module '../types.js' {
  interface PeerRef extends Self {}
}

type CloseReason = 'local' | 'remote' | 'stream' | 'error'

export class MultifeedPeer implements StreamMember {
  readonly multifeed: MultifeedRef
  /** The replication stream (one per connection) the channel runs on. */
  readonly replication: ReplicationStream
  readonly stats: PeerStats = emptyPeerStats()

  readonly #host: PeerHost
  /** The multifeed's channel on the stream, as bytes. */
  readonly #channel: PeerChannel
  #opened = false
  #closed = false
  /** A fault closed (or is closing) the channel: later input of the peer is ignored. */
  #failed = false
  #mismatchReported = false
  /** The reconciliation of the two sets on this channel. */
  readonly #exchange: SetExchange
  /** What the peer sends once the channel is open, and what we send back. */
  readonly #sync: PeerSync
  /** This set's cores on the stream, and what the peer holds of each feed. */
  readonly #cores: PeerCores
  readonly #received = { blocks: 0, bytes: 0 }
  readonly #sent = { blocks: 0, bytes: 0 }
  /** What we send: while the stream takes more, replies within the connection's budget. */
  readonly #output: PeerOutput
  /** A moderated set's records on this channel (null: not moderated). */
  readonly #records: PeerRecords | null = null
  /** A moderated set's feed messages wait for the records (null: not moderated). */
  readonly #gate: FeedGate<ChannelMessage> | null = null

  constructor(host: PeerHost, replication: ReplicationStream) {
    this.#host = host
    this.multifeed = host.multifeed
    this.replication = replication
    this.#cores = new PeerCores(
      {
        shares: (feed) => host.shares(feed, this),
        wants: (feed) => host.wants(feed),
        acquire: (feed) => host.acquire(feed),
        release: (feed) => host.release(feed),
        onAttach: () => {
          this.stats.coresAttached++
        },
        label: () => this.label
      },
      replication.mux
    )
    const moderated = host.records !== null
    this.#channel = new PeerChannel(
      host.key,
      minorOf(host.tagged, moderated),
      replication,
      this.stats,
      {
        live: () => !this.#closed && !this.#failed,
        opened: (remote) => this.#onOpen(remote),
        refused: (err) => this.#fail(err),
        message: (name, raw) => this.#onMessage(name, raw),
        closed: (isRemote) => this.#onChannelClose(isRemote),
        drained: () => this.#output.drain()
      },
      { moderated }
    )
    this.#output = new PeerOutput(
      this.#channel,
      host.replyBudget(replication),
      host.key.toString('hex'),
      this.stats,
      () => !this.#closed && !this.#failed,
      (err) => this.#fail(err)
    )
    this.#exchange = new SetExchange(
      host.key,
      host.maxDifferences,
      this.stats,
      this.#output,
      host.tagged
    )
    if (host.records !== null) {
      this.#gate = new FeedGate()
      this.#records = new PeerRecords({
        host: host.records,
        stats: this.stats,
        maxDifferences: host.maxDifferences,
        send: (name, raw, paid) => this.#output.send(name, raw, paid),
        queue: (producer) => this.#output.queue(producer),
        live: () => !this.#closed && !this.#failed,
        fail: (err) => this.#fail(err),
        localError: (err) => {
          // Records we could not store: the feeds must not begin without them.
          if (!this.#closingHere()) host.onLocalError(this, err)
          this.#teardown('local')
        }
      })
    }
    this.#sync = new PeerSync({
      peer: this,
      host,
      stats: this.stats,
      channel: this.#channel,
      out: this.#output,
      exchange: this.#exchange,
      cores: this.#cores,
      live: () => !this.#closed && !this.#failed,
      fail: (err) => this.#fail(err),
      closingHere: () => this.#closingHere(),
      closeQuietly: () => this.#teardown('local')
    })
  }

  /** Resolves once the first reconciliation is complete; null if the channel closed before. */
  get synced(): Promise<SyncInfo | null> {
    return this.#sync.synced
  }

  get key(): Buffer {
    return this.#host.key
  }

  /** The multifeed's discovery key (never sent; recognises a peer of multifeed 0.1). */
  get discoveryKey(): Buffer {
    return this.multifeed.discoveryKey
  }

  /** The encrypted connection (one per peer pair). */
  get stream(): NoiseSecretStream {
    return this.replication.noise
  }

  /** The remote's Noise public key (null until the handshake completed). */
  get remotePublicKey(): Buffer | null {
    return this.replication.noise.remotePublicKey
  }

  /** How debug lines name this peer: `peer <its public key> set <our discovery key>`, 8 hex each. */
  get label(): string {
    return `peer ${shortId(this.remotePublicKey)} set ${shortId(this.discoveryKey)}`
  }

  /** True once the remote's capability verified. */
  get opened(): boolean {
    return this.#opened
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True once the first reconciliation completed (both sides know the difference). */
  get reconciled(): boolean {
    return this.#sync.reconciled
  }

  /** Number of this set's cores on the stream for this peer right now. */
  get attachedCount(): number {
    return this.#cores.count
  }

  /**
   * The length the peer told us it holds of a feed of the set, given as its
   * FeedInfo or its key (Buffer, hex or z32); undefined when the feed is
   * not in the set or the peer told us nothing of it. A malformed key
   * throws ERR_INVALID_KEY.
   */
  remoteLength(feed: FeedInfo | KeyLike): number | undefined {
    const key = isKeyLike(feed) ? parseKey(feed, 'Feed key') : feed.key
    const known = this.#host.feed(key)
    return known === undefined ? undefined : this.#cores.remoteLength(known)
  }

  /** Detaches the cores idle for `idleMs`; returns how many (Multifeed sweeps). */
  sweep(now: number, idleMs: number): number {
    return this.#opened && !this.#closed ? this.#cores.sweep(now, idleMs) : 0
  }

  /** Joins the stream: our token is announced; the channel opens when the remote's matches. */
  start(): void {
    if (this.replication.closed) {
      this.#teardown('stream')
      return
    }
    this.replication.add(this)
  }

  /** Closes this multifeed's channel on the stream; the stream and other multifeeds live on. */
  close(): void {
    this.#teardown('local')
  }

  // ---- StreamMember -------------------------------------------------------

  prepare(): void {
    if (this.#closed) return
    // A remote open for our channel id (only a key holder can name it) that
    // arrives before its token pairs all the same.
    this.#channel.expect(() => this.pair())
  }

  pair(): void {
    if (this.#closed || this.#channel.active) return
    // From now on changes are kept for the peer: the open is a snapshot.
    this.#cores.clearUpdates()
    const shared = this.#host.shared(this)
    this.#output.announced(shared.count)
    this.#exchange.announce(shared)
    const records = this.#records
    const summary =
      records === null
        ? undefined
        : (hash: Buffer) => {
            const summary = records.announce(hash)
            this.#output.announcedRecords(summary.count)
            return summary
          }
    const remoteHint = this.replication.remoteHint(this)
    if (this.#channel.open(shared, summary, remoteHint) && debug.pairing.enabled) {
      debug.pairing.log(`${this.label} paired: channel open sent (${shared.count} feeds)`)
    }
  }

  hint(): Buffer | null {
    const digest = this.#closed ? null : this.#host.digest()
    if (digest === null) return null
    const records = this.#records
    return this.#channel.hint(digest, records === null ? undefined : (hash) => records.proof(hash))
  }

  serve(discoveryId: string): Promise<void> | null {
    if (!this.#opened || this.#closed) return null
    const feed = this.#host.feedByDiscoveryKey(discoveryId)
    if (feed === undefined) return null
    const attaching = this.#cores.serve(feed)
    return attaching
  }

  onStreamClose(): void {
    this.#teardown('stream')
  }

  /** The remote opened this multifeed in another major version (reported once). */
  versionMismatch(themVersion: number): void {
    if (this.#closed || this.#opened || this.#mismatchReported) return
    this.#mismatchReported = true
    if (debug.error.enabled) debug.error.log(`${this.label} speaks multifeed/${themVersion}`)
    this.#host.onError(this, new VersionMismatchError(PROTOCOL_MAJOR, themVersion))
  }

  // ---- changes of the set --------------------------------------------------

  /**
   * A feed joined the set or grew from `previous` blocks: tell the peer
   * (once reconciled), unless hypercore does.
   */
  changed(feed: Feed, previous: number): void {
    if (this.#closed || !this.#channel.active) return
    if (this.#cores.note(feed, previous) && this.#sync.reconciled) this.#sync.flush()
  }

  /**
   * How far the sync with this peer has got: what it holds that we lack
   * (`want`), what we hold that it lacks (`give`), in feeds and blocks, as
   * the peer told us; and the blocks and bytes moved on this connection.
   * Known from the first reconciliation on (before that, all zero).
   */
  get progress(): PeerProgress {
    const { want, give } = this.#cores.progress()
    return { want, give, received: { ...this.#received }, sent: { ...this.#sent } }
  }

  /** The feeds this peer holds more of than we do, with its length. */
  wanted(): Array<{ feed: Feed; length: number }> {
    return this.#cores.wanted()
  }

  /** A block moved on this connection (counted for `progress`). */
  transferred(direction: 'received' | 'sent', bytes: number): void {
    const counter = direction === 'received' ? this.#received : this.#sent
    counter.blocks++
    counter.bytes += bytes
    this.#cores.moved()
  }

  /** Moderation records were added here: the peer gets those it lacks (once its records were reconciled). */
  recordsChanged(): void {
    if (!this.#closed) this.#records?.changed()
  }

  /** The feed left the set: its core leaves the stream now (the peer stops getting its blocks). */
  forget(feed: Feed): void {
    this.#cores.forget(feed)
  }

  /**
   * A session wants the feed's blocks: attach its core if the peer holds
   * more, once the first reconciliation told us. Resolves once the core is
   * on the stream (hypercore opening its channel there), or there is
   * nothing to fetch from this peer, or the channel closed.
   */
  async fetch(feed: Feed): Promise<void> {
    if (!this.#opened || this.#closed) return
    if (!this.#sync.reconciled) await this.synced
    if (this.#closed) return
    await this.#cores.fetch(feed)
  }

  // ---- channel ------------------------------------------------------------

  /** The remote's open, its capability verified: the sets are compared. */
  #onOpen(remote: Open): void {
    this.#opened = true
    if (debug.pairing.enabled) {
      debug.pairing.log(`${this.label} capability verified (remote holds ${remote.count} feeds)`)
    }
    this.#host.onVerified(this)
    if (this.#closed) return
    const records = this.#records
    if (records === null || remote.records === undefined) {
      this.#sync.opened(remote)
      return
    }
    // Moderated: the records first; the feeds once we took the peer's.
    const noise = this.replication.noise
    this.#gate!.limit(
      heldLimit(remote.count, this.#host.shared(this).count + this.#host.maxDifferences)
    )
    records.opened(noise.handshakeHash!, noise.isInitiator, remote.minor, remote.records)
    records.ready.then(() => {
      if (this.#closed || this.#failed) return
      this.#sync.opened(remote)
      for (const { name, raw } of this.#gate!.open()) {
        if (this.#closed || this.#failed) return
        this.#dispatch(name, raw)
      }
    })
  }

  #onMessage(name: ChannelMessage, raw: Buffer): void {
    if (this.#records !== null && name.startsWith('record')) {
      this.#records.message(name as Parameters<PeerRecords['message']>[0], raw)
      return
    }
    if (this.#gate?.closed) {
      try {
        this.#gate.hold(name, raw)
      } catch (err) {
        this.#fail(err)
      }
      return
    }
    // After the records sent before it (a writer's bind precedes its first offer).
    if (this.#records?.busy) this.#records.after(() => this.#dispatch(name, raw))
    else this.#dispatch(name, raw)
  }

  #dispatch(name: ChannelMessage, raw: Buffer): void {
    if (name === 'symbols') this.#sync.symbols(raw)
    else if (name === 'more') this.#sync.more(raw)
    else this.#sync.elements(raw)
  }

  #onChannelClose(isRemote: boolean): void {
    if (this.#closed) return
    if (!this.#opened) {
      // Refused before it opened (the remote let go of the multifeed as we
      // paired): wait for the remote to announce it again.
      this.replication.forgetRemote(this)
      return
    }
    this.#teardown(isRemote ? 'remote' : 'local')
  }

  #fail(err: unknown): void {
    // One fault, one report: what the peer sent after it (same batch) is ignored.
    if (this.#closed || this.#failed) return
    this.#failed = true
    const error =
      err instanceof Error && 'code' in err
        ? (err as MultifeedError)
        : new MalformedMessageError(`Protocol fault: ${(err as Error)?.message ?? err}`, {
            cause: err
          })
    if (error instanceof ClosedError || this.#closingHere()) {
      // Our multifeed or corestore is closing under the exchange (storage
      // errors follow): a local fault, not the peer's.
      this.#teardown('local')
      return
    }
    const log = error instanceof LimitExceededError ? debug.limits : debug.error
    if (log.enabled) log.log(`${this.label} ${error.code}: ${error.message} (channel closes)`)
    this.#host.onError(this, error)
    // Close outside the Protomux call that delivered the bad input.
    queueMicrotask(() => this.#teardown('error'))
  }

  #closingHere(): boolean {
    const store = this.multifeed.corestore
    return this.multifeed.closing || store.closing !== null || rootOf(store).closing !== null
  }

  #teardown(reason: CloseReason): void {
    if (this.#closed) return
    this.#closed = true
    if (debug.pairing.enabled) debug.pairing.log(`${this.label} channel closed (${reason})`)
    if (reason === 'remote') this.replication.forgetRemote(this)
    this.replication.remove(this)
    this.#output.clear()
    this.#channel.close()
    this.#cores.close()
    this.#exchange.close()
    this.#records?.close()
    this.#sync.close()
    this.#host.onClosed(this, reason)
  }
}

/** A key as users hand it to us, as opposed to a record that has a `key`. */
function isKeyLike(value: FeedInfo | KeyLike): value is KeyLike {
  return typeof value === 'string' || value instanceof Uint8Array
}
