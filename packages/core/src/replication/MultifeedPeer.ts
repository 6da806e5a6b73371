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
import c from 'compact-encoding'
import type {
  Hypercore,
  NoiseSecretStream,
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message
} from '@multifeed/holepunch-types'
import {
  CapabilityError,
  ClosedError,
  MalformedMessageError,
  type MultifeedError,
  VersionMismatchError
} from '../errors.js'
import type { Multifeed } from '../Multifeed.js'
import { elementOf, keyOfElement, lengthOfElement } from '../protocol/elements.js'
import { estimateDifference } from '../protocol/estimator.js'
import {
  decodeElements,
  decodeMore,
  decodeOpen,
  decodeSymbols,
  decodeVersion,
  ELEMENTS_DONE,
  type Element,
  encodeElements,
  encodeMore,
  encodeOpen,
  encodeSymbols,
  MAX_ELEMENTS_PER_MESSAGE,
  type Open,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PROTOCOL_NAME
} from '../protocol/messages.js'
import { capability, channelId, secretsEqual, setProof, symbolSalt } from '../protocol/pairing.js'
import { ReconcileDecoder, ReconcileEncoder, symbolsFor } from '../protocol/Reconciler.js'
import type { Feed } from '../set/FeedSet.js'
import type { FeedInfo, SyncInfo } from '../types.js'
import { attachCore, detachCore, isAttached } from './attachment.js'
import type { ReplicationStream, StreamMember } from './ReplicationStream.js'

/** What a peer needs from its multifeed (implemented by Multifeed, kept internal). */
export interface PeerHost {
  readonly multifeed: Multifeed<unknown>
  readonly key: Buffer
  /** Most differences one reconciliation may decode (bounds the peer's work). */
  readonly maxDifferences: number
  feed(id: string): Feed | undefined
  feedByDiscoveryKey(discoveryId: string): Feed | undefined
  /** May this feed be offered to this peer (share policy)? */
  shares(feed: Feed, peer: MultifeedPeer): boolean
  /** The feeds this peer may see, and their digest and sketch. */
  shared(peer: MultifeedPeer): { feeds: Iterable<Feed>; count: number; digest: Buffer; sketch: number[] }
  /**
   * Feeds the peer holds (key + its length): adds the new keys the policy
   * accepts, records lengths; resolves to the feeds that joined the set.
   */
  receive(peer: MultifeedPeer, elements: Element[]): Promise<FeedInfo[]>
  /** True when a session should fetch the feed's blocks from peers that hold more. */
  wants(feed: Feed): boolean
  acquire(feed: Feed): Promise<Hypercore<unknown>>
  /** The session `acquire` opened, while held. */
  acquired(feed: Feed): Hypercore<unknown> | null
  release(feed: Feed): void
  onVerified(peer: MultifeedPeer): void
  onSynced(peer: MultifeedPeer, info: SyncInfo): void
  onError(peer: MultifeedPeer, error: MultifeedError): void
  onClosed(peer: MultifeedPeer, reason: 'local' | 'remote' | 'stream' | 'error'): void
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
}

type CloseReason = 'local' | 'remote' | 'stream' | 'error'

export class MultifeedPeer implements StreamMember {
  readonly multifeed: Multifeed<unknown>
  /** The replication stream (one per connection) the channel runs on. */
  readonly replication: ReplicationStream
  /** Resolves once the first reconciliation is complete; null if the channel closed before. */
  readonly synced: Promise<SyncInfo | null>
  readonly stats: PeerStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    symbolsSent: 0,
    symbolsReceived: 0,
    coresAttached: 0
  }

  readonly #host: PeerHost
  #channel: Channel | null = null
  #send: {
    symbols: Message<Buffer>
    more: Message<Buffer>
    elements: Message<Buffer>
  } | null = null
  #opened = false
  #closed = false
  #reconciled = false
  #encoder: ReconcileEncoder | null = null
  #decoder: ReconcileDecoder | null = null
  #remote: Open | null = null
  #resolveSynced: (info: SyncInfo | null) => void = () => {}
  #syncedDone = false
  #added: FeedInfo[] = []
  #queue: Promise<void> = Promise.resolve()
  /** Cores this session attached to the stream (each holds one acquire). */
  readonly #attached = new Map<string, Feed>()
  /** Changes to tell the peer once reconciled (flushed per tick). */
  readonly #updates = new Map<string, Feed>()
  #flushScheduled = false
  /** The lengths this peer told us it holds, for feeds of the set. */
  readonly #remoteLengths = new Map<string, number>()

  constructor(host: PeerHost, replication: ReplicationStream) {
    this.#host = host
    this.multifeed = host.multifeed
    this.replication = replication
    this.synced = new Promise((resolve) => {
      this.#resolveSynced = resolve
    })
  }

  get key(): Buffer {
    return this.#host.key
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

  /** Number of this set's cores this session holds attached to the stream. */
  get attachedCount(): number {
    return this.#attached.size
  }

  /** The length the peer told us it holds of a feed, if it did. */
  remoteLength(feed: Feed): number | undefined {
    return this.#remoteLengths.get(feed.id)
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

  pair(): void {
    if (this.#closed || (this.#channel !== null && !this.#channel.closed)) return
    const noise = this.replication.noise
    const hash = noise.handshakeHash!
    const id = channelId(this.#host.key, hash)
    const mux = this.replication.mux
    const channel = mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id,
      handshake: c.raw,
      onopen: (raw) => this.#onOpen(raw),
      onclose: (isRemote) => this.#onChannelClose(isRemote)
    })
    if (channel === null) return
    const message = (onmessage: (raw: Buffer) => void) =>
      channel.addMessage<Buffer>({ encoding: c.raw, onmessage })
    this.#send = {
      symbols: message((raw) => this.#onSymbols(raw)),
      more: message((raw) => this.#onMore(raw)),
      elements: message((raw) => this.#onElements(raw))
    }
    this.#channel = channel
    // From now on changes are kept for the peer: the open below is a snapshot.
    this.#updates.clear()
    const shared = this.#host.shared(this)
    const open = encodeOpen({
      major: PROTOCOL_MAJOR,
      minor: PROTOCOL_MINOR,
      capability: capability(this.#host.key, hash, noise.isInitiator),
      setProof: setProof(this.#host.key, hash, shared.digest),
      count: shared.count,
      sketch: shared.sketch
    })
    this.#count(open, true)
    channel.open(open)
  }

  serve(discoveryId: string): Promise<void> | null {
    if (!this.#opened || this.#closed) return null
    const feed = this.#host.feedByDiscoveryKey(discoveryId)
    if (feed === undefined || !this.#host.shares(feed, this)) return null
    return this.#attach(feed)
  }

  onStreamClose(): void {
    this.#teardown('stream')
  }

  // ---- changes of the set --------------------------------------------------

  /** A feed joined the set or grew: tell the peer (once reconciled), unless hypercore does. */
  changed(feed: Feed): void {
    if (this.#closed || this.#channel === null) return
    if (this.#attached.has(feed.id) || isAttached(this.replication.mux, feed.discoveryId)) return
    const known = this.#remoteLengths.get(feed.id)
    if (known !== undefined && known >= feed.length) return
    this.#updates.set(feed.id, feed)
    if (this.#reconciled) this.#scheduleFlush()
  }

  /**
   * A session wants the feed's blocks: attach its core here if the peer holds
   * more of it than we do.
   */
  fetch(feed: Feed): void {
    if (!this.#opened || this.#closed) return
    const remote = this.#remoteLengths.get(feed.id)
    if (remote !== undefined && remote > feed.length && this.#host.shares(feed, this)) {
      this.#attach(feed).catch(() => {})
    }
  }

  // ---- channel ------------------------------------------------------------

  #onOpen(raw: Buffer): void {
    if (this.#closed) return
    this.#count(raw, false)
    let remote: Open
    try {
      const { major } = decodeVersion(raw)
      if (major !== PROTOCOL_MAJOR) throw new VersionMismatchError(PROTOCOL_MAJOR, major)
      remote = decodeOpen(raw)
    } catch (err) {
      this.#fail(err)
      return
    }
    const noise = this.replication.noise
    const hash = noise.handshakeHash!
    if (!secretsEqual(capability(this.#host.key, hash, !noise.isInitiator), remote.capability)) {
      this.#fail(new CapabilityError())
      return
    }
    this.#opened = true
    this.#remote = remote
    this.#host.onVerified(this)
    if (this.#closed) return

    const shared = this.#host.shared(this)
    if (secretsEqual(setProof(this.#host.key, hash, shared.digest), remote.setProof)) {
      this.#finish()
      return
    }
    if (!noise.isInitiator) return // the initiator encodes, we decode
    const estimate = Math.max(
      estimateDifference(shared.sketch, remote.sketch),
      Math.abs(shared.count - remote.count)
    )
    this.#encoder = new ReconcileEncoder(
      symbolSalt(this.#host.key, hash),
      elementsOf(shared.feeds),
      shared.count,
      remote.count
    )
    this.#sendSymbols(symbolsFor(estimate))
  }

  #sendSymbols(count: number): void {
    const symbols = this.#encoder!.next(count)
    const raw = encodeSymbols(symbols)
    this.stats.symbolsSent += symbols.symbols.length
    this.#count(raw, true)
    this.#send?.symbols.send(raw)
  }

  #onSymbols(raw: Buffer): void {
    if (!this.#live()) return
    this.#count(raw, false)
    try {
      if (this.replication.noise.isInitiator || this.#reconciled) {
        throw new MalformedMessageError('Unexpected coded symbols')
      }
      const message = decodeSymbols(raw)
      this.stats.symbolsReceived += message.symbols.length
      if (this.#decoder === null) {
        const shared = this.#host.shared(this)
        this.#decoder = new ReconcileDecoder(
          symbolSalt(this.#host.key, this.replication.noise.handshakeHash!),
          elementsOf(shared.feeds),
          this.#host.maxDifferences
        )
      }
      const result = this.#decoder.receive(message)
      if (result.status === 'more') {
        const more = encodeMore({ count: result.count })
        this.#count(more, true)
        this.#send?.more.send(more)
        return
      }
      this.#decoder = null
      const lacking = result.localOnly.map(toElement).filter((e) => {
        const feed = this.#host.feed(e.key.toString('hex'))
        return feed !== undefined && this.#host.shares(feed, this)
      })
      this.#sendElements(lacking, ELEMENTS_DONE)
      const received = result.remoteOnly.map(toElement)
      this.#enqueue(async () => {
        await this.#take(received)
        this.#finish()
      })
    } catch (err) {
      this.#fail(err)
    }
  }

  #onMore(raw: Buffer): void {
    if (!this.#live()) return
    this.#count(raw, false)
    try {
      if (this.#encoder === null) throw new MalformedMessageError('Unexpected request for symbols')
      this.#sendSymbols(decodeMore(raw).count)
    } catch (err) {
      this.#fail(err)
    }
  }

  #onElements(raw: Buffer): void {
    if (!this.#live()) return
    this.#count(raw, false)
    let message: ReturnType<typeof decodeElements>
    try {
      message = decodeElements(raw)
      if (message.flags & ELEMENTS_DONE && this.#encoder === null) {
        throw new MalformedMessageError('Unexpected end of reconciliation')
      }
    } catch (err) {
      this.#fail(err)
      return
    }
    if (message.flags & ELEMENTS_DONE) this.#encoder = null
    this.#enqueue(async () => {
      await this.#take(message.elements)
      if (message.flags & ELEMENTS_DONE) this.#finish()
    })
  }

  /** Runs peer input in order, off the Protomux call stack (never return it to Protomux). */
  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (this.#closed ? undefined : work()))
      .catch((err) => this.#fail(err))
  }

  /** The peer holds these feeds at these lengths: learn new ones, fetch what we lack. */
  async #take(elements: Element[]): Promise<void> {
    if (elements.length === 0) return
    const added = await this.#host.receive(this, elements)
    if (this.#closed) return
    for (const info of added) this.#added.push(info)
    for (const { key, length } of elements) {
      const feed = this.#host.feed(key.toString('hex'))
      if (feed === undefined) continue
      const known = this.#remoteLengths.get(feed.id)
      if (known === undefined || length > known) this.#remoteLengths.set(feed.id, length)
      if (length > feed.length && this.#host.wants(feed) && this.#host.shares(feed, this)) {
        await this.#attach(feed)
      }
    }
  }

  #finish(): void {
    if (this.#reconciled || this.#closed) return
    this.#reconciled = true
    const inSync = this.stats.symbolsSent === 0 && this.stats.symbolsReceived === 0
    if (!this.#syncedDone) {
      this.#syncedDone = true
      const info: SyncInfo = { added: this.#added, inSync }
      this.#added = []
      this.#resolveSynced(info)
      this.#host.onSynced(this, info)
    }
    if (this.#updates.size > 0) this.#scheduleFlush()
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(() => {
      this.#flushScheduled = false
      if (this.#closed || !this.#reconciled) return
      const elements: Element[] = []
      for (const feed of this.#updates.values()) {
        const known = this.#remoteLengths.get(feed.id)
        if (known !== undefined && known >= feed.length) continue
        if (isAttached(this.replication.mux, feed.discoveryId)) continue
        if (!this.#host.shares(feed, this)) continue
        elements.push({ key: feed.key, length: feed.length })
      }
      this.#updates.clear()
      if (elements.length > 0) this.#sendElements(elements, 0)
    })
  }

  #sendElements(elements: Element[], lastFlags: number): void {
    const send = this.#send
    if (send === null) return
    let i = 0
    do {
      const chunk = elements.slice(i, i + MAX_ELEMENTS_PER_MESSAGE)
      i += MAX_ELEMENTS_PER_MESSAGE
      const raw = encodeElements({ flags: i >= elements.length ? lastFlags : 0, elements: chunk })
      this.#count(raw, true)
      send.elements.send(raw)
    } while (i < elements.length)
  }

  /** Attaches the feed's core to the stream (once per session); resolves when attached. */
  #attach(feed: Feed): Promise<void> {
    if (this.#attached.has(feed.id)) return Promise.resolve()
    this.#attached.set(feed.id, feed)
    this.stats.coresAttached++
    return this.#host.acquire(feed).then(
      (core) => {
        if (this.#closed || this.#attached.get(feed.id) !== feed) {
          this.#host.release(feed)
          return
        }
        attachCore(this.replication.mux, feed.discoveryId, core)
      },
      () => {
        this.#attached.delete(feed.id)
      }
    )
  }

  #detachAll(): void {
    for (const feed of this.#attached.values()) {
      const core = this.#host.acquired(feed)
      if (core !== null) detachCore(this.replication.mux, feed.discoveryId, core)
      this.#host.release(feed)
    }
    this.#attached.clear()
  }

  #live(): boolean {
    return this.#opened && !this.#closed
  }

  #count(raw: Buffer, sent: boolean): void {
    if (sent) {
      this.stats.bytesSent += raw.byteLength
      this.stats.messagesSent++
    } else {
      this.stats.bytesReceived += raw.byteLength
      this.stats.messagesReceived++
    }
  }

  #onChannelClose(isRemote: boolean): void {
    this.#channel = null
    this.#send = null
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
    if (this.#closed) return
    const error =
      err instanceof Error && 'code' in err
        ? (err as MultifeedError)
        : new MalformedMessageError(`Protocol fault: ${(err as Error)?.message ?? err}`, {
            cause: err
          })
    if (error instanceof ClosedError) {
      this.#teardown('local')
      return
    }
    this.#host.onError(this, error)
    // Close outside the Protomux call that delivered the bad input.
    queueMicrotask(() => this.#teardown('error'))
  }

  #teardown(reason: CloseReason): void {
    if (this.#closed) return
    this.#closed = true
    if (reason === 'remote') this.replication.forgetRemote(this)
    this.replication.remove(this)
    const channel = this.#channel
    this.#channel = null
    this.#send = null
    if (channel !== null && !channel.closed) channel.close()
    this.#detachAll()
    this.#updates.clear()
    this.#remoteLengths.clear()
    this.#encoder = null
    this.#decoder = null
    if (!this.#syncedDone) {
      this.#syncedDone = true
      this.#resolveSynced(null)
    }
    this.#host.onClosed(this, reason)
  }
}

function* elementsOf(feeds: Iterable<Feed>): Generator<Buffer> {
  for (const feed of feeds) yield elementOf(feed.key, feed.length)
}

function toElement(element: Buffer): Element {
  return { key: keyOfElement(element), length: lengthOfElement(element) }
}
