/**
 * The set and its persistence together: the in-memory FeedSet, the
 * membership log it is read from and written to, the local names of our
 * writers, and the claims that keep one key from being added twice when a
 * writer and a peer (or two peers) add it at once.
 *
 * Order of operations is the crash-safety argument: a feed's record is
 * appended to the log before the feed enters the set, so anything announced
 * is on disk. Lengths are checkpointed lazily (see MembershipLog); when
 * the last session did not close cleanly they are read from the cores'
 * storage at load, in one batch (heads.ts), so open() never reports a
 * length the store does not hold.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import { LimitExceededError } from '../errors.js'
import { type Feed, FeedSet } from './FeedSet.js'
import { heldLengths } from './heads.js'
import { type Checkpoint, MARK_CLOSED, MARK_OPENED, MembershipLog } from './MembershipLog.js'

/** How long length changes wait before they are checkpointed together. */
const CHECKPOINT_DELAY_MS = 1000

export class Membership {
  readonly set: FeedSet
  /** Local writer names → feed. */
  readonly names = new Map<string, Feed>()
  /** Names of writers removed with `force`: never given to a new core. */
  readonly retired = new Set<string>()
  /** Keys refused from every peer (hex → key). */
  readonly blocked = new Map<string, Buffer>()
  readonly #store: Corestore
  readonly #log: MembershipLog
  readonly #maxFeeds: number
  readonly #claims = new Map<string, Promise<void>>()
  readonly #dirty = new Set<Feed>()
  #timer: NodeJS.Timeout | null = null
  #checkpointing: Promise<void> = Promise.resolve()
  #closed = false

  constructor(store: Corestore, salt: Buffer, maxFeeds: number) {
    this.set = new FeedSet(salt)
    this.#store = store
    this.#log = new MembershipLog(store)
    this.#maxFeeds = maxFeeds
  }

  /**
   * Reads the log in one pass; opens no feed core. After a crash (the log
   * does not end with a clean close) the lengths come from the storage.
   * Marks the session opened before resolving: nothing of the set changes
   * before that mark is on disk.
   */
  async load(): Promise<void> {
    let clean = false
    // A feed's position (seq) is the order of its first record: a removed
    // feed keeps its position, so the checkpoints written after it still
    // name the right feeds. The set replays the records itself (one record
    // per feed in memory, no object per record kept).
    this.set.beginLoad()
    for await (const batch of this.#log.load()) {
      this.set.reserveLoad(batch.feeds.length)
      for (const { key, local, name } of batch.feeds) this.set.loadFeed(key, local, name)
      for (const { seq, length } of batch.lengths) this.set.loadLength(seq, length)
      for (const { key, block } of batch.removals) {
        const removed = this.set.loadRemoval(key)
        if (removed?.local && removed.name !== null) {
          this.retired.add(removed.name)
        }
        if (block) this.blocked.set(key.toString('hex'), Buffer.from(key))
      }
      for (const key of batch.unblocks) this.blocked.delete(key.toString('hex'))
      clean = batch.mark === MARK_CLOSED
    }
    this.set.endLoad()
    for (const feed of this.set.named()) this.names.set(feed.name!, feed)
    const lengths: Checkpoint[] = clean ? [] : await this.#recover()
    await this.#log.append({ lengths, mark: MARK_OPENED })
  }

  /** The lengths held, read from the storage; the checkpoints that correct the log. */
  async #recover(): Promise<Checkpoint[]> {
    const feeds = this.set.all()
    if (feeds.length === 0) return []
    const held = await heldLengths(
      this.#store,
      feeds.map((feed) => feed.discoveryKey)
    )
    const corrected: Checkpoint[] = []
    for (let i = 0; i < feeds.length; i++) {
      const feed = feeds[i]!
      if (this.set.setLength(feed, held[i]!)) corrected.push({ seq: feed.seq, length: feed.length })
    }
    return corrected
  }

  /** Throws ERR_LIMIT_EXCEEDED when adding `adding` feeds would pass maxFeeds. */
  checkCapacity(adding: number): void {
    const total = this.set.size + this.#claims.size + adding
    if (total > this.#maxFeeds) {
      throw new LimitExceededError(
        'maxFeeds',
        this.#maxFeeds,
        `Adding ${adding} feed(s) would make ${total}; the limit is ${this.#maxFeeds}`
      )
    }
  }

  /** The claim on a key being added right now, if any. */
  claimOf(id: string): Promise<void> | undefined {
    return this.#claims.get(id)
  }

  /** Claims keys being added; the returned function releases them. */
  claim(ids: string[]): () => void {
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

  /** Persists then adds feeds (the caller claimed them and checked capacity). */
  async add(
    records: Array<{ key: Buffer; local: boolean; name: string | null; length?: number }>
  ): Promise<Feed[]> {
    await this.#log.append({ feeds: records.map(({ key, local, name }) => ({ key, local, name })) })
    return records.map(({ key, local, name, length }) => {
      const feed = this.set.add(key, local, name, length ?? 0)
      if (name !== null) this.names.set(name, feed)
      return feed
    })
  }

  /** A feed of the set turned out to be one of our writers (a restored identity). */
  async markLocal(feed: Feed, name: string): Promise<void> {
    await this.#log.append({ feeds: [{ key: feed.key, local: true, name }] })
    this.set.markLocal(feed, name)
    this.names.set(name, feed)
  }

  /**
   * Takes a feed out of the set: the tombstone is written first (a crash
   * leaves the feed or its removal), then the feed leaves memory. With
   * `block` its key is refused from every peer until unblocked.
   */
  async remove(feed: Feed, block: boolean): Promise<void> {
    await this.#log.append({ removals: [{ key: feed.key, block }] })
    this.set.remove(feed)
    this.#dirty.delete(feed)
    if (feed.name !== null && this.names.get(feed.name) === feed) {
      this.names.delete(feed.name)
      if (feed.local) this.retired.add(feed.name)
    }
    if (block) this.blocked.set(feed.id, feed.key)
  }

  /** Refuses a key (not in the set) from every peer, for good. */
  async block(key: Buffer): Promise<void> {
    const id = key.toString('hex')
    if (this.blocked.has(id)) return
    await this.#log.append({ removals: [{ key, block: true }] })
    this.blocked.set(id, key)
  }

  /** Lets peers offer the key again. */
  async unblock(key: Buffer): Promise<void> {
    const id = key.toString('hex')
    if (!this.blocked.has(id)) return
    await this.#log.append({ unblocks: [key] })
    this.blocked.delete(id)
  }

  /** Records a new length (checkpointed soon); false when nothing changed. */
  setLength(feed: Feed, length: number): boolean {
    if (!this.set.setLength(feed, length)) return false
    this.#dirty.add(feed)
    if (this.#timer === null && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = null
        this.checkpoint().catch(() => {})
      }, CHECKPOINT_DELAY_MS)
      this.#timer.unref()
    }
    return true
  }

  /** Writes the pending length checkpoints now. */
  checkpoint(): Promise<void> {
    const lengths = this.#takeDirty()
    if (lengths.length === 0) return this.#checkpointing
    this.#checkpointing = this.#log.append({ lengths })
    return this.#checkpointing
  }

  /**
   * Writes the pending checkpoints with the clean-close mark (the next
   * open() trusts the log's lengths), then closes the log. Called once no
   * session of ours is open. An append through a session closed while it
   * was in flight lands without an event, so our writers' lengths (few
   * feeds) are read from the storage first; without them, no mark.
   */
  async close(): Promise<void> {
    this.#closed = true
    let mark = MARK_CLOSED
    try {
      const writers = this.set.all().filter((feed) => feed.local)
      const held = await heldLengths(
        this.#store,
        writers.map((feed) => feed.discoveryKey)
      )
      for (let i = 0; i < writers.length; i++) this.setLength(writers[i]!, held[i]!)
    } catch {
      mark = 0
    }
    await this.#log.append({ lengths: this.#takeDirty(), mark }).catch(() => {})
    await this.#log.close().catch(() => {})
  }

  /** The pending checkpoints, taken (the timer is cancelled). */
  #takeDirty(): Checkpoint[] {
    if (this.#timer !== null) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    const lengths: Checkpoint[] = []
    for (const feed of this.#dirty) lengths.push({ seq: feed.seq, length: feed.length })
    this.#dirty.clear()
    return lengths
  }
}
