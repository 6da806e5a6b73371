/**
 * One multifeed on one replication stream: its channel, the proof of its
 * key, the reconciliation of the two sets, and which of its cores go on the
 * stream.
 *
 * 1. The stream pairs the multifeed (ReplicationStream); both sides open the
 *    channel `multifeed/2` with the channel id of the key on this connection.
 *    The open message carries the capability, the set proof, the set size and
 *    the difference sketch. Nothing about the set is sent before the remote's
 *    capability verified.
 * 2. Equal set proofs: in sync after one round trip, nothing else travels and
 *    no core is attached. Otherwise the initiator sends coded symbols sized by
 *    the sketch, the responder decodes the difference and answers with the
 *    elements the initiator lacks (`DONE`): two round trips.
 * 3. The side that lacks blocks of a feed attaches its core; the holder
 *    answers through `serve()` (only for feeds of this set, this peer proven).
 * 4. Afterwards every change (a new feed, a feed grown by an append or by
 *    blocks fetched from a third peer) goes to the peer as an update, unless
 *    the core is attached here already (then hypercore itself tells it).
 *
 * A peer's input never throws out of a Protomux handler: it is decoded in
 * messages.ts, and any fault closes this channel only (`#fail`).
 */

import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import {
  ClosedError,
  MalformedMessageError,
  MultifeedError,
  VersionMismatchError
} from '../errors.js'
import type { Multifeed } from '../Multifeed.js'
import {
  decodeElements,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  type Element,
  encodeElements,
  MAX_ELEMENTS_PER_MESSAGE,
  type Open,
  PROTOCOL_MAJOR
} from '../protocol/messages.js'
import type { Feed } from '../set/FeedSet.js'
import type { FeedInfo, SyncInfo } from '../types.js'
import { PeerChannel } from './PeerChannel.js'
import { PeerCores } from './PeerCores.js'
import { emptyPeerStats, type PeerHost, type PeerProgress, type PeerStats } from './PeerHost.js'
import { SetExchange } from './SetExchange.js'

export type { PeerHost, PeerProgress, PeerStats }

import { type ReplicationStream, rootOf, type StreamMember } from './ReplicationStream.js'

type CloseReason = 'local' | 'remote' | 'stream' | 'error'

export class MultifeedPeer implements StreamMember {
  readonly multifeed: Multifeed<unknown>
  /** The replication stream (one per connection) the channel runs on. */
  readonly replication: ReplicationStream
  /** Resolves once the first reconciliation is complete; null if the channel closed before. */
  readonly synced: Promise<SyncInfo | null>
  readonly stats: PeerStats = emptyPeerStats()

  readonly #host: PeerHost
  /** The multifeed's channel on the stream, as bytes. */
  readonly #channel: PeerChannel
  #opened = false
  #closed = false
  /** A fault closed (or is closing) the channel: later input of the peer is ignored. */
  #failed = false
  #mismatchReported = false
  #reconciled = false
  /** The reconciliation of the two sets on this channel. */
  readonly #exchange: SetExchange
  #resolveSynced: (info: SyncInfo | null) => void = () => {}
  #syncedDone = false
  #added: FeedInfo[] = []
  #queue: Promise<void> = Promise.resolve()
  /** This set's cores on the stream, and what the peer holds of each feed. */
  readonly #cores: PeerCores
  #flushScheduled = false
  readonly #received = { blocks: 0, bytes: 0 }
  readonly #sent = { blocks: 0, bytes: 0 }

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
        }
      },
      replication.mux
    )
    this.#channel = new PeerChannel(host.key, replication, this.stats, {
      live: () => !this.#closed && !this.#failed,
      opened: (remote) => this.#onOpen(remote),
      refused: (err) => this.#fail(err),
      message: (name, raw) => {
        if (name === 'symbols') this.#onSymbols(raw)
        else if (name === 'more') this.#onMore(raw)
        else this.#onElements(raw)
      },
      closed: (isRemote) => this.#onChannelClose(isRemote)
    })
    this.#exchange = new SetExchange(host.key, host.maxDifferences, this.stats, (name, raw) =>
      this.#channel.send(name, raw)
    )
    this.synced = new Promise((resolve) => {
      this.#resolveSynced = resolve
    })
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

  /** True once the remote's capability verified. */
  get opened(): boolean {
    return this.#opened
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True once the first reconciliation completed (both sides know the difference). */
  get reconciled(): boolean {
    return this.#reconciled
  }

  /** Number of this set's cores on the stream for this peer right now. */
  get attachedCount(): number {
    return this.#cores.count
  }

  /** The length the peer told us it holds of a feed, if it did. */
  remoteLength(feed: Feed): number | undefined {
    return this.#cores.remoteLength(feed)
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
    this.#exchange.announce(shared)
    this.#channel.open(shared)
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
    this.#host.onError(this, new VersionMismatchError(PROTOCOL_MAJOR, themVersion))
  }

  // ---- changes of the set --------------------------------------------------

  /**
   * A feed joined the set or grew from `previous` blocks: tell the peer
   * (once reconciled), unless hypercore does.
   */
  changed(feed: Feed, previous: number): void {
    if (this.#closed || !this.#channel.active) return
    if (this.#cores.note(feed, previous) && this.#reconciled) this.#scheduleFlush()
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

  /** The feed left the set: its core leaves the stream now (the peer stops getting its blocks). */
  forget(feed: Feed): void {
    this.#cores.forget(feed)
  }

  /** A session wants the feed's blocks: attach its core if the peer holds more. */
  fetch(feed: Feed): void {
    if (!this.#opened || this.#closed) return
    this.#cores.fetch(feed)
  }

  // ---- channel ------------------------------------------------------------

  /** The remote's open, its capability verified: the sets are compared. */
  #onOpen(remote: Open): void {
    const noise = this.replication.noise
    this.#opened = true
    this.#host.onVerified(this)
    if (this.#closed) return

    try {
      const hash = noise.handshakeHash!
      if (this.#exchange.begin(hash, noise.isInitiator, this.#host.shared(this), remote)) {
        this.#finish()
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  #onSymbols(raw: Buffer): void {
    try {
      const difference = this.#exchange.symbols(raw, () => this.#host.shared(this).local())
      if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
    } catch (err) {
      this.#fail(err)
    }
  }

  /** Responder: the difference is known (decoded, or diffed against a list); answers DONE. */
  #conclude(localOnly: Element[], received: Element[]): void {
    // What the initiator lacks (our elements), and our length (0) of its
    // feeds we do not hold at all: both sides then know the difference.
    const lacking = localOnly.filter((e) => {
      const feed = this.#host.feed(e.key)
      return feed !== undefined && this.#host.shares(feed, this)
    })
    const ours = new Set(localOnly.map((e) => e.key.toString('hex')))
    for (const { key } of received) {
      if (!ours.has(key.toString('hex')) && this.#host.feed(key) === undefined) {
        lacking.push({ key, length: 0 })
      }
    }
    const theirs = new Set(received.map((e) => e.key.toString('hex')))
    for (const { key } of lacking) {
      if (theirs.has(key.toString('hex'))) continue
      const feed = this.#host.feed(key)
      if (feed !== undefined) this.#cores.learnQuietly(feed, -1)
    }
    this.#sendElements(lacking, ELEMENTS_DONE)
    this.#enqueue(async () => {
      await this.#take(received)
      this.#finish()
    })
  }

  #onMore(raw: Buffer): void {
    try {
      this.#exchange.more(raw)
    } catch (err) {
      this.#fail(err)
    }
  }

  #onElements(raw: Buffer): void {
    let message: ReturnType<typeof decodeElements>
    try {
      message = decodeElements(raw)
      if (message.flags & (ELEMENTS_LIST | ELEMENTS_LIST_END)) {
        const ours = () => this.#host.shared(this).feeds
        const difference = this.#exchange.list(message, ours)
        if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
        return
      }
      if (message.flags & ELEMENTS_DONE) this.#exchange.done()
    } catch (err) {
      this.#fail(err)
      return
    }
    this.#enqueue(async () => {
      await this.#take(message.elements)
      if (message.flags & ELEMENTS_DONE) this.#finish()
    })
  }

  /** Runs peer input in order, off the Protomux call stack (never return it to Protomux). */
  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (this.#closed || this.#failed ? undefined : work()))
      .catch((err) => {
        // The peer's fault (a limit, a malformed message) closes its channel;
        // ours is not blamed on it: our multifeed or corestore closing under
        // the exchange ends the channel quietly, any other local failure
        // (storage) is reported and the channel lives on (the next
        // reconciliation offers the same feeds again).
        if (this.#closingHere()) this.#teardown('local')
        else if (err instanceof MultifeedError) this.#fail(err)
        else this.#host.onLocalError(this, err)
      })
  }

  /** The peer holds these feeds at these lengths: learn new ones, fetch what we lack. */
  async #take(elements: Element[]): Promise<void> {
    if (elements.length === 0) return
    const added = await this.#host.receive(this, elements)
    if (this.#closed) return
    for (const info of added) this.#added.push(info)
    for (const { key, length } of elements) {
      const feed = this.#host.feed(key)
      // The cores that differ attach in the background: both sides know
      // what differs as soon as the elements are here.
      if (feed !== undefined) this.#cores.learn(feed, length)
    }
  }

  #finish(): void {
    if (this.#reconciled || this.#closed) return
    this.#reconciled = true
    const inSync =
      this.stats.symbolsSent === 0 && this.stats.symbolsReceived === 0 && !this.#exchange.listed
    if (!this.#syncedDone) {
      this.#syncedDone = true
      const info: SyncInfo = { added: this.#added, inSync }
      this.#added = []
      this.#resolveSynced(info)
      this.#host.onSynced(this, info)
    }
    if (this.#cores.pendingUpdates > 0) this.#scheduleFlush()
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(() => {
      this.#flushScheduled = false
      if (this.#closed || !this.#reconciled) return
      const elements = this.#cores.takeUpdates()
      if (elements.length > 0) this.#sendElements(elements, 0)
    })
  }

  #sendElements(elements: Element[], lastFlags: number): void {
    if (!this.#channel.active) return
    let i = 0
    do {
      const chunk = elements.slice(i, i + MAX_ELEMENTS_PER_MESSAGE)
      i += MAX_ELEMENTS_PER_MESSAGE
      const raw = encodeElements({ flags: i >= elements.length ? lastFlags : 0, elements: chunk })
      this.#channel.send('elements', raw)
    } while (i < elements.length)
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
    if (reason === 'remote') this.replication.forgetRemote(this)
    this.replication.remove(this)
    this.#channel.close()
    this.#cores.close()
    this.#exchange.close()
    if (!this.#syncedDone) {
      this.#syncedDone = true
      this.#resolveSynced(null)
    }
    this.#host.onClosed(this, reason)
  }
}
