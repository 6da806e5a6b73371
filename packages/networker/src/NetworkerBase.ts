import {
  ClosedError,
  ForeignCorestoreError,
  InvalidArgumentError,
  type MultifeedPeer,
  ReplicationStream,
  Resource,
  sameCorestore
} from '@multifeed/core'
import type { Corestore, NoiseSecretStream } from '@multifeed/holepunch-types'
import type {
  AnyMultifeed,
  NetworkerEvents,
  NetworkerInterface,
  NetworkPeer,
  SwarmOptions
} from './NetworkerInterface.js'

type Multifeed = AnyMultifeed

/** `NetworkerEvents` as a type literal (what the typed emitter's event map needs). */
type NetworkerEventMap = { [E in keyof NetworkerEvents]: NetworkerEvents[E] }

/** How long a reset connection waits for its replacement before the reset is reported. */
const RESET_GRACE_MS = 3000

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
 * The errors a connection reports that are part of normal life, not failures
 * for the user. When both sides dial at once, Hyperswarm keeps one connection
 * and destroys the other with "Duplicate connection"; the side that did not
 * choose sees the dropped one reset (or time out) before it received a byte,
 * often while the kept one to the same peer is already up. A connection that
 * never received a byte carried nothing: its failure is a failed dial, which
 * Hyperswarm retries silently.
 */
export function isBenignConnectionError(
  err: unknown,
  stream?: NoiseSecretStream,
  hasTwin = false
): boolean {
  if (!(err instanceof Error)) return false
  if (err.message === 'Duplicate connection') return true
  if (stream === undefined) return false
  if (stream.rawBytesRead === 0) return true
  return hasTwin && (err as { code?: unknown }).code === 'ECONNRESET'
}

/**
 * One connection (one per peer pair) as the networker sees it. Which
 * multifeeds it carries is learnt from each multifeed's `peer-add` /
 * `peer-remove`: a multifeed counts once its capability was proved on this
 * stream.
 */
export class ConnectedPeer implements NetworkPeer {
  readonly remotePublicKey: Buffer
  readonly stream: NoiseSecretStream
  readonly #sessions = new Map<Multifeed, MultifeedPeer>()
  #closed = false
  /** @internal What we put on the stream, taken off when we let go of it. */
  _release: (() => void) | null = null
  /** @internal True between our peer-add and peer-remove for it. */
  _listed = false

  constructor(stream: NoiseSecretStream, remotePublicKey: Buffer) {
    this.stream = stream
    this.remotePublicKey = remotePublicKey
  }

  /** True once the connection closed. */
  get closed(): boolean {
    return this.#closed
  }

  /** True while at least one multifeed's capability verified on this connection. */
  get proven(): boolean {
    return this.#sessions.size > 0
  }

  multifeeds(): Multifeed[] {
    return [...this.#sessions.keys()]
  }

  /** The multifeed protocol session for `multifeed` on this connection, or null. */
  session(multifeed: Multifeed): MultifeedPeer | null {
    return this.#sessions.get(multifeed) ?? null
  }

  /** @internal */
  _add(multifeed: Multifeed, session: MultifeedPeer): void {
    this.#sessions.set(multifeed, session)
  }

  /** @internal */
  _remove(multifeed: Multifeed, session?: MultifeedPeer): void {
    if (session === undefined || this.#sessions.get(multifeed) === session) {
      this.#sessions.delete(multifeed)
    }
  }

  /** @internal */
  _close(): void {
    this.#closed = true
    this.#sessions.clear()
  }
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
  readonly #peers = new Map<NoiseSecretStream, ConnectedPeer>()
  /** Resets waiting to see whether a new connection to the same peer replaces the reset one. */
  readonly #pendingResets = new Map<string, Set<NodeJS.Timeout>>()

  constructor(corestore: Corestore) {
    super()
    if (!isCorestore(corestore)) {
      throw new InvalidArgumentError('A networker needs a Corestore as first argument')
    }
    this.corestore = corestore
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
    for (const peer of [...this.#peers.values()]) {
      peer._release?.()
      peer._release = null
      ReplicationStream.of(peer.stream)?.release()
      this.#onConnectionClose(peer)
    }
    for (const pending of this.#pendingResets.values()) {
      for (const timer of pending) clearTimeout(timer)
    }
    this.#pendingResets.clear()
  }

  swarm(multifeed: Multifeed, options: SwarmOptions = {}): Promise<void> {
    const existing = this.#swarmed.get(multifeed)
    if (existing !== undefined) return existing.joined
    if (this.closing) return Promise.reject(new ClosedError('The networker is closed'))
    if (multifeed === null || typeof multifeed !== 'object') {
      return Promise.reject(new InvalidArgumentError('swarm() takes a multifeed'))
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
    for (const peer of this.#peers.values()) this.#attach(entry, peer)

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
    return [...this.#peers.values()].filter((peer) => peer.proven)
  }

  /** Every live connection, proven (`peer.proven`) or still awaiting a proof. */
  connections(): ConnectedPeer[] {
    return [...this.#peers.values()]
  }

  /** The peer of a connection, if that connection is ours. */
  peerOf(stream: NoiseSecretStream): ConnectedPeer | null {
    return this.#peers.get(stream) ?? this.#peers.get(stream.noiseStream) ?? null
  }

  /**
   * A transport hands every new connection here, as soon as it exists: the
   * error listener goes on first, the corestore replicates once, every
   * swarmed multifeed attaches.
   */
  protected _handleConnection(stream: NoiseSecretStream, remotePublicKey: Buffer): void {
    if (this.#peers.has(stream)) return
    const onError = (err: Error): void => this.#onConnectionError(stream, err)
    stream.on('error', onError)
    if (this.closing || stream.destroyed) {
      stream.destroy()
      return
    }
    try {
      ReplicationStream.for(this.corestore, stream)
    } catch (err) {
      this.emit('connection-error', toError(err), null)
      stream.destroy()
      return
    }
    // One connection carries every multifeed, each listening for its close.
    const maxListeners = stream.getMaxListeners()
    stream.setMaxListeners(0)
    const peer = new ConnectedPeer(stream, remotePublicKey)
    this.#cancelResets(remotePublicKey)
    this.#peers.set(stream, peer)
    const onClose = (): void => this.#onConnectionClose(peer)
    stream.once('close', onClose)
    peer._release = () => {
      stream.off('error', onError)
      stream.off('close', onClose)
      stream.setMaxListeners(maxListeners)
    }
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
    for (const peer of this.#peers.values()) this.#detach(entry, peer)
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

  #onConnectionError(stream: NoiseSecretStream, err: Error): void {
    if (this.closing) return
    const peer = this.#peers.get(stream) ?? null
    if (isBenignConnectionError(err, stream, peer !== null && this.#hasTwin(peer))) return
    if (peer !== null && (err as { code?: unknown }).code === 'ECONNRESET') {
      // When both sides dialed, the remote may keep our second connection and
      // reset the first one, data and all, just before the second shows up
      // here. Report the reset only if no new connection to that peer follows.
      this.#deferReset(peer, err)
      return
    }
    this.emit('connection-error', err, peer)
  }

  #deferReset(peer: ConnectedPeer, err: Error): void {
    const id = peer.remotePublicKey.toString('hex')
    let pending = this.#pendingResets.get(id)
    if (pending === undefined) {
      pending = new Set()
      this.#pendingResets.set(id, pending)
    }
    const timer = setTimeout(() => {
      pending.delete(timer)
      if (pending.size === 0 && this.#pendingResets.get(id) === pending) {
        this.#pendingResets.delete(id)
      }
      if (!this.closing) this.emit('connection-error', err, peer)
    }, RESET_GRACE_MS)
    timer.unref()
    pending.add(timer)
  }

  /** A new connection to `remotePublicKey`: the resets of its earlier ones were a swap. */
  #cancelResets(remotePublicKey: Buffer): void {
    const id = remotePublicKey.toString('hex')
    const pending = this.#pendingResets.get(id)
    if (pending === undefined) return
    for (const timer of pending) clearTimeout(timer)
    this.#pendingResets.delete(id)
  }

  /** True when another live connection goes to the same remote. */
  #hasTwin(peer: ConnectedPeer): boolean {
    for (const other of this.#peers.values()) {
      if (other !== peer && !other.closed && other.remotePublicKey.equals(peer.remotePublicKey)) {
        return true
      }
    }
    return false
  }

  #onConnectionClose(peer: ConnectedPeer): void {
    if (this.#peers.get(peer.stream) !== peer) return
    this.#peers.delete(peer.stream)
    peer._close()
    this.#unlistIfUnproven(peer)
  }
}

/** Null when `options` of swarm() are valid, else why not. */
function checkSwarmOptions(options: unknown): string | null {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return 'swarm() options must be an object'
  }
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'announce' && key !== 'lookup') return `Unknown swarm() option '${key}'`
    if (value !== undefined && typeof value !== 'boolean')
      return `swarm() option ${key} must be a boolean`
  }
  return null
}

function isCorestore(value: unknown): value is Corestore {
  if (typeof value !== 'object' || value === null) return false
  const store = value as Record<string, unknown>
  return ['get', 'replicate', 'session', 'findingPeers'].every(
    (name) => typeof store[name] === 'function'
  )
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
