/**
 * One multifeed's protocol channel on one replication stream.
 *
 * Lifecycle: `start()` waits for the Noise handshake, registers a pair
 * handler for (PROTOCOL_NAME, discovery key) and opens the channel; the
 * remote's open carries its version, capability and set proof. Nothing about
 * the set leaves this object before the remote's capability verifies. Then:
 *
 * - equal set proofs: nothing is exchanged (an in-sync reconnect costs the
 *   two channel-open messages);
 * - otherwise each side sends its shared keys in batches, the last flagged;
 * - afterwards every feed added anywhere is offered as a delta, at once.
 *
 * A peer's input never throws out of a Protomux handler: it is decoded in
 * `messages.ts`, and any fault closes this channel only (`fail()`).
 */

import type {
  ProtomuxChannel as Channel,
  Hypercore,
  ProtomuxMessage as Message,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import crypto from 'hypercore-crypto'
import {
  CapabilityError,
  ClosedError,
  MalformedMessageError,
  type MultifeedError,
  VersionMismatchError
} from '../errors.js'
import type { Multifeed } from '../Multifeed.js'
import { releaseCore, retainCore } from '../replication/StreamRegistry.js'
import type { RemoteFeedsInfo } from '../types.js'
import { capability, proofsEqual, setProof } from './capability.js'
import {
  decodeFeeds,
  decodeHandshake,
  decodeVersion,
  encodeFeeds,
  encodeHandshake,
  FEEDS_LAST,
  MAX_KEYS_PER_MESSAGE,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PROTOCOL_NAME
} from './messages.js'

/** A feed of the set as the peer needs to see it. */
export interface SharedFeed {
  readonly key: Buffer
  readonly id: string
  readonly core: Hypercore<unknown>
  /** Position in the set's insertion order. */
  readonly seq: number
}

/** What a peer needs from its multifeed (implemented by Multifeed, kept internal). */
export interface PeerHost {
  readonly multifeed: Multifeed
  readonly key: Buffer
  readonly discoveryKey: Buffer
  readonly maxKeysPerMessage: number
  /** Number of feeds in the set (the next feed's seq). */
  feedCount(): number
  /** True when the feed (hex key) is in the set. */
  has(id: string): boolean
  /** The feeds this peer may be offered, in insertion order. */
  sharedFeeds(peer: MultifeedPeer): SharedFeed[]
  /** Digest of `sharedFeeds(peer)`. */
  sharedDigest(peer: MultifeedPeer): Buffer
  /** Accepts, persists and registers the keys a peer offered; resolves to the newly added cores. */
  receive(peer: MultifeedPeer, keys: Buffer[]): Promise<Hypercore<unknown>[]>
  onVerified(peer: MultifeedPeer): void
  onRemoteFeeds(peer: MultifeedPeer, info: RemoteFeedsInfo): void
  onError(peer: MultifeedPeer, error: MultifeedError): void
  onClosed(peer: MultifeedPeer, reason: 'local' | 'remote' | 'stream' | 'error'): void
}

/** Bytes and messages of the multifeed protocol alone (not hypercore's). */
export interface PeerStats {
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
}

export class MultifeedPeer {
  readonly multifeed: Multifeed
  /** The encrypted stream the channel runs on (one per connection). */
  readonly stream: NoiseSecretStream
  /** Resolves once the initial exchange is complete; null if the channel closed before. */
  readonly synced: Promise<RemoteFeedsInfo | null>
  readonly stats: PeerStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0
  }

  #host: PeerHost
  #mux: Protomux
  #channel: Channel | null = null
  #feedsMessage: Message<Buffer> | null = null
  #opened = false
  #closed = false
  #failed = false
  #resolveSynced: (info: RemoteFeedsInfo | null) => void = () => {}
  #syncedDone = false

  #remoteMax = 1
  #proof: Buffer | null = null
  #proofSeq = 0
  #remoteHas = new Set<string>()
  /**
   * Cores on this stream: 'open' — attached, hypercore opens its channel;
   * 'expect' — the remote is learning the key from us: we only answer its open.
   */
  #attached = new Map<
    string,
    { core: Hypercore<unknown>; state: 'open' | 'expect'; discoveryKey: Buffer }
  >()
  #outbox: Buffer[] = []
  #flushScheduled = false
  #corked = false
  #initialSent = false
  #initialReceived = false
  #inSync = false
  #added: Hypercore<unknown>[] = []
  #queue: Promise<void> = Promise.resolve()

  constructor(host: PeerHost, stream: NoiseSecretStream, mux: Protomux) {
    this.#host = host
    this.multifeed = host.multifeed
    this.stream = stream
    this.#mux = mux
    this.synced = new Promise((resolve) => {
      this.#resolveSynced = resolve
    })
  }

  /** The remote's Noise public key (null until the stream's handshake completed). */
  get remotePublicKey(): Buffer | null {
    return this.stream.remotePublicKey
  }

  /** True once the remote's capability verified. */
  get opened(): boolean {
    return this.#opened
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Starts the session: waits for the stream's handshake, then opens the channel. */
  start(): void {
    if (this.stream.destroyed) {
      this.#teardown('stream')
      return
    }
    // One listener per multifeed (and hypercore adds one per core, lifting the
    // limit the same way): many multifeeds on one stream is the normal case.
    this.stream.setMaxListeners(0)
    this.stream.once('close', this.#onStreamClose)
    if (this.stream.handshakeHash) {
      this.#begin()
      return
    }
    this.stream.opened.then(
      (ok) => (ok ? this.#begin() : this.#teardown('stream')),
      () => this.#teardown('stream')
    )
  }

  /** Closes this multifeed's channel on the stream; the stream and other multifeeds live on. */
  close(): void {
    if (this.#closed) return
    this.#teardown('local')
  }

  /**
   * Offers a feed that just joined the set: attaches its core to this stream
   * and, unless the remote already has it, sends its key (batched per tick).
   */
  offer(feed: SharedFeed): void {
    if (!this.#opened || this.#closed) return
    this.#corkTick()
    if (this.#remoteHas.has(feed.id)) {
      this.#attach(feed)
      return
    }
    this.#expect(feed)
    this.#remoteHas.add(feed.id)
    this.#outbox.push(feed.key)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      queueMicrotask(() => this.#flush())
    }
  }

  /**
   * Corks the stream's muxer until the attaches of this tick have opened
   * their channels, so that everything this tick sends goes out in one
   * encrypted frame instead of one per core. Hypercore opens a core's
   * channel in a `stream.opened.then()` callback queued by `replicate()`;
   * the uncork is queued one microtask later, after all of them.
   */
  #corkTick(): void {
    if (this.#corked) return
    this.#corked = true
    this.#mux.cork()
    queueMicrotask(() => {
      this.stream.opened.then(
        () => this.#uncork(),
        () => this.#uncork()
      )
    })
  }

  #uncork(): void {
    if (!this.#corked) return
    this.#corked = false
    this.#mux.uncork()
  }

  /** True if the remote told us it has this feed, or we told it. */
  knows(id: string): boolean {
    return this.#remoteHas.has(id)
  }

  #onStreamClose = (): void => {
    this.#teardown('stream')
  }

  #begin(): void {
    if (this.#closed) return
    this.#mux.pair({ protocol: PROTOCOL_NAME, id: this.#host.discoveryKey }, () =>
      this.#openChannel()
    )
    this.#openChannel()
  }

  #openChannel(): void {
    if (this.#closed || this.#failed) return
    if (this.#channel !== null && !this.#channel.closed) return
    const channel = this.#mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id: this.#host.discoveryKey,
      handshake: c.raw,
      messages: [],
      onopen: (handshake) => this.#onOpen(handshake),
      onclose: (isRemote) => this.#onChannelClose(isRemote)
    })
    if (channel === null) return
    this.#feedsMessage = channel.addMessage<Buffer>({
      encoding: c.raw,
      onmessage: (raw) => this.#onFeeds(raw)
    })
    this.#channel = channel
    const handshakeHash = this.stream.handshakeHash!
    this.#proofSeq = this.#host.feedCount()
    this.#proof = setProof(this.#host.key, handshakeHash, this.#host.sharedDigest(this))
    const handshake = encodeHandshake({
      major: PROTOCOL_MAJOR,
      minor: PROTOCOL_MINOR,
      capability: capability(this.#host.key, handshakeHash, this.stream.isInitiator),
      setProof: this.#proof,
      maxKeysPerMessage: this.#host.maxKeysPerMessage
    })
    this.stats.bytesSent += handshake.byteLength
    this.stats.messagesSent++
    channel.open(handshake)
  }

  #onOpen(raw: Buffer): void {
    if (this.#closed) return
    this.stats.bytesReceived += raw.byteLength
    this.stats.messagesReceived++
    let handshake: ReturnType<typeof decodeHandshake>
    try {
      const { major } = decodeVersion(raw)
      if (major !== PROTOCOL_MAJOR) throw new VersionMismatchError(PROTOCOL_MAJOR, major)
      handshake = decodeHandshake(raw)
    } catch (err) {
      this.#fail(err)
      return
    }
    const handshakeHash = this.stream.handshakeHash!
    const expected = capability(this.#host.key, handshakeHash, !this.stream.isInitiator)
    if (!proofsEqual(expected, handshake.capability)) {
      this.#fail(new CapabilityError())
      return
    }

    this.#remoteMax = Math.min(handshake.maxKeysPerMessage, MAX_KEYS_PER_MESSAGE)
    this.#opened = true
    this.#host.onVerified(this)
    if (this.#closed) return

    const feeds = this.#host.sharedFeeds(this)
    this.#inSync = this.#proof !== null && proofsEqual(handshake.setProof, this.#proof)
    this.#corkTick()
    if (this.#inSync) {
      // Same set at proof time: only what joined since travels, as deltas.
      for (const feed of feeds) {
        if (feed.seq < this.#proofSeq) {
          this.#remoteHas.add(feed.id)
          this.#attach(feed)
        } else {
          this.offer(feed)
        }
      }
      this.#initialReceived = true
    } else {
      const keys: Buffer[] = []
      for (const feed of feeds) {
        this.#remoteHas.add(feed.id)
        keys.push(feed.key)
      }
      this.#sendKeys(keys, FEEDS_LAST)
      // We do not know yet which of these the remote holds: opening their
      // channels now would mostly be refused. Feeds it lists back get
      // attached (offer()); for the others we answer the remote's open.
      for (const feed of feeds) this.#expect(feed)
    }
    this.#initialSent = true
    this.#maybeFinishInitial()
  }

  #onFeeds(raw: Buffer): void {
    if (this.#closed || !this.#opened) return
    this.stats.bytesReceived += raw.byteLength
    this.stats.messagesReceived++
    let message: ReturnType<typeof decodeFeeds>
    try {
      message = decodeFeeds(raw, Math.min(this.#host.maxKeysPerMessage, MAX_KEYS_PER_MESSAGE))
    } catch (err) {
      this.#fail(err)
      return
    }
    // Processed in order, off the Protomux call stack: never return this promise
    // to Protomux (it would hold the stream's batch while we await storage).
    this.#queue = this.#queue
      .then(() => this.#process(message.keys, message.flags))
      .catch((err) => this.#fail(err))
  }

  async #process(keys: Buffer[], flags: number): Promise<void> {
    if (this.#closed) return
    if (flags & FEEDS_LAST && this.#initialReceived) {
      throw new MalformedMessageError('Remote ended its initial feed list twice')
    }
    const ids = keys.map((key) => key.toString('hex'))
    for (const id of ids) this.#remoteHas.add(id)
    const added = await this.#host.receive(this, keys)
    if (this.#closed) return
    // Remember only what is in our set: keys we refused are not kept (a peer
    // offering endless refused keys costs us no memory).
    for (const id of ids) if (!this.#host.has(id)) this.#remoteHas.delete(id)
    for (const core of added) this.#added.push(core)
    if (flags & FEEDS_LAST) {
      this.#initialReceived = true
      this.#maybeFinishInitial()
    }
  }

  #maybeFinishInitial(): void {
    if (this.#syncedDone || !this.#initialSent || !this.#initialReceived) return
    this.#syncedDone = true
    const info: RemoteFeedsInfo = { added: this.#added, inSync: this.#inSync }
    this.#added = []
    this.#resolveSynced(info)
    this.#host.onRemoteFeeds(this, info)
  }

  #flush(): void {
    this.#flushScheduled = false
    if (this.#closed || this.#outbox.length === 0) return
    const keys = this.#outbox
    this.#outbox = []
    this.#sendKeys(keys, 0)
  }

  #sendKeys(keys: Buffer[], lastFlag: number): void {
    const message = this.#feedsMessage
    if (message === null) return
    const batch = this.#remoteMax
    let i = 0
    do {
      const chunk = keys.slice(i, i + batch)
      i += batch
      const flags = i >= keys.length ? lastFlag : 0
      const buffer = encodeFeeds({ flags, keys: chunk })
      this.stats.bytesSent += buffer.byteLength
      this.stats.messagesSent++
      message.send(buffer)
    } while (i < keys.length)
  }

  /** Attaches the feed's core to this stream: hypercore opens its channel. */
  #attach(feed: SharedFeed): void {
    const core = feed.core
    if (core.closing !== null) return
    const current = this.#attached.get(feed.id)
    if (current?.state === 'open' && current.core === core) return
    if (current === undefined) this.#retain(feed)
    this.#attached.set(feed.id, { core, state: 'open', discoveryKey: discoveryKeyOf(feed) })
    this.#whenOpen(feed, () => core.replicate(this.#mux))
  }

  /**
   * Prepares for the remote to open the feed's channel (it is learning the key
   * from us) without opening it ourselves: hypercore attaches when it does.
   */
  #expect(feed: SharedFeed): void {
    const core = feed.core
    if (this.#attached.has(feed.id) || core.closing !== null) return
    this.#retain(feed)
    const discoveryKey = discoveryKeyOf(feed)
    if (core.core?.replicator.attached(this.#mux)) {
      // Another multifeed attached this core here already: hypercore answers.
      this.#attached.set(feed.id, { core, state: 'open', discoveryKey })
      return
    }
    this.#attached.set(feed.id, { core, state: 'expect', discoveryKey })
    // Attaching from the pair handler lets hypercore take the remote's pending
    // open (it creates its channel before Protomux would reject the open).
    this.#mux.pair({ protocol: HYPERCORE_PROTOCOL, id: discoveryKey }, () => {
      const entry = this.#attached.get(feed.id)
      if (this.#closed || entry === undefined || entry.core.closing !== null) return
      entry.state = 'open'
      const target = entry.core
      if (target.opened) {
        target.replicate(this.#mux)
        return
      }
      return target.ready().then(
        () => {
          if (!this.#closed && target.closing === null) target.replicate(this.#mux)
        },
        () => {}
      )
    })
  }

  #retain(feed: SharedFeed): void {
    retainCore(this.#mux, discoveryKeyOf(feed).toString('hex'))
  }

  /**
   * Runs `attach` once the core is open. Hypercore destroys the whole stream
   * when a core attached before it opened fails to open (e.g. closed meanwhile).
   */
  #whenOpen(feed: SharedFeed, attach: () => void): void {
    const core = feed.core
    if (core.opened) {
      attach()
      return
    }
    core.ready().then(
      () => {
        const entry = this.#attached.get(feed.id)
        if (!this.#closed && entry?.core === core && core.closing === null) attach()
      },
      () => {}
    )
  }

  /**
   * Lets go of every core on this stream. A core another multifeed still uses
   * here stays attached (one key pair may write in several multifeeds).
   */
  #detachAll(): void {
    for (const { core, discoveryKey } of this.#attached.values()) {
      if (!releaseCore(this.#mux, discoveryKey.toString('hex'))) continue
      if (this.stream.destroyed) continue
      this.#mux.unpair({ protocol: HYPERCORE_PROTOCOL, id: discoveryKey })
      const replicator = core.core?.replicator
      if (!replicator) continue
      replicator.detachFrom(this.#mux)
      for (const peer of [...replicator.peers]) {
        if (peer.protomux === this.#mux) peer.channel.close()
      }
    }
    this.#attached.clear()
  }

  #onChannelClose(isRemote: boolean): void {
    this.#channel = null
    this.#feedsMessage = null
    if (this.#closed) return
    // Closed before it opened: the remote has not attached this multifeed yet
    // (it rejected our open). Our pair handler stays, so its open reaches us.
    if (!this.#opened) return
    this.#teardown(isRemote ? 'remote' : 'local')
  }

  #fail(err: unknown): void {
    if (this.#closed) return
    this.#failed = true
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

  #teardown(reason: 'local' | 'remote' | 'stream' | 'error'): void {
    if (this.#closed) return
    this.#closed = true
    this.stream.off('close', this.#onStreamClose)
    this.#mux.unpair({ protocol: PROTOCOL_NAME, id: this.#host.discoveryKey })
    const channel = this.#channel
    this.#channel = null
    if (channel !== null && !channel.closed) channel.close()
    this.#detachAll()
    this.#outbox = []
    this.#remoteHas.clear()
    if (!this.#syncedDone) {
      this.#syncedDone = true
      this.#resolveSynced(null)
    }
    this.#host.onClosed(this, reason)
  }
}

const HYPERCORE_PROTOCOL = 'hypercore/alpha'

function discoveryKeyOf(feed: SharedFeed): Buffer {
  return feed.core.discoveryKey ?? crypto.discoveryKey(feed.key)
}
