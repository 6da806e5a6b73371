import type { Duplex } from 'node:stream'
import type {
  Corestore,
  Hypercore,
  ReplicationStream as HypercoreStream,
  ValueEncoding
} from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { mirrorKeyFor, newKey, setKeysOf, type Tier, tierOf } from './capabilities.js'
import { ClosedError, InvalidArgumentError } from './errors.js'
import { parseKey } from './keys.js'
import { downloadedOptions, removeOptions } from './lifecycle/callOptions.js'
import { type Settings, settingsOf } from './lifecycle/options.js'
import { Resource } from './lifecycle/Resource.js'
import { noMoreArguments } from './lifecycle/strict.js'
import {
  formatInvite,
  formatMirrorInvite,
  looksLikeInvite,
  parseInvite
} from './moderation/invite.js'
import { closeParts, openParts, storedSets } from './multifeed/lifecycle.js'
import { buildParts, type Parts } from './multifeed/parts.js'
import { getSession, readSet, writerSession } from './multifeed/sessions.js'
import { syncWith } from './multifeed/sync.js'
import type { MultifeedPeer, PeerProgress } from './replication/MultifeedPeer.js'
import { ReplicationStream, rootOf } from './replication/ReplicationStream.js'
import { infoOf } from './set/FeedSet.js'
import { pairingFounder, type SetSource, sourceOf } from './set/opening.js'
import type { ReadEntry, ReadOptions } from './set/reader.js'
import { recordsOf, type SetModeration } from './set/SetModeration.js'
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

// The multifeed replication names (replication/PeerHost.ts `MultifeedRef`) is this class.
type AnyMultifeed = Multifeed<unknown>
declare module './replication/PeerHost.js' {
  interface MultifeedRef extends AnyMultifeed {}
}

/**
 * A named set of hypercores, one per writer, that every peer knowing the
 * multifeed key discovers and replicates. See the package README.
 *
 * `T` is the block type of its cores, given by `valueEncoding`.
 */
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

  /** Its parts, wired together (multifeed/parts.ts). */
  readonly #parts: Parts

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
    const source = await sourceOf(corestore, rootOf(corestore), key ?? null, settings)
    const multi = new Multifeed<ValueOf<E>>(corestore, source, settings)
    await multi.ready()
    return multi
  }

  /**
   * What a member opens a moderated set with (`Multifeed.open(store, invite)`):
   * 104 z-base-32 characters naming its founder and secret. Null for other
   * sets, and for a mirror (it holds no secret).
   */
  get invite(): string | null {
    return this.#parts.moderation === null
      ? null
      : formatInvite(recordsOf(this.#parts.moderation).id)
  }

  /**
   * What a mirror of a moderated encrypted set opens with: 104 z-base-32
   * characters naming its founder and mirror key. Null for other sets.
   */
  get mirrorInvite(): string | null {
    const moderation = this.#parts.moderation
    return moderation === null ? null : formatMirrorInvite(recordsOf(moderation).id)
  }

  /**
   * A moderated set's authority (block, unblock, grant, revoke, moderators,
   * blocked: set/SetModeration.ts); null for other sets.
   */
  get moderation(): SetModeration | null {
    return this.#parts.moderation
  }

  /**
   * The discovery keys of the multifeeds stored in `corestore` (every one
   * opened there once), sorted. Only the discovery key is stored: open one
   * needs its key. Reads the store's record; opens no multifeed.
   */
  static async stored(corestore: Corestore): Promise<Buffer[]> {
    return storedSets(corestore)
  }

  /**
   * What `key` opens, read from the key alone (no store, nothing opened):
   * `'member'` or `'mirror'` for an encrypted set's keys, `'plain'` for any
   * other 32 bytes. An invite (104 characters) says it too: a moderated
   * encrypted set's invite `'member'`, its mirror invite `'mirror'`, a
   * moderated set's invite `'plain'`. ERR_INVALID_KEY when `key` is neither.
   */
  static tierOf(key: KeyLike): Tier {
    return looksLikeInvite(key) ? parseInvite(key).tier : tierOf(parseKey(key))
  }

  /**
   * The mirror key of an encrypted set, from a member's key (a mirror key
   * gives itself back), without opening the set. ERR_INVALID_ARGUMENT for a
   * plain set's key (it has none), ERR_INVALID_KEY when `key` is no key
   * (an invite's counterpart is `mirrorInviteOf()`).
   */
  static mirrorKeyOf(key: KeyLike): Buffer {
    return mirrorKeyFor(parseKey(key))
  }

  /**
   * The mirror invite of a moderated encrypted set, from a member's invite
   * (a mirror invite gives itself back), without opening the set: what
   * `multi.mirrorInvite` is. ERR_INVALID_ARGUMENT for a moderated set's
   * invite (an unencrypted set has no mirror), ERR_INVALID_KEY when
   * `invite` is no invite.
   */
  static mirrorInviteOf(invite: string): string {
    const id = parseInvite(invite)
    const mirrorInvite = formatMirrorInvite(id)
    if (mirrorInvite === null) {
      throw new InvalidArgumentError(
        'Multifeed.mirrorInviteOf(): the invite of a moderated set that is not encrypted; only a moderated encrypted set (Multifeed.open(corestore, null, { moderated: true, encrypted: true })) has a mirror invite'
      )
    }
    return mirrorInvite
  }

  /**
   * The discovery key (`multi.discoveryKey`: the swarm topic, and how
   * `Multifeed.stored()` names the set) of the set a key or an invite opens,
   * without opening it. ERR_INVALID_KEY when `key` is neither.
   */
  static discoveryKeyOf(key: KeyLike): Buffer {
    const parsed = looksLikeInvite(key) ? parseInvite(key).key : parseKey(key)
    return crypto.discoveryKey(tierOf(parsed) === 'plain' ? parsed : mirrorKeyFor(parsed))
  }

  private constructor(corestore: Corestore, source: SetSource, settings: Settings) {
    super()
    const key = source.key ?? newKey(settings.encrypted === true)
    const keys = setKeysOf(key, settings.encrypted, pairingFounder(source))
    this.key = keys.key
    this.discoveryKey = keys.discoveryKey
    this.encrypted = keys.tier !== 'plain'
    this.tier = keys.tier
    this.mirrorKey = keys.mirrorKey
    this.corestore = corestore
    this.#parts = buildParts(this, () => this.assertOpen('Multifeed'), keys, source, settings)
  }

  /** What we know of every feed, in the order they joined. Opens nothing. */
  feeds(): FeedInfo[] {
    return this.#parts.membership.set.all().map(infoOf)
  }

  /** What we know of one feed (Buffer, hex or z32 key), or null when it is not in the set. */
  feed(key: KeyLike): FeedInfo | null {
    const feed = this.#parts.membership.set.get(parseKey(key, 'Feed key').toString('hex'))
    return feed === undefined ? null : infoOf(feed)
  }

  /** Number of feeds whose core the set holds open right now (for replication). */
  get openCores(): number {
    return this.#parts.pool.openCount
  }

  /** Peers whose capability verified, on every stream this multifeed is attached to. */
  peers(): MultifeedPeer[] {
    return this.#parts.peers.verified()
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
    return this.#parts.management.add(key)
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
    return this.#parts.management.remove(key, options)
  }

  /**
   * Refuses `key` from every peer for good, removing it first if it is in
   * the set (one of our writers needs `remove(key, { block: true, force: true })`).
   */
  block(key: KeyLike): Promise<void> {
    return this.#parts.management.block(key)
  }

  /** Lets peers offer `key` again. */
  unblock(key: KeyLike): Promise<void> {
    return this.#parts.management.unblock(key)
  }

  /** The keys refused from every peer. */
  blocked(): Buffer[] {
    return this.#parts.management.blocked()
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
    return (await getSession(this.#parts, this, key)) as Hypercore<T>
  }

  /**
   * A session of the local writable core called `name` (a local name, never
   * sent to peers), created on first use. Idempotent and safe under
   * concurrent calls: every call with one name gives a session of the same
   * core, across restarts too. Each call returns a new session: close it
   * when done (the feed replicates whatever you close).
   */
  async writer(name = 'default', options: WriterOptions = {}): Promise<Hypercore<T>> {
    return (await writerSession(this.#parts, this, name, options)) as Hypercore<T>
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
    return this.#parts.store.findingPeers()
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
    return this.#parts.peers.attach(stream)
  }

  /** Closes this multifeed's channel on `stream` and detaches its cores there. */
  detach(stream: Duplex): void {
    this.#parts.peers.detach(stream)
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
    return syncWith(this.#parts, this, options)
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
    return this.#parts.peers.progress()
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
    return readSet<T>(this.#parts, this, options)
  }

  /** Throws ERR_CLOSED once this multifeed, or the corestore under it, is closing. */
  protected override assertOpen(what = 'Multifeed'): void {
    super.assertOpen(what)
    if (this.corestore.closing !== null || rootOf(this.corestore).closing !== null) {
      throw new ClosedError('The corestore of this multifeed is closed')
    }
  }

  protected async _open(): Promise<void> {
    await openParts(this.#parts, this)
  }

  protected async _close(): Promise<void> {
    await closeParts(this.#parts, this)
  }
}
