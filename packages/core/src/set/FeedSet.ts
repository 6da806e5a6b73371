/**
 * What the multifeed knows of its feeds, in memory: for each feed its key,
 * discovery key, origin, local name and the length we hold. No core is
 * opened to know any of it (the lengths come from the membership log's
 * checkpoints and from the cores while they are open).
 *
 * It also keeps, incrementally, what reconciliation needs of the whole set:
 * an order-independent digest of the elements (key + length), so that an
 * in-sync check costs nothing per feed; from the first connection on, a
 * difference sketch; and from the first reconciliation on, the set's first
 * coded symbols (SymbolWindow), so that a reconciliation costs O(d), not
 * O(n). The last two are built when first needed: open() pays for neither.
 */
import sodium from 'sodium-universal'
import { ELEMENT_BYTES, setElementLength } from '../protocol/elements.js'
import { DifferenceSketch } from '../protocol/estimator.js'
import { symbolSaltOf } from '../protocol/pairing.js'
import { type LocalSet, listedSet, SymbolWindow } from '../protocol/SymbolWindow.js'
import type { FeedInfo } from '../types.js'
import type { Feed } from './Feed.js'
import { FeedTable } from './FeedTable.js'
import { indexSeed } from './SlotIndex.js'

export { Feed } from './Feed.js'

const DIGEST_BYTES = 32
const scratch = Buffer.alloc(DIGEST_BYTES)

/** What users see of a feed: a snapshot. */
export function infoOf(feed: Feed): FeedInfo {
  return {
    key: feed.key,
    discoveryKey: feed.discoveryKey,
    local: feed.local,
    name: feed.name,
    length: feed.length,
    owner: feed.table.ownerOf(feed.key)
  }
}

export class FeedSet {
  readonly #salt: Buffer
  /** Every feed's record (see FeedTable); lookups by key go through it. */
  readonly #table = new FeedTable(indexSeed())
  readonly #order: Feed[] = []
  readonly #digest = Buffer.alloc(DIGEST_BYTES)
  /** Built when a peer first asks for it (open() does not pay for it), then kept up to date. */
  #sketch: DifferenceSketch | null = null
  /** A background build of the sketch in progress: the feeds and lengths it sketches, how far it got. */
  #building: { feeds: Feed[]; lengths: Float64Array; next: number } | null = null
  /** Built on the first reconciliation (open() does not pay for it), then kept up to date. */
  #window: SymbolWindow | null = null
  /**
   * Feeds whose length changed since the digest, sketch and window last took
   * them in, with the length those hold: a download of 50,000 blocks is one
   * update of them when next read, not 50,000.
   */
  readonly #stale = new Map<Feed, number>()
  /** Positions are never reused: a removed feed keeps its place in the log. */
  #nextSeq = 0
  /** Between beginLoad() and endLoad(): a slot is the feed's position in the log. */
  #loading = false

  /** `salt`: secret to key holders, stable for the life of the set (pairing.setSalt). */
  constructor(salt: Buffer) {
    this.#salt = salt
  }

  get size(): number {
    return this.#order.length
  }

  /** Who owns a feed (a moderated set's bind records): what `FeedInfo.owner` says. */
  set owners(lookup: (key: Buffer) => Buffer | null) {
    this.#table.ownerOf = lookup
  }

  /** Every feed, in the order they joined. */
  all(): readonly Feed[] {
    return this.#order
  }

  /** The feed with this hex key. */
  get(id: string): Feed | undefined {
    const slot = this.#table.findHex(id)
    return slot === -1 ? undefined : this.#table.feedOf(slot)
  }

  /** The feed with this key. */
  find(key: Uint8Array): Feed | undefined {
    const slot = this.#table.find(key)
    return slot === -1 ? undefined : this.#table.feedOf(slot)
  }

  byDiscoveryKey(discoveryId: string): Feed | undefined {
    const slot = this.#table.findDiscoveryHex(discoveryId)
    return slot === -1 ? undefined : this.#table.feedOf(slot)
  }

  has(id: string): boolean {
    return this.#table.findHex(id) !== -1
  }

  /** Adds a feed (the caller checked it is new); `seq` is given when read back from the log. */
  add(key: Buffer, local: boolean, name: string | null, length = 0, seq = this.#nextSeq): Feed {
    this.#nextSeq = Math.max(this.#nextSeq, seq + 1)
    const feed = this.#table.feedOf(this.#table.insert(key, local, name, length, seq))
    this.#order.push(feed)
    this.#toggle(feed, true)
    return feed
  }

  /** Takes a feed out of the set. */
  remove(feed: Feed): void {
    if (feed.table !== this.#table) return
    this.#refresh()
    this.#toggle(feed, false)
    this.#table.remove(feed.slot)
    this.#table.compact()
    const i = this.#order.indexOf(feed)
    if (i !== -1) this.#order.splice(i, 1)
  }

  /** Positions below `seq` are taken (by feeds removed since): never given again. */
  reserve(seq: number): void {
    this.#nextSeq = Math.max(this.#nextSeq, seq)
  }

  /** A feed of the set is one of our writers; `name` is its local name unless it has one. */
  markLocal(feed: Feed, name: string): void {
    feed.table.setLocal(feed.slot, true, feed.name === null ? name : null)
  }

  /** Records the feed's admission tag (once: a tagged feed keeps its tag). */
  tag(feed: Feed, tag: Uint8Array): void {
    feed.table.setTag(feed.slot, tag)
  }

  /** Records a new length; false when nothing changed. */
  setLength(feed: Feed, length: number): boolean {
    if (length === feed.length) return false
    if (!this.#stale.has(feed)) this.#stale.set(feed, feed.length)
    feed.table.lengths[feed.slot] = length
    return true
  }

  /**
   * Replays the membership log into an empty set: loadFeed / loadLength /
   * loadRemoval in log order, then endLoad(). Nothing is hashed, and no Feed
   * object made, before endLoad().
   */
  beginLoad(): void {
    if (this.#table.top > 0) throw new Error('FeedSet.beginLoad: the set is not empty')
    this.#loading = true
    this.#table.keepSlots = true
  }

  /** Room for `count` more feeds (the records of a batch of the log) without growing. */
  reserveLoad(count: number): void {
    this.#assertLoading()
    this.#table.reserve(count)
  }

  /**
   * A feed record of the log: a new feed takes the next position; a known
   * one becomes local (a writer of ours that was learned from a peer first).
   * A known one recorded as remote again is a duplicate record (an admission
   * race of earlier versions added some feeds twice): the feed stays listed once, and
   * the record keeps the position it took then, so that the checkpoints
   * written after it still name the right feeds.
   */
  loadFeed(key: Buffer, local: boolean, name: string | null, tag: Buffer | null = null): void {
    this.#assertLoading()
    const slot = this.#table.find(key)
    if (slot === -1) {
      const at = this.#table.insert(key, local, name, 0, this.#table.top)
      if (tag !== null) this.#table.setTag(at, tag)
    } else if (local) this.#table.setLocal(slot, true, name)
    else this.#table.skip()
  }

  /** A length checkpoint of the log (lengths only grow). */
  loadLength(seq: number, length: number): void {
    this.#assertLoading()
    if (this.#table.live(seq) && length > this.#table.lengths[seq]!)
      this.#table.lengths[seq] = length
  }

  /**
   * A removal of the log; what the feed was (for its name; its admission tag, a copy), or null
   * when it was not in the set.
   */
  loadRemoval(key: Buffer): { local: boolean; name: string | null; tag: Buffer | null } | null {
    this.#assertLoading()
    const slot = this.#table.find(key)
    if (slot === -1) return null
    const tag = this.#table.tagOf(slot)
    const removed = {
      local: this.#table.localOf(slot),
      name: this.#table.nameOf(slot),
      tag: tag === null ? null : Buffer.from(tag)
    }
    this.#table.remove(slot)
    return removed
  }

  /** The end of the replay: the feeds enter the set in the order they joined. */
  endLoad(): void {
    this.#assertLoading()
    this.#loading = false
    this.#table.keepSlots = false
    const table = this.#table
    for (let slot = 0; slot < table.top; slot++) {
      if (!table.live(slot)) continue
      const feed = table.feedOf(slot)
      this.#order.push(feed)
      this.#toggle(feed, true)
    }
    this.reserve(table.top)
    table.compact()
  }

  /** Feeds with a local name. */
  *named(): Generator<Feed> {
    for (const slot of this.#table.named()) yield this.#table.feedOf(slot)
  }

  /** Digest of the whole set (XOR of keyed element hashes). */
  digest(): Buffer {
    this.#refresh()
    return this.#digest
  }

  /** Difference sketch of the whole set. */
  sketch(): number[] {
    this.#refresh()
    if (this.#building !== null) this.#buildSketch(Number.POSITIVE_INFINITY)
    if (this.#sketch === null) {
      this.#sketch = new DifferenceSketch(this.#salt)
      for (const element of elementsOf(this.#order)) this.#sketch.add(element)
    }
    return Array.from(this.#sketch.counters)
  }

  /**
   * Builds the sketch in the background, `slice` feeds a macrotask, so that
   * open() does not wait for it and a peer's first connection usually finds
   * it built (128 counters: ~0.1 s at 100,000 feeds). Changes meanwhile go
   * into it as if it were complete: the sketch is linear, so what the build
   * adds later for a feed that changed meanwhile cancels out. A set of one
   * slice or less is left to be built when first asked for: that costs the
   * one slice the background would run, and a set no peer connects to
   * (most of a mirror's many sets at open) never pays it.
   */
  prepareSketch(slice = 2048): void {
    if (this.#sketch !== null || this.#order.length <= slice) return
    this.#refresh()
    const feeds = this.#order.slice()
    this.#building = { feeds, lengths: Float64Array.from(feeds, (f) => f.length), next: 0 }
    this.#sketch = new DifferenceSketch(this.#salt)
    const step = (): void => {
      if (this.#building === null) return
      this.#buildSketch(slice)
      if (this.#building !== null) setImmediate(step)
    }
    setImmediate(step)
  }

  /** Stops a background build (the set is closing); the sketch is then built when asked for. */
  stopBackground(): void {
    if (this.#building === null) return
    this.#building = null
    this.#sketch = null
  }

  #buildSketch(count: number): void {
    const building = this.#building!
    const end = Math.min(building.feeds.length, building.next + count)
    for (let i = building.next; i < end; i++) {
      this.#sketch!.add(setElementLength(building.feeds[i]!.element(), building.lengths[i]!))
    }
    building.next = end
    if (end === building.feeds.length) this.#building = null
  }

  /** Digest and sketch of a subset (a share policy hides some feeds from a peer). */
  summaryOf(feeds: Iterable<Feed>): { digest: Buffer; sketch: number[] } {
    const digest = Buffer.alloc(DIGEST_BYTES)
    const sketch = new DifferenceSketch(this.#salt)
    for (const feed of feeds) {
      const element = feed.element()
      xorInto(digest, this.#hash(element))
      sketch.add(element)
    }
    return { digest, sketch: Array.from(sketch.counters) }
  }

  /** Reconciliations holding a snapshot of the window (each logs the set's changes until released). */
  get pinned(): number {
    return this.#window?.pinned ?? 0
  }

  /** The whole set for one reconciliation: its window's symbols, pinned now. */
  snapshot(): LocalSet {
    this.#refresh()
    this.#window ??= new SymbolWindow(
      ELEMENT_BYTES,
      symbolSaltOf(this.#salt),
      elementsOf(this.#order)
    )
    return this.#window.pin(() => elementsOf(this.#order))
  }

  /** Takes the length changes since the last read into the digest, sketch and window. */
  #refresh(): void {
    if (this.#stale.size === 0) return
    for (const [feed, summarized] of this.#stale) {
      if (feed.length === summarized) continue
      this.#toggleElement(setElementLength(feed.element(), summarized), false)
      this.#toggle(feed, true)
    }
    this.#stale.clear()
  }

  #toggle(feed: Feed, adding: boolean): void {
    this.#toggleElement(feed.element(), adding)
  }

  #toggleElement(element: Buffer, adding: boolean): void {
    xorInto(this.#digest, this.#hash(element))
    if (adding) {
      this.#sketch?.add(element)
      this.#window?.add(element)
    } else {
      this.#sketch?.remove(element)
      this.#window?.remove(element)
    }
  }

  #assertLoading(): void {
    if (!this.#loading) throw new Error('FeedSet: not loading')
  }

  /** The element's keyed hash, in a scratch buffer valid until the next call. */
  #hash(element: Buffer): Buffer {
    sodium.crypto_generichash(scratch, element, this.#salt)
    return scratch
  }
}

/** A subset's side of a reconciliation (a share policy hides some feeds): its elements, listed now. */
export function listedSubset(feeds: Iterable<Feed>): LocalSet {
  return listedSet(elementsOf(feeds))
}

/** Elements read from the set's slab (no key view is made and kept per feed). */
function* elementsOf(feeds: Iterable<Feed>): Generator<Buffer> {
  for (const feed of feeds) yield feed.element()
}

function xorInto(target: Buffer, source: Buffer): void {
  for (let i = 0; i < target.byteLength; i++) target[i]! ^= source[i]!
}
