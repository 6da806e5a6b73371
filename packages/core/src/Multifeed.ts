import type { Duplex } from 'node:stream'
import type {
  Corestore,
  Hypercore,
  NoiseSecretStream,
  ReplicationStream,
  ValueEncoding
} from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'
import crypto from 'hypercore-crypto'
import {
  CallbackError,
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
import { noiseStreamOf, replicateCorestore } from './replication/replicateCorestore.js'
import { claimChannel, releaseChannel } from './replication/StreamRegistry.js'
import { Membership } from './storage/Membership.js'
import type {
  DownloadedOptions,
  FeedInfo,
  KeyLike,
  KeyPair,
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
  /** Replaced when a writer closed by its user is opened again. */
  core: Hypercore<unknown>
  /** Replaced when a remote feed turns out to be one of our writers. */
  info: FeedInfo
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
  /** Keys being added (a writer's, or accepted from a peer) and not registered yet. */
  readonly #claims = new Map<string, Promise<void>>()
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
    return this.#live(name, pending).then((core) => {
      if (keyPair && core.keyPair && !keyPair.publicKey.equals(core.keyPair.publicKey)) {
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
    const mux = HypercoreClass.getProtocolMuxer(noise)
    if (!mux) {
      throw new InvalidArgumentError(
        'attach() needs a stream that carries corestore replication: use replicate() or replicateCorestore()'
      )
    }
    if (claimChannel(mux, this.discoveryKey.toString('hex'), this) !== null) {
      throw new InvalidArgumentError(
        'Another Multifeed instance of this key is attached to this stream: open each key once per corestore'
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
      const existing = this.#feeds.get(id)
      if (existing !== undefined) {
        // A later record for a known key: a remote feed became one of our writers.
        if (record.local) existing.info = asLocal(existing.info, record.name)
        continue
      }
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
    this.#emitSafe('close')
  }

  async #createWriter(name: string, options: WriterOptions): Promise<Hypercore<unknown>> {
    const known = this.#names.get(name)
    if (known !== undefined) {
      const entry = this.#feeds.get(known)!
      await entry.core.ready()
      if (canWrite(entry.core)) return entry.core
      if (options.keyPair) return this.#writableSession(entry.key, options.keyPair)
      throw new NotWritableError(
        `Writer "${name}" exists but this store does not hold its secret key: pass its keyPair`
      )
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
      // The same key may be joining right now (offered by a peer, or another name
      // with the same key pair): wait for that, never register a key twice.
      for (let claim = this.#claims.get(id); claim; claim = this.#claims.get(id)) await claim
      this.assertOpen('Multifeed')
      const existing = this.#feeds.get(id)
      if (existing !== undefined) {
        // Known already: learned from a peer (a restored identity) or another name.
        const keyPair = options.keyPair ?? core.keyPair!
        await core.close()
        const writable = canWrite(existing.core)
          ? existing.core
          : await this.#writableSession(key, keyPair)
        if (!existing.info.local || !this.#names.has(name)) {
          await this.#membership.append([{ key, local: true, name }])
          existing.info = asLocal(existing.info, name)
        }
        this.#names.set(name, id)
        return writable
      }
      this.#checkCapacity(1)
      const release = this.#claim([id])
      try {
        await this.#membership.append([{ key, local: true, name }])
        this.assertOpen('Multifeed')
        this.#names.set(name, id)
        this.#register(core, { key, local: true, name, from: null }, id)
      } finally {
        release()
      }
      return core
    } catch (err) {
      await core.close().catch(() => {})
      throw err
    }
  }

  /** Resolves `pending` to an open core: a writer the caller closed is opened again. */
  async #live(name: string, pending: Promise<Hypercore<unknown>>): Promise<Hypercore<unknown>> {
    const core = await pending
    if (core.closing === null) return core
    this.assertOpen('Multifeed')
    const current = this.#writers.get(name)
    if (current !== undefined && current !== pending) return this.#live(name, current)
    const revived = this.#revive(core)
    this.#writers.set(name, revived)
    revived.catch(() => this.#writers.delete(name))
    return revived
  }

  async #revive(closed: Hypercore<unknown>): Promise<Hypercore<unknown>> {
    const key = closed.key!
    const core = this.#store.get<unknown>({ key, valueEncoding: this.#options.valueEncoding })
    await core.ready()
    if (!core.writable) {
      await core.close()
      throw new NotWritableError('The writer was closed and its secret key is not in this store')
    }
    const entry = this.#feeds.get(key.toString('hex'))
    if (entry !== undefined && entry.core === closed) {
      entry.core = core
      for (const peer of this.#peers.values()) {
        if (peer.opened && this.#shares(entry, peer)) peer.offer(entry)
      }
    } else {
      this.#track(core)
    }
    return core
  }

  async #writableSession(key: Buffer, keyPair: KeyPair): Promise<Hypercore<unknown>> {
    const core = this.#store.get<unknown>({
      key,
      keyPair,
      valueEncoding: this.#options.valueEncoding
    })
    await core.ready()
    if (!canWrite(core)) {
      await core.close()
      throw new NotWritableError(
        core.writable && core.manifest === null
          ? 'This feed was learned from a peer and none of it was downloaded yet: its manifest is unknown, so it cannot be written here until it is (hypercore needs the manifest to sign)'
          : 'That key pair does not sign this feed'
      )
    }
    this.#track(core)
    return core
  }

  /** Claims keys being added (by a writer or a peer's offer); the returned function releases them. */
  #claim(ids: string[]): () => void {
    let release: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      release = resolve
    })
    for (const id of ids) this.#claims.set(id, done)
    return () => {
      for (const id of ids) if (this.#claims.get(id) === done) this.#claims.delete(id)
      release()
    }
  }

  #track(session: Hypercore<unknown>): void {
    this.#extraSessions.add(session)
    session.once('close', () => this.#extraSessions.delete(session))
  }

  #session(core: Hypercore<unknown>, valueEncoding: ValueEncoding): Hypercore<unknown> {
    const session = this.#store.get<unknown>({ key: core.key!, valueEncoding })
    this.#track(session)
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
      this.#emitSafe('feed', core, info)
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
    } catch (err) {
      this.#callbackError('policy.share', err, peer)
      return false
    }
  }

  async #accepts(key: Buffer, peer: MultifeedPeer): Promise<boolean> {
    const accept = this.#policy.accept
    if (accept === undefined) return true
    try {
      return (await accept.call(this.#policy, key, { peer })) !== false
    } catch (err) {
      this.#callbackError('policy.accept', err, peer)
      return false
    }
  }

  /** Emits to user listeners; a listener that throws is reported, never unwinds our state. */
  #emitSafe<E extends keyof MultifeedEvents & string>(event: E, ...args: MultifeedEvents[E]): void {
    try {
      this.emit(event, ...args)
    } catch (err) {
      this.#callbackError(`listener:${event}`, err, null)
    }
  }

  #callbackError(callback: string, cause: unknown, peer: MultifeedPeer | null): void {
    const error = new CallbackError(callback, cause)
    if (callback !== 'listener:callback-error' && this.listenerCount('callback-error') > 0) {
      try {
        this.emit('callback-error', error, peer)
        return
      } catch {}
    }
    process.emitWarning(error)
  }

  #checkCapacity(adding: number): void {
    const total = this.#feeds.size + this.#claims.size + adding
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
    const contested: Array<{ key: Buffer; id: string }> = []
    const seen = new Set<string>()
    for (const key of keys) {
      const id = key.toString('hex')
      if (seen.has(id)) continue
      seen.add(id)
      const entry = this.#feeds.get(id)
      if (entry !== undefined) {
        // Already ours: make sure it replicates with the peer that has it.
        if (this.#shares(entry, peer)) peer.offer(entry)
      } else if (this.#claims.has(id)) {
        contested.push({ key, id })
      } else {
        fresh.push({ key, id })
      }
    }
    const added: Hypercore<unknown>[] = []
    if (fresh.length > 0) {
      // All or nothing: a batch that would overflow the set adds none of its keys.
      this.#checkCapacity(fresh.length)
      const release = this.#claim(fresh.map(({ id }) => id))
      try {
        const accepted: Array<{ key: Buffer; id: string }> = []
        for (const candidate of fresh) {
          if (await this.#accepts(candidate.key, peer)) accepted.push(candidate)
        }
        this.assertOpen('Multifeed')
        if (accepted.length > 0) {
          await this.#membership.append(
            accepted.map(({ key }) => ({ key, local: false, name: null }))
          )
          this.assertOpen('Multifeed')
          for (const { key, id } of accepted) {
            const core = this.#openCore(key, false)
            this.#register(core, { key, local: false, name: null, from: peer }, id)
            added.push(core)
          }
        }
      } finally {
        release()
      }
    }
    if (contested.length > 0) {
      // Being added on another path (another peer's offer, a writer): wait for
      // it; a key that path did not add is decided again for this peer.
      await Promise.all(contested.map(({ id }) => this.#claims.get(id)))
      const retry: Buffer[] = []
      for (const { key, id } of contested) {
        const entry = this.#feeds.get(id)
        if (entry === undefined) retry.push(key)
        else if (this.#shares(entry, peer)) peer.offer(entry)
      }
      if (retry.length > 0) for (const core of await this.#receive(peer, retry)) added.push(core)
    }
    return added
  }

  #onPeerClosed(peer: MultifeedPeer, reason: 'local' | 'remote' | 'stream' | 'error'): void {
    const stream = peer.stream
    if (this.#peers.get(stream) === peer) this.#peers.delete(stream)
    if (peer.opened) this.#emitSafe('peer-remove', peer)
    // The remote detached this multifeed but the stream lives on: wait for it
    // to attach again (a fresh session re-registers our pair handler).
    if (reason === 'remote' && !this.closing && !stream.destroyed) {
      this.attach(stream)
      return
    }
    const mux = HypercoreClass.getProtocolMuxer(stream)
    if (mux) releaseChannel(mux, this.discoveryKey.toString('hex'), this)
  }

  #makeHost(): PeerHost {
    return {
      multifeed: this,
      key: this.key,
      discoveryKey: this.discoveryKey,
      maxKeysPerMessage: this.#maxKeysPerMessage,
      feedCount: () => this.#order.length,
      has: (id) => this.#feeds.has(id),
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
      onVerified: (peer) => this.#emitSafe('peer-add', peer),
      onRemoteFeeds: (peer, info: RemoteFeedsInfo) => this.#emitSafe('remote-feeds', peer, info),
      onError: (peer, error: MultifeedError) => this.#emitSafe('peer-error', error, peer),
      onClosed: (peer, reason) => this.#onPeerClosed(peer, reason)
    }
  }
}

/** True when this session can sign appends (writable and holding the secret key). */
function canWrite(core: Hypercore<unknown>): boolean {
  return core.writable && !!core.keyPair?.secretKey && core.manifest !== null
}

/** The info of a feed that turned out to be (also) one of our writers. */
function asLocal(info: FeedInfo, name: string | null): FeedInfo {
  return { ...info, local: true, name: info.local ? info.name : (name ?? info.name) }
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
  const noise = noiseStreamOf(stream)
  if (noise === null) {
    throw new InvalidArgumentError('Expected a replication stream (one with a noiseStream)')
  }
  return noise
}
