/**
 * The set's own sessions of its feeds' cores, opened lazily. A core opens
 * when replication needs it (a peer lacks or holds more of it) and closes
 * when nothing holds it any more; nothing is opened at `Multifeed.open()`.
 *
 * Every session here is private to the set: users get sessions of their own
 * (`session()`), which they may close without changing what replicates.
 * Sessions are active (hypercore only fetches for a core with an active
 * session, and closes its idle channels otherwise), but they are opened
 * through the multifeed's namespace, a store session created inactive: the
 * hook corestore installs on a core it opens (attach it to every stream
 * corestore tracks) does nothing for an inactive store, so only the
 * multifeed decides where a core replicates.
 *
 * While a core is open here, its contiguous length is watched and reported
 * (`onLength`): that is how the set's length index stays current. Sessions
 * handed out check what is appended through them against the set's
 * encoding (blockEncoding.ts). In an encrypted set every session opened
 * here carries the set's block encryption key (hypercore encrypts per
 * session: one opened without it would read, and append, raw bytes).
 */
import type {
  Corestore,
  Hypercore,
  HypercorePeer,
  HypercoreKeyPair as KeyPair,
  ValueEncoding
} from '@multifeed/holepunch-types'
import { ClosedError } from '../errors.js'
import { Appends } from './Appends.js'
import { guardAppends } from './blockEncoding.js'
import type { Feed } from './FeedSet.js'

export interface CorePoolOptions {
  /**
   * The corestore the user passed to `open()`: each session handed out has
   * an inactive companion opened through it, because corestore's
   * `findingPeers()` is per store object and reaches only the sessions
   * opened through that object (ours are opened through the set's
   * namespace). So the Holepunch idiom `const done = store.findingPeers()`
   * around the user's own swarm makes `update({ wait: true })` on a session
   * of the set wait for peers, as it does for the user's own cores.
   */
  userStore: Corestore
  valueEncoding: ValueEncoding | undefined
  /**
   * An encrypted set's block encryption key: every session opened here
   * encrypts what it appends and decrypts what it reads (hypercore derives
   * each core's block key from it and the core's key). Null: plain blocks.
   */
  encryptionKey: Buffer | null
  /** Remote feeds are mirrored in full while open (the legacy multifeed's behaviour). */
  mirror: boolean
  /**
   * Called before a core of the set opens here (a session, or a purge):
   * what it returns (the membership log's "opened" mark being written) is
   * awaited first. Null: nothing to wait for.
   */
  beforeOpen(): Promise<void> | null
  /** A feed's contiguous length changed while one of our sessions was open. */
  onLength(feed: Feed, length: number): void
  /** A block of the feed moved to or from a peer (`peer.protomux` tells the connection). */
  onTransfer(feed: Feed, direction: 'received' | 'sent', bytes: number, peer: HypercorePeer): void
}

interface Entry {
  readonly feed: Feed
  readonly core: Hypercore<unknown>
  holds: number
  readonly watch: () => void
  readonly onDownload: (index: number, bytes: number, peer: HypercorePeer) => void
  readonly onUpload: (index: number, bytes: number, peer: HypercorePeer) => void
}

export class CorePool {
  readonly #store: Corestore
  readonly #options: CorePoolOptions
  /** The `encryption` option of every session we open (none for a plain set). */
  readonly #encryption: { encryption?: { key: Buffer } }
  readonly #open = new Map<string, Entry>()
  readonly #userSessions = new Map<Hypercore<unknown>, string>()
  readonly #appends = new Appends()
  #closed = false

  constructor(store: Corestore, options: CorePoolOptions) {
    this.#store = store
    this.#options = options
    this.#encryption =
      options.encryptionKey === null ? {} : { encryption: { key: options.encryptionKey } }
  }

  /** Waits for what must precede a core's opening; ERR_CLOSED if the pool closed meanwhile. */
  async #beforeOpen(): Promise<void> {
    const waiting = this.#options.beforeOpen()
    if (waiting === null) return
    await waiting
    if (this.#closed) throw new ClosedError('The multifeed is closed')
  }

  /** Number of feeds whose core the set holds open. */
  get openCount(): number {
    return this.#open.size
  }

  /** True when the set holds the feed's core open. */
  isOpen(feed: Feed): boolean {
    return this.#open.has(feed.id)
  }

  /**
   * The set's session of the feed's core, opened if needed; every `acquire`
   * needs one `release`. Resolves once the core is ready.
   */
  async acquire(feed: Feed): Promise<Hypercore<unknown>> {
    await this.#beforeOpen()
    let entry = this.#open.get(feed.id)
    if (entry === undefined) {
      const core = this.#store.get<unknown>({
        key: feed.key,
        valueEncoding: this.#options.valueEncoding,
        ...this.#encryption
      })
      const watch = (): void => {
        if (core.opened) this.#options.onLength(feed, core.contiguousLength)
      }
      const onDownload = (_: number, bytes: number, peer: HypercorePeer): void => {
        watch()
        this.#options.onTransfer(feed, 'received', bytes, peer)
      }
      const onUpload = (_: number, bytes: number, peer: HypercorePeer): void => {
        this.#options.onTransfer(feed, 'sent', bytes, peer)
      }
      entry = { feed, core, holds: 0, watch, onDownload, onUpload }
      this.#open.set(feed.id, entry)
      core.on('append', watch)
      core.on('download', onDownload)
      core.on('upload', onUpload)
      core.on('truncate', watch)
    }
    entry.holds++
    const core = entry.core
    try {
      await core.ready()
    } catch (err) {
      this.release(feed)
      throw err
    }
    entry.watch()
    if (this.#options.mirror && !feed.local && !core.writable && !mirroring.has(core)) {
      // Like the legacy multifeed: remote feeds are mirrored in full, live, while open.
      mirroring.add(core)
      core.download({ start: 0, end: -1 })
    }
    return core
  }

  /** The set's open session of the feed's core, if it holds one. */
  acquired(feed: Feed): Hypercore<unknown> | null {
    return this.#open.get(feed.id)?.core ?? null
  }

  /**
   * Lets go of one `acquire`; the core closes when nothing holds it. Its
   * contiguous length is read one last time first: a block can land just
   * before an idle sweep lets go of the core, with no event having told us
   * its new length yet (seen in notes/tcp-first-sync-stall.md: the block
   * held, the set's length index at 0, and no session left to tell it).
   */
  release(feed: Feed): void {
    const entry = this.#open.get(feed.id)
    if (entry === undefined) return
    if (--entry.holds > 0) return
    entry.watch()
    this.#open.delete(feed.id)
    entry.core.off('append', entry.watch)
    entry.core.off('download', entry.onDownload)
    entry.core.off('upload', entry.onUpload)
    entry.core.off('truncate', entry.watch)
    entry.core.close().catch(() => {})
  }

  /** A session the caller owns (watched for appends while it is open). */
  async session(
    feed: Feed,
    options: { valueEncoding?: ValueEncoding | undefined; keyPair?: KeyPair | undefined } = {}
  ): Promise<Hypercore<unknown>> {
    await this.#beforeOpen()
    const valueEncoding = options.valueEncoding ?? this.#options.valueEncoding
    const core = this.#store.get<unknown>({
      key: feed.key,
      valueEncoding,
      ...this.#encryption,
      ...(options.keyPair ? { keyPair: options.keyPair } : {})
    })
    guardAppends(core, valueEncoding)
    this.#track(feed, core)
    // Opened after ours (the same core, found open): its hooks stay the namespace's.
    const companion = this.#options.userStore.get<unknown>({ key: feed.key, active: false })
    core.once('close', () => {
      companion.close().catch(() => {})
    })
    try {
      await core.ready()
    } catch (err) {
      await core.close().catch(() => {})
      throw err
    }
    this.#options.onLength(feed, core.contiguousLength)
    return core
  }

  /**
   * Tracks a session we created for the caller, and the sessions made from
   * it: their appends update the index (also one that lands after its
   * session closed), and close() waits for those in flight.
   */
  #track(feed: Feed, core: Hypercore<unknown>): void {
    const watch = (): void => {
      if (core.opened) this.#options.onLength(feed, core.contiguousLength)
    }
    core.on('append', watch)
    core.on('truncate', watch)
    this.#appends.follow(core, (length) => {
      if (length > feed.length) this.#options.onLength(feed, length)
    })
    const session = core.session.bind(core)
    core.session = (options) => {
      const child = session(options)
      this.#track(feed, child)
      return child
    }
    this.#userSessions.set(core, feed.id)
    core.once('close', () => {
      this.#userSessions.delete(core)
      core.off('append', watch)
      core.off('truncate', watch)
    })
    if (this.#closed) core.close().catch(() => {})
  }

  /** Adopts a session created elsewhere (a new writer's) as the caller's. */
  adopt(feed: Feed, core: Hypercore<unknown>): void {
    this.#track(feed, core)
  }

  /** The feed left the set: closes the set's session and the sessions handed out. */
  async forget(feed: Feed): Promise<void> {
    const closing: Promise<void>[] = []
    const entry = this.#open.get(feed.id)
    if (entry !== undefined) {
      this.#open.delete(feed.id)
      closing.push(entry.core.close())
    }
    for (const [session, id] of this.#userSessions)
      if (id === feed.id) closing.push(session.close())
    await Promise.allSettled(closing)
  }

  /** Deletes the storage of the core `key` (a feed let go of, its sessions closed). */
  async purge(key: Buffer): Promise<void> {
    await this.#beforeOpen()
    const core = this.#store.get<unknown>({ key, active: false })
    await core.ready()
    await core.purge()
  }

  /**
   * Closes the set's sessions and every session handed to users, once the
   * appends in flight through them landed (or failed); later appends reject
   * with ERR_CLOSED.
   */
  async close(): Promise<void> {
    this.#closed = true
    await this.#appends.close()
    const closing: Promise<void>[] = []
    for (const entry of this.#open.values()) closing.push(entry.core.close())
    for (const session of this.#userSessions.keys()) closing.push(session.close())
    this.#open.clear()
    await Promise.allSettled(closing)
  }
}

const mirroring = new WeakSet<Hypercore<unknown>>()
