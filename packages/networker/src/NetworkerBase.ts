/**
 * The base every networker extends, whatever brings its connections: the
 * swarmed multifeeds (swarm, leave, a multifeed closing), attaching each of
 * them to every connection, the peer events that follow from their sessions
 * (`peer-add`, `peer-multifeed`, `peer-remove`), and the lifecycle. The
 * connections themselves live in Connections.ts, one connection's state in
 * ConnectedPeer.ts; a transport subclass joins and leaves topics.
 */
import {
  ClosedError,
  ForeignCorestoreError,
  InvalidArgumentError,
  type MultifeedPeer,
  Resource,
  rootOf,
  sameCorestore
} from '@multifeed/core'
import type { Corestore, NoiseSecretStream } from '@multifeed/holepunch-types'
import type { ConnectedPeer } from './ConnectedPeer.js'
import { Connections } from './Connections.js'
import { toError } from './connectionErrors.js'
import type {
  AnyMultifeed,
  NetworkerEvents,
  NetworkerInterface,
  SwarmOptions
} from './NetworkerInterface.js'
import { checkSwarmOptions, isCorestore, isMultifeed } from './options.js'

type Multifeed = AnyMultifeed

/** `NetworkerEvents` as a type literal (what the typed emitter's event map needs). */
type NetworkerEventMap = { [E in keyof NetworkerEvents]: NetworkerEvents[E] }

/** A multifeed this networker swarms, with the listeners it put on it. */
export interface SwarmedMultifeed {
  readonly multifeed: Multifeed
  readonly topic: Buffer
  readonly announce: boolean
  readonly lookup: boolean
  /** Set by `leave()` (or close): pending joins stop, late events are ignored. */
  left: boolean
}

interface SwarmedEntry extends SwarmedMultifeed {
  joined: Promise<void>
  onPeerAdd: (session: MultifeedPeer) => void
  onPeerRemove: (session: MultifeedPeer) => void
  onClose: () => void
}

/**
 * What every networker shares, whatever brings its connections: the set of
 * swarmed multifeeds, the per-connection state (keyed by the connection
 * object: two connections to one peer are two entries), replication of the
 * corestore once per connection, attaching every swarmed multifeed to every
 * connection, events and lifecycle. A transport implements joining and
 * leaving a topic, and hands each new connection to `_handleConnection()`.
 */
export abstract class NetworkerBase
  extends Resource<NetworkerEventMap>
  implements NetworkerInterface
{
  /** The corestore every swarmed multifeed must live in (any session of the same root store). */
  readonly corestore: Corestore
  readonly #swarmed = new Map<Multifeed, SwarmedEntry>()
  readonly #connections: Connections

  constructor(corestore: Corestore) {
    super()
    if (!isCorestore(corestore)) {
      throw new InvalidArgumentError('A networker needs a Corestore as first argument')
    }
    // Checked before any transport exists: a networker on a closed store never opens a swarm.
    if (corestore.closing !== null || rootOf(corestore).closing !== null) {
      throw new ClosedError('The corestore given to the networker is closed')
    }
    this.corestore = corestore
    this.#connections = new Connections(corestore, {
      isClosing: () => this.closing,
      reportError: (err, peer) => this.emit('connection-error', err, peer),
      closed: (peer) => this.#unlistIfUnproven(peer),
      concluded: (peer, outcome) => {
        if (outcome.paired.length === 0 && !this.closing) {
          this.emit('connection-unpaired', peer, outcome)
        }
      }
    })
  }

  /** Join the topic (announce and/or look up); resolves once done. */
  protected abstract _joinTopic(entry: SwarmedMultifeed): Promise<void>
  /** Leave the topic; live connections stay. */
  protected abstract _leaveTopic(entry: SwarmedMultifeed): Promise<void>
  /** Release the transport at close, after every multifeed (`entries`) was detached. */
  protected abstract _closeTransport(entries: SwarmedMultifeed[]): Promise<void>

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    const entries = [...this.#swarmed.values()]
    for (const entry of entries) this.#forget(entry)
    await this._closeTransport(entries)
    // Connections that live on (a given swarm's): nothing of ours stays on them.
    this.#connections.releaseAll()
  }

  swarm(multifeed: Multifeed, options: SwarmOptions = {}): Promise<void> {
    const existing = this.#swarmed.get(multifeed)
    if (existing !== undefined) return existing.joined
    if (this.closing) return Promise.reject(new ClosedError('The networker is closed'))
    if (!isMultifeed(multifeed)) {
      return Promise.reject(new InvalidArgumentError('swarm() takes a Multifeed'))
    }
    const badOptions = checkSwarmOptions(options)
    if (badOptions !== null) return Promise.reject(new InvalidArgumentError(badOptions))
    if (multifeed.closing || multifeed.closed) {
      return Promise.reject(new ClosedError('Cannot swarm a closed multifeed'))
    }
    if (!sameCorestore(multifeed.corestore, this.corestore)) {
      return Promise.reject(
        new ForeignCorestoreError(
          'This multifeed lives in another corestore than the networker: open it from the corestore given to the networker (or a session of it)'
        )
      )
    }

    const entry: SwarmedEntry = {
      multifeed,
      topic: multifeed.discoveryKey,
      announce: options.announce !== false,
      lookup: options.lookup !== false,
      left: false,
      joined: Promise.resolve(),
      onPeerAdd: (session) => this.#onMultifeedPeerAdd(entry, session),
      onPeerRemove: (session) => this.#onMultifeedPeerRemove(entry, session),
      onClose: () => {
        this.leave(multifeed).catch(() => {})
      }
    }
    this.#swarmed.set(multifeed, entry)
    multifeed.on('peer-add', entry.onPeerAdd)
    multifeed.on('peer-remove', entry.onPeerRemove)
    multifeed.on('close', entry.onClose)

    // Connections that exist already carry it at once: no new connection.
    for (const peer of this.#connections) this.#attach(entry, peer)

    entry.joined = this.#join(entry)
    return entry.joined
  }

  /** Joins the topic. Interrupted by `leave()`: resolves. Interrupted by `close()`: ERR_CLOSED. */
  async #join(entry: SwarmedEntry): Promise<void> {
    try {
      await this.ready()
      if (!entry.left) await this._joinTopic(entry)
    } catch (err) {
      if (!entry.left && !this.closing) {
        // A failed join leaves nothing behind: the multifeed can be swarmed again.
        this.#forget(entry)
        throw err
      }
    }
    if (this.closing) {
      throw new ClosedError(`${this.constructor.name} was closed before swarm() completed`)
    }
  }

  async leave(multifeed: Multifeed): Promise<void> {
    const entry = this.#swarmed.get(multifeed)
    if (entry === undefined) return
    this.#forget(entry)
    await this._leaveTopic(entry)
  }

  multifeeds(): Multifeed[] {
    return [...this.#swarmed.keys()]
  }

  /** Peers that proved at least one shared multifeed on their connection. */
  peers(): ConnectedPeer[] {
    return this.#connections.all().filter((peer) => peer.proven)
  }

  /** Every live connection, proven (`peer.proven`) or still awaiting a proof. */
  connections(): ConnectedPeer[] {
    return this.#connections.all()
  }

  /** The peer of a connection, if that connection is ours. */
  peerOf(stream: NoiseSecretStream): ConnectedPeer | null {
    return this.#connections.peerOf(stream)
  }

  /**
   * A transport hands every new connection here, as soon as it exists: the
   * error listener goes on first, the corestore replicates once, every
   * swarmed multifeed attaches.
   */
  protected _handleConnection(stream: NoiseSecretStream, remotePublicKey: Buffer): void {
    const peer = this.#connections.add(stream, remotePublicKey)
    if (peer === null) return
    for (const entry of this.#swarmed.values()) {
      if (peer.closed) break
      this.#attach(entry, peer)
    }
  }

  #attach(entry: SwarmedEntry, peer: ConnectedPeer): void {
    try {
      entry.multifeed.attach(peer.stream)
    } catch (err) {
      if (entry.multifeed.closing || peer.stream.destroyed) return
      this.emit('connection-error', toError(err), peer)
    }
  }

  #detach(entry: SwarmedEntry, peer: ConnectedPeer): void {
    peer._remove(entry.multifeed)
    this.#unlistIfUnproven(peer)
    if (peer.stream.destroyed) return
    try {
      entry.multifeed.detach(peer.stream)
    } catch (err) {
      if (entry.multifeed.closing) return
      this.emit('connection-error', toError(err), peer)
    }
  }

  /** Stops swarming `entry` on our side: listeners off, detached from every connection. */
  #forget(entry: SwarmedEntry): void {
    if (entry.left) return
    entry.left = true
    if (this.#swarmed.get(entry.multifeed) === entry) this.#swarmed.delete(entry.multifeed)
    entry.multifeed.off('peer-add', entry.onPeerAdd)
    entry.multifeed.off('peer-remove', entry.onPeerRemove)
    entry.multifeed.off('close', entry.onClose)
    for (const peer of this.#connections) this.#detach(entry, peer)
  }

  #onMultifeedPeerAdd(entry: SwarmedEntry, session: MultifeedPeer): void {
    if (entry.left) return
    const peer = this.peerOf(session.stream)
    if (peer === null || peer.closed) return
    peer._add(entry.multifeed, session)
    if (!peer._listed) {
      peer._listed = true
      this.emit('peer-add', peer)
    }
    this.emit('peer-multifeed', peer, entry.multifeed, session)
  }

  #onMultifeedPeerRemove(entry: SwarmedEntry, session: MultifeedPeer): void {
    const peer = this.peerOf(session.stream)
    if (peer === null) return
    peer._remove(entry.multifeed, session)
    this.#unlistIfUnproven(peer)
  }

  /** A listed peer that no longer shares any multifeed leaves peers(): peer-remove. */
  #unlistIfUnproven(peer: ConnectedPeer): void {
    if (!peer._listed || peer.proven) return
    peer._listed = false
    this.emit('peer-remove', peer)
  }
}
