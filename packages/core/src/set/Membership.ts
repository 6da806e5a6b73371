/**
 * The set and its persistence together: the in-memory FeedSet, the
 * membership log it is read from and written to, the local names of our
 * writers, and the store's record of which multifeed holds a feed (Owners),
 * whose claims keep one key from being added twice when writers and peers
 * of this or another multifeed of the store add it at once.
 *
 * Order of operations is the crash-safety argument: a feed's owner record,
 * then its record in the log, are written before the feed enters the set,
 * so anything announced is on disk (and no other multifeed of the store can
 * take it). A removal is marked in the owner record before its tombstone is
 * written (see Custody). Lengths are checkpointed lazily (see MembershipLog);
 * when the last session did not close cleanly they are read from the cores'
 * storage at load, in one batch (heads.ts), so open() never reports a
 * length the store does not hold.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import type { Tier } from '../capabilities.js'
import { LimitExceededError } from '../errors.js'
import { AdmissionTags } from './AdmissionTags.js'
import { type Feed, FeedSet } from './FeedSet.js'
import { heldLengths } from './heads.js'
import { type Checkpoint, MARK_CLOSED, MARK_OPENED, MembershipLog } from './MembershipLog.js'
import type { Owners } from './Owners.js'
import { claimTier } from './tier.js'

/** How long length changes wait before they are checkpointed together. */
const CHECKPOINT_DELAY_MS = 1000

export class Membership {
  readonly set: FeedSet
  /** Local writer names → feed. */
  readonly names = new Map<string, Feed>()
  /** Names of writers removed with `force`: never given to a new core. */
  readonly retired = new Set<string>()
  /** Keys refused from every peer (hex → key): the member's own mute (`block()`). */
  readonly blocked = new Map<string, Buffer>()
  /**
   * A moderated set's refusal of a key (its moderation's blocks, kept apart
   * from the mute above: a moderator's unblock never lifts a member's mute).
   */
  moderated: (key: Buffer) => boolean = () => false
  /** A moderated set admits only feeds bound to an identity: true for a key no held bind record names. */
  unbound: (key: Buffer) => boolean = () => false
  /**
   * A mirror's: the admission tags of the feeds the log removed and the set does not list
   * (hex → tag), from load() until the moderation takes those it blocks (ModerationEffects:
   * a mirror cannot compute a tag, and an unblock needs one to let the feed back in).
   */
  readonly removedTags = new Map<string, Buffer>()
  /** The multifeed's discovery key: how the store's owner record names it. */
  readonly id: Buffer
  /** The set's admission tags (an encrypted set's feeds carry one each). */
  readonly tags: AdmissionTags
  readonly #store: Corestore
  readonly #log: MembershipLog
  readonly #maxFeeds: number
  #owners: Owners | null = null
  /** Keys this set is adding right now (claimed in the store's record). */
  #claimed = 0
  readonly #dirty = new Set<Feed>()
  #timer: NodeJS.Timeout | null = null
  #checkpointing: Promise<void> = Promise.resolve()
  #closed = false
  /** The session's "opened" mark, written (or being written) once; null: not yet. */
  #marking: Promise<void> | null = null
  /** The "opened" mark is on disk. */
  #marked = false

  constructor(
    store: Corestore,
    id: Buffer,
    salt: Buffer,
    maxFeeds: number,
    tags: AdmissionTags = AdmissionTags.none
  ) {
    this.id = id
    this.tags = tags
    this.set = new FeedSet(salt)
    this.#store = store
    this.#log = new MembershipLog(store)
    this.#maxFeeds = maxFeeds
  }

  /** The store's record of which multifeed holds a feed (from load() on). */
  get owners(): Owners {
    if (this.#owners === null) throw new Error('Membership: not loaded')
    return this.#owners
  }

  /**
   * Reads the log in one pass; opens no feed core (nor the log's: it is
   * read from the storage). After a crash (the log does not end with a
   * clean close) the lengths come from the storage, and the session is
   * marked opened before resolving; after a clean close, before its first
   * core opens (`opening()`): nothing of the set changes before that mark
   * is on disk. Resolves to the keys the log removed that
   * are not in the set (what a re-open may have to finish). An encrypted
   * set's log is first checked to be this `tier`'s (set/tier.ts).
   */
  async load(owners: Owners, tier: Tier = 'plain'): Promise<Buffer[]> {
    await claimTier(await this.#log.tierRecord(), tier)
    this.#owners = owners
    const removed: Buffer[] = []
    let clean = false
    // A feed's position (seq) is the order of its first record: a removed
    // feed keeps its position, so the checkpoints written after it still
    // name the right feeds. The set replays the records itself (one record
    // per feed in memory, no object per record kept).
    this.set.beginLoad()
    for await (const batch of this.#log.load()) {
      this.set.reserveLoad(batch.feeds.length)
      for (const { key, local, name, tag } of batch.feeds) {
        this.set.loadFeed(key, local, name, tag ?? null)
      }
      for (const { seq, length } of batch.lengths) this.set.loadLength(seq, length)
      for (const { key, block } of batch.removals) {
        const was = this.set.loadRemoval(key)
        if (was !== null) removed.push(Buffer.from(key))
        if (was?.tag && !this.tags.computes) this.removedTags.set(key.toString('hex'), was.tag)
        if (was?.local && was.name !== null) {
          this.retired.add(was.name)
        }
        if (block) this.blocked.set(key.toString('hex'), Buffer.from(key))
      }
      for (const key of batch.unblocks) this.blocked.delete(key.toString('hex'))
      clean = batch.mark === MARK_CLOSED
    }
    this.set.endLoad()
    for (const id of this.removedTags.keys()) {
      if (this.set.get(id) !== undefined) this.removedTags.delete(id)
    }
    for (const feed of this.set.named()) this.names.set(feed.name!, feed)
    // A member's log written before tags (or a record without one): computed now, one hash a feed.
    if (this.tags.computes) {
      for (const feed of this.set.all())
        if (feed.tag === null) this.set.tag(feed, this.tags.tagOf(feed.key)!)
    }
    // After a crash (or a new log) the session is marked now, with the
    // lengths corrected; after a clean close, before its first core opens.
    if (!clean) await this.#mark(await this.#recover())
    return removed.filter((key) => this.set.find(key) === undefined)
  }

  /**
   * Resolves once the log says this session is open (its "opened" mark is
   * on disk): call it before opening any core of the set. Until then the
   * log still ends with the last session's clean-close mark, which is true
   * as long as no core of the set opened since: nothing of the set's cores
   * can change before that (notes/mirror-open-speed.md). Null once marked.
   */
  opening(): Promise<void> | null {
    if (this.#marked) return null
    return this.#mark([])
  }

  /** Writes the "opened" mark once (with `lengths`, corrections read at load). */
  #mark(lengths: Checkpoint[]): Promise<void> {
    if (this.#marking === null) {
      const marking = this.#log.append({ lengths, mark: MARK_OPENED }).then(
        () => {
          this.#marked = true
        },
        (err: unknown) => {
          // Not written: the next core to open tries again.
          if (this.#marking === marking) this.#marking = null
          throw err
        }
      )
      this.#marking = marking
    }
    return this.#marking
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

  /** True when `adding` more feeds fit under maxFeeds (counting those being added). */
  hasRoom(adding: number): boolean {
    return this.set.size + this.#claimed + adding <= this.#maxFeeds
  }

  /** Throws ERR_LIMIT_EXCEEDED when adding `adding` feeds would pass maxFeeds. */
  checkCapacity(adding: number): void {
    const total = this.set.size + this.#claimed + adding
    if (total > this.#maxFeeds) {
      throw new LimitExceededError(
        'maxFeeds',
        this.#maxFeeds,
        `Adding ${adding} feed(s) would make ${total}; the limit is ${this.#maxFeeds}`
      )
    }
  }

  /**
   * The claim on a key being added (or removed) right now by any multifeed
   * of the store, if any: wait for it, then check the key again.
   */
  claimOf(id: string): Promise<void> | undefined {
    return this.owners.claimOf(id)
  }

  /**
   * Claims keys for this set: call it in the same synchronous step that
   * found them unclaimed. The returned function releases them.
   */
  claim(ids: string[]): () => void {
    const release = this.owners.claim(ids)
    this.#claimed += ids.length
    let released = false
    return () => {
      if (released) return
      released = true
      this.#claimed -= ids.length
      release()
    }
  }

  /**
   * Persists then adds feeds (the caller claimed them and checked capacity):
   * the store records them as this set's, then the log. A key the store
   * records for another multifeed keeps that record (a writer whose key
   * pair the user gave to two multifeeds) unless `unowned` (admission
   * checked that none is).
   */
  async add(
    records: Array<{
      key: Buffer
      local: boolean
      name: string | null
      length?: number
      /** The admission tag a peer sent (checked by admission); a member computes it otherwise. */
      tag?: Buffer | null
    }>,
    unowned = false
  ): Promise<Feed[]> {
    // Never twice in the set, whatever a caller did (the claims make it so).
    const fresh = records
      .filter(({ key }) => this.set.find(key) === undefined)
      .map((record) => ({ ...record, tag: record.tag ?? this.tags.tagOf(record.key) }))
    const discoveryKeys = fresh.map(({ key }) => crypto.discoveryKey(key))
    const owners = unowned ? [] : await this.owners.owners(discoveryKeys)
    const mine = discoveryKeys.filter((_, i) => !owners[i] || owners[i]!.equals(this.id))
    await this.owners.write(this.owners.own(this.id, mine))
    await this.#log.append({
      feeds: fresh.map(({ key, local, name, tag }) => ({ key, local, name, tag }))
    })
    return fresh.map(({ key, local, name, length, tag }) => {
      const feed = this.set.add(key, local, name, length ?? 0)
      if (tag !== null) this.set.tag(feed, tag)
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
   * Takes a feed out of the set: its removal is marked in the store's
   * record, then the tombstone is written (a crash leaves the feed or its
   * removal, and a re-open finishes the removal), then the feed leaves
   * memory. With `block` its key is refused from every peer until unblocked.
   * The caller lets go of its core, then calls `released()`.
   */
  async remove(feed: Feed, block: boolean): Promise<void> {
    await this.owners.write([this.owners.removal(this.id, feed.key, true)])
    await this.#log.append({ removals: [{ key: feed.key, block }] })
    this.set.remove(feed)
    this.#dirty.delete(feed)
    if (feed.name !== null && this.names.get(feed.name) === feed) {
      this.names.delete(feed.name)
      if (feed.local) this.retired.add(feed.name)
    }
    if (block) this.blocked.set(feed.id, feed.key)
  }

  /**
   * The removal of `key` is over (its core let go of): its mark is cleared
   * and, when `disown`, the store no longer records the feed as this set's.
   */
  async released(key: Buffer, disown: boolean): Promise<void> {
    const changes = [this.owners.removal(this.id, key, false)]
    if (disown) changes.push(...this.owners.disown([crypto.discoveryKey(key)]))
    await this.owners.write(changes)
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
   * open() trusts the log's lengths), then closes the log.
   */
  async close(): Promise<void> {
    this.#closed = true
    const lengths = this.#takeDirty()
    // Nothing written this session (a refused open, or one that opened no
    // core and changed nothing): the log still ends as the last one left it.
    if (this.#log.written || lengths.length > 0) {
      await this.#marking?.catch(() => {})
      await this.#log.append({ lengths, mark: MARK_CLOSED }).catch(() => {})
    }
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
