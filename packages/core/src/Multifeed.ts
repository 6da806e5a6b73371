import type { Duplex } from 'node:stream'
import type {
  Corestore,
  Hypercore,
  ReplicationStream as HypercoreStream,
  ValueEncoding
} from '@multifeed/holepunch-types'
import {
  mirrorKeyFor,
  mirrorSettings,
  newKey,
  setKeysOf,
  type Tier,
  tierOf
} from './capabilities.js'
import {
  AlreadyOpenError,
  ClosedError,
  InvalidArgumentError,
  NotReadableError,
  NotWritableError,
  UnknownFeedError
} from './errors.js'
import { parseKey } from './keys.js'
import { Callbacks } from './lifecycle/Callbacks.js'
import { Changes } from './lifecycle/Changes.js'
import {
  downloadedOptions,
  readOptions,
  removeOptions,
  syncedOptions,
  writerOptions
} from './lifecycle/callOptions.js'
import { type Settings, settingsOf } from './lifecycle/options.js'
import { Resource } from './lifecycle/Resource.js'
import { heldElsewhere, type Registered, register, unregister } from './lifecycle/registry.js'
import { noMoreArguments } from './lifecycle/strict.js'
import { formatInvite } from './moderation/invite.js'
import { setSalt } from './protocol/pairing.js'
import type { MultifeedPeer, PeerProgress } from './replication/MultifeedPeer.js'
import { Peers } from './replication/Peers.js'
import { ReplicationStream, rootOf } from './replication/ReplicationStream.js'
import { synced } from './replication/sync.js'
import { AdmissionTags } from './set/AdmissionTags.js'
import { CorePool } from './set/CorePool.js'
import { type Feed, infoOf } from './set/FeedSet.js'
import { Management } from './set/Management.js'
import { Membership } from './set/Membership.js'
import { Owners } from './set/Owners.js'
import { moderationAt, type SetSource, sourceOf } from './set/opening.js'
import { type ReadEntry, type ReadOptions, read } from './set/reader.js'
import { recordsOf, type SetModeration } from './set/SetModeration.js'
import { tierConflict } from './set/tier.js'
import { Writers } from './set/Writers.js'
import type {
  DownloadedOptions,
  FeedInfo,
  KeyLike,
  MultifeedEvents,
  MultifeedOptions,
  SyncedOptions,
  SyncResult,
  ValueOf,
  WriterOptions
} from './types.js'

/**
 * A named set of hypercores, one per writer, that every peer knowing the
 * multifeed key discovers and replicates. See the package README.
 *
 * `T` is the block type of its cores, given by `valueEncoding`.
 */
// The multifeed replication names (replication/PeerHost.ts `MultifeedRef`) is this class.
type AnyMultifeed = Multifeed<unknown>
declare module './replication/PeerHost.js' {
  interface MultifeedRef extends AnyMultifeed {}
}

export class Multifeed<T = Buffer> extends Resource<MultifeedEvents> {
  /** The shared secret of the set: whoever holds it may join. */
  readonly key: Buffer
  /** Hash of the key (an encrypted set's: of its mirror key), the swarm topic. Never sent on a connection. */
  readonly discoveryKey: Buffer
  /** True when every block of the set is encrypted (the key says so: capabilities.ts). */
  readonly encrypted: boolean
  /**
   * What the key opens: `'plain'` (a plain set), `'member'` (an encrypted
   * set's key: read, write) or `'mirror'` (its mirror key: pair, download and
   * serve every feed; no writer, no plaintext).
   */
  readonly tier: Tier
  /**
   * An encrypted set's mirror capability, derived one way from the key: it
   * pairs like the key but cannot decrypt a block nor give the key back.
   * Null for a plain set.
   */
  readonly mirrorKey: Buffer | null
  /** The corestore passed to `open()`. */
  readonly corestore: Corestore

  readonly #store: Corestore
  readonly #membership: Membership
  /** This multifeed as the store's registry knows it (lifecycle/registry.ts). */
  readonly #registration: Registered
  readonly #pool: CorePool
  readonly #callbacks: Callbacks
  readonly #peers: Peers
  readonly #writers: Writers
  readonly #management: Management
  readonly #changes = new Changes()
  readonly #valueEncoding: ValueEncoding | undefined
  /** The store's record of which multifeed holds a feed (set/Owners.ts), from open on. */
  #owners: Owners | null = null
  readonly #source: SetSource
  readonly #settings: Settings
  /** A moderated set's authority on this peer (set/SetModeration.ts), from open on; null for other sets. */
  #moderation: SetModeration | null = null

  /**
   * Opens (or creates) the multifeed `key` in `corestore`. Without a key a new
   * multifeed with a secure random key is created: keep `multi.key` to open
   * it again. With `moderated: true` and no key, a moderated set founded by
   * this peer's identity; `key` may be its invite (`multi.invite`), and its
   * key re-opens it where it is held. Reads the membership in one pass and
   * opens no feed core.
   */
  static async open<E extends ValueEncoding = 'binary'>(
    corestore: Corestore,
    key?: KeyLike | null,
    options: MultifeedOptions<E> = {}
  ): Promise<Multifeed<ValueOf<E>>> {
    const settings = settingsOf(corestore, options)
    if (corestore.closing !== null) throw new ClosedError('The corestore is closed')
    const source = await sourceOf(rootOf(corestore), key ?? null, settings)
    const multi = new Multifeed<ValueOf<E>>(corestore, source, settings)
    await multi.ready()
    return multi
  }

  /**
   * What a member opens a moderated set with (`Multifeed.open(store, invite)`):
   * 104 z-base-32 characters naming its founder and secret. Null for other sets.
   */
  get invite(): string | null {
    return this.#moderation === null ? null : formatInvite(recordsOf(this.#moderation).id)
  }

  /**
   * A moderated set's authority (block, unblock, grant, revoke, moderators,
   * blocked: set/SetModeration.ts); null for other sets.
   */
  get moderation(): SetModeration | null {
    return this.#moderation
  }

  /**
   * The discovery keys of the multifeeds stored in `corestore` (every one
   * opened there once), sorted. Only the discovery key is stored: open one
   * needs its key. Reads the store's record; opens no multifeed.
   */
  static async stored(corestore: Corestore): Promise<Buffer[]> {
    const owners = await Owners.open(rootOf(corestore))
    try {
      return owners.sets()
    } finally {
      await owners.close()
    }
  }

  /**
   * What `key` opens, read from the key alone (no store, nothing opened):
   * `'member'` or `'mirror'` for an encrypted set's keys, `'plain'` for any
   * other 32 bytes. ERR_INVALID_KEY when `key` is no key at all.
   */
  static tierOf(key: KeyLike): Tier {
    return tierOf(parseKey(key))
  }

  /**
   * The mirror key of an encrypted set, from a member's key (a mirror key
   * gives itself back), without opening the set. ERR_INVALID_ARGUMENT for a
   * plain set's key (it has none), ERR_INVALID_KEY when `key` is no key.
   */
  static mirrorKeyOf(key: KeyLike): Buffer {
    return mirrorKeyFor(parseKey(key))
  }

  private constructor(corestore: Corestore, source: SetSource, settings: Settings) {
    super()
    this.#source = source
    this.#settings = settings
    this.#valueEncoding = settings.valueEncoding
    const keys = setKeysOf(source.key ?? newKey(settings.encrypted === true), settings.encrypted)
    this.key = keys.key
    this.discoveryKey = keys.discoveryKey
    this.encrypted = keys.tier !== 'plain'
    this.tier = keys.tier
    this.#registration = {
      tier: keys.tier,
      holds: (key) => this.#membership.set.find(key) !== undefined
    }
    if (keys.tier === 'mirror') mirrorSettings(settings)
    this.mirrorKey = keys.mirrorKey
    this.corestore = corestore
    this.#store = corestore.namespace(`@multifeed/${this.discoveryKey.toString('hex')}`, {
      active: false
    })
    this.#membership = new Membership(
      this.#store,
      this.discoveryKey,
      setSalt(keys.pairingKey),
      settings.maxFeeds,
      new AdmissionTags(keys.mirrorKey !== null, keys.admissionKey)
    )
    this.#pool = new CorePool(this.#store, {
      userStore: corestore,
      valueEncoding: settings.valueEncoding,
      encryptionKey: keys.encryptionKey,
      mirror: !settings.sparse,
      onLength: (feed, length) => this.#onLength(feed, length),
      onTransfer: (_feed, direction, bytes, from) => this.#peers.transferred(direction, bytes, from)
    })
    this.#callbacks = new Callbacks(this, settings.policy)
    this.#peers = new Peers({
      multifeed: this as Multifeed<unknown>,
      membership: this.#membership,
      pool: this.#pool,
      callbacks: this.#callbacks,
      settings,
      pairingKey: keys.pairingKey,
      assertOpen: () => this.assertOpen('Multifeed'),
      announce: (feed, from) => this.#announce(feed, from),
      wake: () => this.#changes.wake(),
      moderation: () => (this.#moderation === null ? null : recordsOf(this.#moderation))
    })
    this.#writers = new Writers(this.#store, this.#membership, this.#pool, {
      assertOpen: () => this.assertOpen('Multifeed'),
      announce: (feed) => this.#announce(feed, null),
      bind: async (key, keyPair) => {
        await this.#moderation?.bindWriter(key, keyPair)
      }
    })
    this.#management = new Management(this.#membership, this.#pool, this.#callbacks, {
      root: () => rootOf(this.corestore),
      assertOpen: () => this.assertOpen('Multifeed'),
      announce: (feed) => this.#announce(feed, null),
      forget: (feed) => this.#peers.forget(feed),
      heldElsewhere: (key) => heldElsewhere(rootOf(this.corestore), this.#registration, key)
    })
  }

  /** What we know of every feed, in the order they joined. Opens nothing. */
  feeds(): FeedInfo[] {
    return this.#membership.set.all().map(infoOf)
  }

  /** What we know of one feed (Buffer, hex or z32 key), or null when it is not in the set. */
  feed(key: KeyLike): FeedInfo | null {
    const feed = this.#membership.set.get(parseKey(key, 'Feed key').toString('hex'))
    return feed === undefined ? null : infoOf(feed)
  }

  /** Number of feeds whose core the set holds open right now (for replication). */
  get openCores(): number {
    return this.#pool.openCount
  }

  /** Peers whose capability verified, on every stream this multifeed is attached to. */
  peers(): MultifeedPeer[] {
    return this.#peers.verified()
  }

  /**
   * Adds a feed learned out of band (read-only here), subject to the accept
   * policy (with `peer: null`), `maxFeeds` and this corestore holding that
   * core for something else (ERR_INVALID_ARGUMENT). Idempotent: resolves to
   * what we know of the feed, or null when the accept policy refused it.
   */
  async add(key: KeyLike): Promise<FeedInfo | null> {
    // biome-ignore lint/complexity/noArguments: the count of what a JS caller passed
    noMoreArguments('add()', arguments.length, 1, 'it adds the key alone')
    return this.#management.add(key)
  }

  /**
   * Takes a feed out of the set on this peer: no longer listed, reconciled,
   * served or forwarded; its core leaves every connection at once and its
   * storage is deleted (unless another multifeed of this corestore holds
   * it). Removal is local: a peer that still has the feed offers it again
   * unless `block` refuses the key for good (until `unblock()`). Removing one
   * of our writers needs `force` and retires its name (`writer(name)` then
   * rejects: the name would give the same key). Resolves to what the feed
   * was, or null when it was not in the set (a `block` is still recorded).
   */
  async remove(
    key: KeyLike,
    options: { block?: boolean; force?: boolean } = {}
  ): Promise<FeedInfo | null> {
    removeOptions(options)
    return this.#management.remove(key, options)
  }

  /**
   * Refuses `key` from every peer for good, removing it first if it is in
   * the set (one of our writers needs `remove(key, { block: true, force: true })`).
   */
  block(key: KeyLike): Promise<void> {
    return this.#management.block(key)
  }

  /** Lets peers offer `key` again. */
  unblock(key: KeyLike): Promise<void> {
    return this.#management.unblock(key)
  }

  /** The keys refused from every peer. */
  blocked(): Buffer[] {
    return this.#management.blocked()
  }

  /**
   * A session of the feed `key`, which the caller owns and closes. While it
   * is open the feed's blocks are fetched from peers that hold more.
   * A key outside the set rejects with ERR_UNKNOWN_FEED.
   */
  async get(key: KeyLike): Promise<Hypercore<T>> {
    this.assertOpen('Multifeed')
    // biome-ignore lint/complexity/noArguments: the count of what a JS caller passed
    noMoreArguments('get()', arguments.length, 1, 'pass options to the session’s own calls')
    this.#assertReadable('get()')
    const feed = this.#membership.set.get(parseKey(key, 'Feed key').toString('hex'))
    if (feed === undefined) throw new UnknownFeedError('This key is not a feed of the multifeed')
    const session = await this.#handOut(this.#pool.session(feed))
    this.#peers.hold(feed, session)
    return session as Hypercore<T>
  }

  /**
   * A session of the local writable core called `name` (a local name, never
   * sent to peers), created on first use. Idempotent and safe under
   * concurrent calls: every call with one name gives a session of the same
   * core, across restarts too. Each call returns a new session: close it
   * when done (the feed replicates whatever you close).
   */
  async writer(name = 'default', options: WriterOptions = {}): Promise<Hypercore<T>> {
    this.assertOpen('Multifeed')
    const { keyPair } = writerOptions(options, this.#valueEncoding)
    if (this.tier === 'mirror') {
      throw new NotWritableError(
        'writer(): a mirror (opened with the mirror key) has no writer; writers need the member key'
      )
    }
    return (await this.#handOut(this.#writers.session(name, keyPair))) as Hypercore<T>
  }

  /**
   * `corestore.findingPeers()` for this set: until the returned function is
   * called, `update({ wait: true })` on a session of the set (from `get()`
   * or `writer()`, opened before or during the hold) waits for peers
   * instead of resolving false at once. The set's cores live in a
   * namespace of the corestore, which the store's own `findingPeers()`
   * does not reach: a networker holds this one while it looks for peers.
   * Calling the returned function twice is harmless; `close()` releases it.
   */
  findingPeers(): () => void {
    this.assertOpen('Multifeed')
    return this.#store.findingPeers()
  }

  /** A session for the caller, unless the multifeed closed meanwhile (then ERR_CLOSED). */
  async #handOut(opening: Promise<Hypercore<unknown>>): Promise<Hypercore<unknown>> {
    const session = await opening
    if (this.closing) {
      await session.close().catch(() => {})
      throw new ClosedError('The multifeed closed while the session opened')
    }
    return session
  }

  /**
   * Replicates with a peer: returns the library's replication stream (created
   * for `isInitiator`, or on `stream`) with this multifeed attached. Pipe it
   * to the other side's `replicate(!isInitiator)`.
   */
  replicate(isInitiatorOrStream: boolean | Duplex): HypercoreStream {
    this.assertOpen('Multifeed')
    // biome-ignore lint/complexity/noArguments: the count of what a JS caller passed
    noMoreArguments('replicate()', arguments.length, 1, 'pass isInitiator or a stream')
    const replication = ReplicationStream.for(this.corestore, isInitiatorOrStream)
    this.attach(replication.stream)
    return replication.stream
  }

  /**
   * Attaches this multifeed to a connection (creating the library's
   * replication stream on it if needed): the networker calls it for every
   * multifeed on every connection. Idempotent per connection.
   */
  attach(stream: Duplex): MultifeedPeer {
    return this.#peers.attach(stream)
  }

  /** Closes this multifeed's channel on `stream` and detaches its cores there. */
  detach(stream: Duplex): void {
    this.#peers.detach(stream)
  }

  /**
   * Resolves once we hold everything `peer` (or every connected peer) holds
   * of the set as of this call: the one-shot sync of the legacy
   * non-live replication. With `minPeers: n` it first waits until n peers
   * completed their first reconciliation (without it, no peer connected
   * means nothing to sync: it resolves at once with `{ peers: [] }`).
   * Waits for the first reconciliation with each, fetches what is missing
   * (also in sparse mode), and on ERR_TIMEOUT / ERR_ABORTED releases
   * everything it started. Resolves to `{ peers }`: with whom it synced.
   */
  async synced(options: SyncedOptions = {}): Promise<SyncResult> {
    this.assertOpen('Multifeed')
    syncedOptions(options)
    const peer = options.peer
    if (peer !== undefined && (peer as { multifeed?: unknown })?.multifeed !== this) {
      throw new InvalidArgumentError(
        'synced(): peer must be a peer of this multifeed (multi.peers())'
      )
    }
    return synced(
      {
        peers: () => (peer !== undefined ? [peer] : this.peers()),
        acquire: (feed) => this.#pool.acquire(feed),
        release: (feed) => this.#pool.release(feed),
        onChange: (listener) => this.#changes.on(listener),
        assertOpen: () => this.assertOpen('Multifeed'),
        closing: () => this.closing
      },
      {
        timeout: options.timeout,
        signal: options.signal,
        minPeers: peer ? 0 : (options.minPeers ?? 0)
      }
    )
  }

  /** `synced()` with every connected peer (the 0.1 name). */
  async downloaded(options: DownloadedOptions = {}): Promise<SyncResult> {
    downloadedOptions(options)
    return this.synced(options)
  }

  /**
   * How far the sync has got: `want`/`give` added up over the connected
   * peers (what is left); `received`/`sent` every block of the set moved
   * with any peer since open, cumulative (closed sessions included).
   */
  progress(): PeerProgress {
    return this.#peers.progress()
  }

  /**
   * Every block of every feed, each feed in order: `for await (const { key,
   * seq, value } of multi.read({ live, since }))`. Resume from `since` (next
   * block per feed, hex key → index); `live` keeps going as feeds join and
   * grow. Opens one core at a time and closes it after. A block that does
   * not decode with the set's `valueEncoding` comes as `{ key, seq, error }`
   * (ERR_ENCODING) in its place, and the read goes on.
   */
  read(options: ReadOptions = {}): AsyncGenerator<ReadEntry<T>> {
    this.assertOpen('Multifeed')
    readOptions(options)
    this.#assertReadable('read()')
    const self = this
    return read<T>(
      {
        feeds: () => this.#membership.set.all(),
        session: (feed) => this.#pool.session(feed),
        onChange: (listener) => this.#changes.on(listener),
        get closing() {
          return self.closing
        }
      },
      options
    )
  }

  /** A mirror holds ciphertext and no key to decrypt it: ERR_NOT_READABLE. */
  #assertReadable(call: string): void {
    if (this.tier !== 'mirror') return
    throw new NotReadableError(
      `${call}: a mirror (opened with the mirror key) stores and serves the set's blocks encrypted and cannot decrypt them; reading needs the member key`
    )
  }

  /** Throws ERR_CLOSED once this multifeed, or the corestore under it, is closing. */
  protected override assertOpen(what = 'Multifeed'): void {
    super.assertOpen(what)
    if (this.corestore.closing !== null || rootOf(this.corestore).closing !== null) {
      throw new ClosedError('The corestore of this multifeed is closed')
    }
  }

  protected async _open(): Promise<void> {
    const root = rootOf(this.corestore)
    const other = register(root, this.discoveryKey, this.#registration)
    if (other !== null) {
      await this.#store.close().catch(() => {})
      if (other.tier !== this.tier) throw tierConflict(other.tier, this.tier)
      throw new AlreadyOpenError(
        'This multifeed is open already in this corestore: share that instance (or close it first)'
      )
    }
    let owners: Owners | null = null
    try {
      await this.#store.ready()
      this.#moderation = await moderationAt(
        { store: this.#store, root, key: this.key, source: this.#source, settings: this.#settings },
        {
          membership: this.#membership,
          callbacks: this.#callbacks,
          management: this.#management,
          assertOpen: () => this.assertOpen('Multifeed'),
          seek: (feed) => this.#peers.seek(feed)
        }
      )
      owners = await Owners.open(root)
      await this.#management.recover(await this.#membership.load(owners, this.tier))
      await this.#moderation?.settle()
    } catch (err) {
      await owners?.close()
      await this.#moderation?.close()
      this.#moderation = null
      unregister(root, this.discoveryKey, this.#registration)
      throw err
    }
    this.#owners = owners
    // Built after open() resolved, in slices: the first connection finds it ready.
    this.#membership.set.prepareSketch()
    this.#peers.startSweeping()
  }

  protected async _close(): Promise<void> {
    this.#membership.set.stopBackground()
    this.#peers.close()
    // Records being taken finish first (their effects need the set).
    await this.#moderation?.close()
    await this.#writers.settle()
    await this.#pool.close()
    await this.#membership.close()
    await this.#owners?.close()
    await this.#store.close().catch(() => {})
    unregister(rootOf(this.corestore), this.discoveryKey, this.#registration)
    this.#changes.wake()
    this.#callbacks.emit('close')
  }

  /** A feed joined the set: tell the user and every peer. */
  #announce(feed: Feed, from: MultifeedPeer | null): void {
    this.#callbacks.emit('feed', infoOf(feed), from)
    this.#peers.announce(feed)
    this.#changes.wake()
  }

  /** A feed's core grew (an append, or blocks fetched): tell the user and every peer. */
  #onLength(feed: Feed, length: number): void {
    const previous = feed.length
    // While closing, still recorded: the clean-close mark carries it (set/Appends.ts).
    if (!this.#membership.setLength(feed, length) || this.closing) return
    this.#callbacks.emit('append', infoOf(feed))
    this.#peers.grew(feed, previous)
    this.#changes.wake()
  }
}
