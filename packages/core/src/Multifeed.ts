import type { Duplex } from 'node:stream'
import type Corestore from 'corestore'
import type { ReplicationStream, ValueEncoding } from 'hypercore'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import type { NoiseSecretStream } from 'protomux'
import {
  ClosedError,
  InvalidArgumentError,
  LimitExceededError,
  type MultifeedError,
  NotWritableError
} from './errors.js'
import { parseKey } from './keys.js'
import { bounded } from './lifecycle/bounded.js'
import { Resource } from './lifecycle/Resource.js'
import { FeedSetDigest } from './protocol/FeedSetDigest.js'
import { MultifeedPeer, type PeerHost, type SharedFeed } from './protocol/MultifeedPeer.js'
import { MAX_KEYS_PER_MESSAGE } from './protocol/messages.js'
import { replicateCorestore } from './replication/replicateCorestore.js'
import { Membership } from './storage/Membership.js'
import type {
  DownloadedOptions,
  FeedInfo,
  KeyLike,
  MultifeedEvents,
  MultifeedOptions,
  MultifeedPolicy,
  RemoteFeedsInfo,
  WriterOptions
} from './types.js'

const DEFAULT_MAX_KEYS_PER_MESSAGE = 1024
const DEFAULT_MAX_FEEDS = 100_000
const MAX_NAME_LENGTH = 255

interface FeedEntry extends SharedFeed {
  readonly info: FeedInfo
}

/**
 * A named set of hypercores, one per writer, that every peer knowing the
 * multifeed key discovers and replicates. See the package README.
 */
export class Multifeed extends Resource<MultifeedEvents> {
  /** The shared secret of the set: whoever holds it may join. */
  readonly key: Buffer
  /** Hash of the key: the public topic and channel id; reveals no feed. */
  readonly discoveryKey: Buffer
  /** The corestore passed to `open()`. */
  readonly corestore: Corestore

  readonly #options: MultifeedOptions
  readonly #policy: MultifeedPolicy
  readonly #maxKeysPerMessage: number
  readonly #maxFeeds: number
  readonly #store: Corestore
  readonly #membership: Membership
  readonly #digest = new FeedSetDigest()
  readonly #feeds = new Map<string, FeedEntry>()
  readonly #order: FeedEntry[] = []
  readonly #pending = new Set<string>()
  readonly #writers = new Map<string, Promise<Hypercore<unknown>>>()
  readonly #names = new Map<string, string>()
  readonly #extraSessions = new Set<Hypercore<unknown>>()
  readonly #peers = new Map<NoiseSecretStream, MultifeedPeer>()
  readonly #host: PeerHost

  /**
   * Opens (or creates) the multifeed `key` in `corestore`. Without a key a new
   * multifeed with a secure random key is created: keep `multi.key` to open
   * it again. Resolves once every known feed is registered.
   */
  static async open(
    corestore: Corestore,
    key?: KeyLike | null,
    options: MultifeedOptions = {}
  ): Promise<Multifeed> {
    const multi = new Multifeed(corestore, key ?? null, options)
    await multi.ready()
    return multi
  }

  private constructor(corestore: Corestore, key: KeyLike | null, options: MultifeedOptions) {
    super()
    if (!isCorestore(corestore)) {
      throw new InvalidArgumentError('Multifeed.open() takes a Corestore as first argument')
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options must be an object')
    }
    this.key = key === null ? crypto.randomBytes(32) : parseKey(key, 'Multifeed key')
    this.discoveryKey = crypto.discoveryKey(this.key)
    this.corestore = corestore
    this.#options = options
    this.#policy = options.policy ?? {}
    this.#maxKeysPerMessage = limit(
      'maxKeysPerMessage',
      options.limits?.maxKeysPerMessage,
      DEFAULT_MAX_KEYS_PER_MESSAGE,
      MAX_KEYS_PER_MESSAGE
    )
    this.#maxFeeds = limit('maxFeeds', options.limits?.maxFeeds, DEFAULT_MAX_FEEDS, 2 ** 32)
    if (corestore.closing !== null) throw new ClosedError('The corestore is closed')
    this.#store = corestore.namespace(`@multifeed/${this.discoveryKey.toString('hex')}`, {
      active: false
    })
    this.#membership = new Membership(this.#store)
    this.#host = this.#makeHost()
  }

  /** Every core of the set, local and remote, in the order they joined. */
  feeds(): Hypercore<unknown>[] {
    return this.#order.map((entry) => entry.core)
  }

  /** What we know of every feed, in the order they joined. */
  feedInfos(): FeedInfo[] {
    return this.#order.map((entry) => entry.info)
  }

  /** The core of `key` (Buffer, hex or z32) if it is in the set, else null. */
  feed(key: KeyLike): Hypercore<unknown> | null {
    const id = parseKey(key, 'Feed key').toString('hex')
    return this.#feeds.get(id)?.core ?? null
  }

  /** Peers whose capability verified, on every stream this multifeed is attached to. */
  peers(): MultifeedPeer[] {
    return [...this.#peers.values()].filter((peer) => peer.opened)
  }

  /**
   * The local writable core called `name` (a local name: never sent to
   * peers), created on first use. Idempotent and safe under concurrent calls:
   * every call with one name resolves to the same core, across restarts too.
   */
  writer(name = 'default', options: WriterOptions = {}): Promise<Hypercore<unknown>> {
    try {
      this.assertOpen('Multifeed')
      if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
        throw new InvalidArgumentError(
          `Writer name must be a string of 1 to ${MAX_NAME_LENGTH} characters`
        )
      }
    } catch (err) {
      return Promise.reject(err)
    }
    let pending = this.#writers.get(name)
    if (pending === undefined) {
      pending = this.#createWriter(name, options)
      this.#writers.set(name, pending)
      pending.catch(() => this.#writers.delete(name))
    }
    const { keyPair, valueEncoding } = options
    return pending.then((core) => {
      if (keyPair && !keyPair.publicKey.equals(core.keyPair!.publicKey)) {
        throw new InvalidArgumentError(`Writer "${name}" already exists with another key pair`)
      }
      if (valueEncoding === undefined || valueEncoding === this.#options.valueEncoding) return core
      return this.#session(core, valueEncoding)
    })
  }

  /**
   * Replicates with a peer: returns the corestore replication stream (created
   * for `isInitiator`, or `stream` itself) with this multifeed attached. Pipe
   * it to the other side's `replicate(!isInitiator)`.
   */
  replicate(isInitiatorOrStream: boolean | Duplex): ReplicationStream {
    this.assertOpen('Multifeed')
    const stream = replicateCorestore(this.corestore, isInitiatorOrStream)
    this.attach(stream)
    return stream
  }

  /**
   * Attaches this multifeed's channel to a stream that already carries
   * corestore replication (`replicateCorestore()`): the networker calls it
   * for every multifeed on every connection. Idempotent per stream.
   */
  attach(stream: Duplex): MultifeedPeer {
    this.assertOpen('Multifeed')
    const noise = noiseOf(stream)
    const existing = this.#peers.get(noise)
    if (existing !== undefined) return existing
    const mux = Hypercore.getProtocolMuxer(noise)
    if (!mux) {
      throw new InvalidArgumentError(
        'attach() needs a stream that carries corestore replication: use replicate() or replicateCorestore()'
      )
    }
    const peer = new MultifeedPeer(this.#host, noise, mux)
    this.#peers.set(noise, peer)
    peer.start()
    return peer
  }

  /** Closes this multifeed's channel on `stream` and stops offering its cores there. */
  detach(stream: Duplex): void {
    const noise = noiseOf(stream)
    const peer = this.#peers.get(noise)
    if (peer === undefined) return
    this.#peers.delete(noise)
    peer.close()
  }

  /**
   * Resolves once every remote feed is downloaded up to the length its peers
   * have (asked of them now). Writers are skipped. For a one-shot sync:
   * `await peer.synced; await multi.downloaded()`.
   */
  async downloaded(options: DownloadedOptions = {}): Promise<void> {
    this.assertOpen('Multifeed')
    const work = Promise.all(
      this.#order.map(async ({ core }) => {
        await core.ready()
        if (core.writable) return
        await core.update({ wait: true })
        if (core.length > core.contiguousLength) {
          await core.download({ start: 0, end: core.length }).done()
        }
      })
    ).then(() => {})
    await bounded(work, options, 'downloaded()')
  }

  protected async _open(): Promise<void> {
    await this.#store.ready()
    const records = await this.#membership.load()
    for (const record of records) {
      const id = record.key.toString('hex')
      if (record.name !== null) this.#names.set(record.name, id)
      if (this.#feeds.has(id)) continue
      this.#register(this.#openCore(record.key, record.local), {
        key: record.key,
        local: record.local,
        name: record.name,
        from: null
      })
    }
  }

  protected async _close(): Promise<void> {
    for (const peer of [...this.#peers.values()]) peer.close()
    this.#peers.clear()
    await Promise.allSettled([...this.#writers.values()])
    const closing: Promise<void>[] = []
    for (const session of this.#extraSessions) closing.push(session.close())
    for (const entry of this.#order) closing.push(entry.core.close())
    await Promise.allSettled(closing)
    await this.#membership.close().catch(() => {})
    await this.#store.close()
    this.emit('close')
  }

  async #createWriter(name: string, options: WriterOptions): Promise<Hypercore<unknown>> {
    const known = this.#names.get(name)
    if (known !== undefined) {
      const entry = this.#feeds.get(known)!
      await entry.core.ready()
      if (!entry.core.writable) {
        throw new NotWritableError(
          `Writer "${name}" exists but this store does not hold its secret key` +
            (options.keyPair ? '' : ': pass its keyPair')
        )
      }
      return entry.core
    }
    const core = this.#store.get<unknown>({
      ...(options.keyPair ? { keyPair: options.keyPair } : { name: `writer/${name}` }),
      valueEncoding: this.#options.valueEncoding
    })
    try {
      await core.ready()
      this.assertOpen('Multifeed')
      if (!core.writable) throw new NotWritableError(`Writer "${name}" is not writable`)
      const key = core.key!
      const id = key.toString('hex')
      const existing = this.#feeds.get(id)
      if (existing !== undefined) {
        // The same key was learned from a peer before (e.g. a restored key pair).
        await core.close()
        this.#names.set(name, id)
        return existing.core
      }
      this.#checkCapacity(1)
      await this.#membership.append([{ key, local: true, name }])
      this.#names.set(name, id)
      this.#register(core, { key, local: true, name, from: null })
      return core
    } catch (err) {
      await core.close().catch(() => {})
      throw err
    }
  }

  #session(core: Hypercore<unknown>, valueEncoding: ValueEncoding): Hypercore<unknown> {
    const session = this.#store.get<unknown>({ key: core.key!, valueEncoding })
    this.#extraSessions.add(session)
    session.once('close', () => this.#extraSessions.delete(session))
    return session
  }

  #openCore(key: Buffer, local: boolean): Hypercore<unknown> {
    const core = this.#store.get<unknown>({ key, valueEncoding: this.#options.valueEncoding })
    if (!local && this.#options.sparse !== true) {
      // Like the legacy multifeed: remote feeds are mirrored in full, live.
      core.download({ start: 0, end: -1 })
    }
    core.ready().catch(() => {})
    return core
  }

  #register(core: Hypercore<unknown>, info: FeedInfo, id = info.key.toString('hex')): FeedEntry {
    const entry: FeedEntry = { key: info.key, id, core, seq: this.#order.length, info }
    this.#feeds.set(id, entry)
    this.#order.push(entry)
    this.#digest.add(info.key)
    if (this.opened) {
      this.emit('feed', core, info)
      for (const peer of this.#peers.values()) {
        if (peer.opened && this.#shares(entry, peer)) peer.offer(entry)
      }
    }
    return entry
  }

  #shares(entry: FeedEntry, peer: MultifeedPeer): boolean {
    const share = this.#policy.share
    if (share === undefined) return true
    try {
      return share.call(this.#policy, entry.info, { peer }) !== false
    } catch {
      return false
    }
  }

  #checkCapacity(adding: number): void {
    const total = this.#feeds.size + this.#pending.size + adding
    if (total > this.#maxFeeds) {
      throw new LimitExceededError(
        'maxFeeds',
        this.#maxFeeds,
        `Adding ${adding} feed(s) would make ${total}; the limit is ${this.#maxFeeds}`
      )
    }
  }

  async #receive(peer: MultifeedPeer, keys: Buffer[]): Promise<Hypercore<unknown>[]> {
    this.assertOpen('Multifeed')
    const fresh: Array<{ key: Buffer; id: string }> = []
    const seen = new Set<string>()
    for (const key of keys) {
      const id = key.toString('hex')
      if (this.#feeds.has(id) || this.#pending.has(id) || seen.has(id)) {
        // Already ours: make sure it replicates with the peer that has it.
        const entry = this.#feeds.get(id)
        if (entry !== undefined && this.#shares(entry, peer)) peer.offer(entry)
        continue
      }
      seen.add(id)
      fresh.push({ key, id })
    }
    if (fresh.length === 0) return []
    // All or nothing: a batch that would overflow the set adds none of its keys.
    this.#checkCapacity(fresh.length)
    for (const { id } of fresh) this.#pending.add(id)
    try {
      const accepted: Array<{ key: Buffer; id: string }> = []
      const accept = this.#policy.accept
      for (const candidate of fresh) {
        if (
          accept === undefined ||
          (await accept.call(this.#policy, candidate.key, { peer })) !== false
        ) {
          accepted.push(candidate)
        }
      }
      this.assertOpen('Multifeed')
      if (accepted.length === 0) return []
      await this.#membership.append(accepted.map(({ key }) => ({ key, local: false, name: null })))
      this.assertOpen('Multifeed')
      const added: Hypercore<unknown>[] = []
      for (const { key, id } of accepted) {
        this.#pending.delete(id)
        const core = this.#openCore(key, false)
        this.#register(core, { key, local: false, name: null, from: peer }, id)
        added.push(core)
      }
      return added
    } finally {
      for (const { id } of fresh) this.#pending.delete(id)
    }
  }

  #onPeerClosed(peer: MultifeedPeer, reason: 'local' | 'remote' | 'stream' | 'error'): void {
    const stream = peer.stream
    if (this.#peers.get(stream) === peer) this.#peers.delete(stream)
    if (peer.opened) this.emit('peer-remove', peer)
    // The remote detached this multifeed but the stream lives on: wait for it
    // to attach again (a fresh session re-registers our pair handler).
    if (reason === 'remote' && !this.closing && !stream.destroyed) this.attach(stream)
  }

  #makeHost(): PeerHost {
    return {
      multifeed: this,
      key: this.key,
      discoveryKey: this.discoveryKey,
      maxKeysPerMessage: this.#maxKeysPerMessage,
      feedCount: () => this.#order.length,
      sharedFeeds: (peer) =>
        this.#policy.share === undefined
          ? this.#order
          : this.#order.filter((entry) => this.#shares(entry, peer)),
      sharedDigest: (peer) =>
        this.#policy.share === undefined
          ? this.#digest.value
          : FeedSetDigest.of(
              this.#order.filter((entry) => this.#shares(entry, peer)).map((entry) => entry.key)
            ),
      receive: (peer, keys) => this.#receive(peer, keys),
      onVerified: (peer) => this.emit('peer-add', peer),
      onRemoteFeeds: (peer, info: RemoteFeedsInfo) => this.emit('remote-feeds', peer, info),
      onError: (peer, error: MultifeedError) => this.emit('peer-error', error, peer),
      onClosed: (peer, reason) => this.#onPeerClosed(peer, reason)
    }
  }
}

function limit(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`limits.${name} must be an integer from 1 to ${max}`)
  }
  return value
}

function isCorestore(value: unknown): value is Corestore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Corestore).get === 'function' &&
    typeof (value as Corestore).namespace === 'function' &&
    typeof (value as Corestore).replicate === 'function'
  )
}

function noiseOf(stream: Duplex): NoiseSecretStream {
  const noise = (stream as { noiseStream?: NoiseSecretStream }).noiseStream
  if (!noise) {
    throw new InvalidArgumentError('Expected a replication stream (one with a noiseStream)')
  }
  return noise
}
