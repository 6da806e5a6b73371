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
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import { ELEMENT_BYTES, elementOf } from '../protocol/elements.js'
import { DifferenceSketch } from '../protocol/estimator.js'
import { symbolSaltOf } from '../protocol/pairing.js'
import { type LocalSet, listedSet, SymbolWindow } from '../protocol/SymbolWindow.js'
import type { FeedInfo } from '../types.js'

const DIGEST_BYTES = 32
const scratch = Buffer.alloc(DIGEST_BYTES)

/**
 * A feed of the set. Its discovery key is computed when first needed (it
 * costs a hash, and `open()` of 100,000 feeds should not pay for them all).
 */
export class Feed {
  /** The core's public key (32 bytes). */
  readonly key: Buffer
  /** Lower-case hex of the key. */
  readonly id: string
  /** Position in the order feeds joined (stable: a removed feed keeps its position). */
  readonly seq: number
  /** True for a writer of ours (created by `writer()`). */
  local: boolean
  /** Local name of a writer; never sent to peers. */
  name: string | null
  /** Blocks 0..length-1 are held here (contiguous length, as last known). */
  length: number
  #discoveryKey: Buffer | null = null
  #discoveryId: string | null = null

  constructor(
    key: Buffer,
    id: string,
    seq: number,
    local: boolean,
    name: string | null,
    length: number
  ) {
    this.key = key
    this.id = id
    this.seq = seq
    this.local = local
    this.name = name
    this.length = length
  }

  get discoveryKey(): Buffer {
    this.#discoveryKey ??= crypto.discoveryKey(this.key)
    return this.#discoveryKey
  }

  /** Lower-case hex of the discovery key. */
  get discoveryId(): string {
    this.#discoveryId ??= this.discoveryKey.toString('hex')
    return this.#discoveryId
  }
}

/** What users see of a feed: a snapshot. */
export function infoOf(feed: Feed): FeedInfo {
  return {
    key: feed.key,
    discoveryKey: feed.discoveryKey,
    local: feed.local,
    name: feed.name,
    length: feed.length
  }
}

export class FeedSet {
  readonly #salt: Buffer
  readonly #byId = new Map<string, Feed>()
  /** Built when a peer first asks for a core by discovery key. */
  #byDiscoveryId: Map<string, Feed> | null = null
  readonly #order: Feed[] = []
  readonly #digest = Buffer.alloc(DIGEST_BYTES)
  /** Built when a peer first asks for it (open() does not pay for it), then kept up to date. */
  #sketch: DifferenceSketch | null = null
  /** Built on the first reconciliation (open() does not pay for it), then kept up to date. */
  #window: SymbolWindow | null = null
  /** Positions are never reused: a removed feed keeps its place in the log. */
  #nextSeq = 0

  /** `salt`: secret to key holders, stable for the life of the set (pairing.setSalt). */
  constructor(salt: Buffer) {
    this.#salt = salt
    whole.set(this.#order, this)
  }

  get size(): number {
    return this.#order.length
  }

  /** Every feed, in the order they joined. */
  all(): readonly Feed[] {
    return this.#order
  }

  get(id: string): Feed | undefined {
    return this.#byId.get(id)
  }

  byDiscoveryKey(discoveryId: string): Feed | undefined {
    if (this.#byDiscoveryId === null) {
      this.#byDiscoveryId = new Map()
      for (const feed of this.#order) this.#byDiscoveryId.set(feed.discoveryId, feed)
    }
    return this.#byDiscoveryId.get(discoveryId)
  }

  has(id: string): boolean {
    return this.#byId.has(id)
  }

  /** Adds a feed (the caller checked it is new); `seq` is given when read back from the log. */
  add(
    key: Buffer,
    local: boolean,
    name: string | null,
    length = 0,
    seq = this.#nextSeq,
    id = key.toString('hex')
  ): Feed {
    this.#nextSeq = Math.max(this.#nextSeq, seq + 1)
    const feed = new Feed(key, id, seq, local, name, length)
    this.#byId.set(id, feed)
    if (this.#byDiscoveryId !== null) this.#byDiscoveryId.set(feed.discoveryId, feed)
    this.#order.push(feed)
    this.#toggle(feed, true)
    return feed
  }

  /** Takes a feed out of the set. */
  remove(feed: Feed): void {
    if (this.#byId.get(feed.id) !== feed) return
    this.#toggle(feed, false)
    this.#byId.delete(feed.id)
    this.#byDiscoveryId?.delete(feed.discoveryId)
    const i = this.#order.indexOf(feed)
    if (i !== -1) this.#order.splice(i, 1)
  }

  /** Positions below `seq` are taken (by feeds removed since): never given again. */
  reserve(seq: number): void {
    this.#nextSeq = Math.max(this.#nextSeq, seq)
  }

  /** Records a new length; false when nothing changed. */
  setLength(feed: Feed, length: number): boolean {
    if (length === feed.length) return false
    this.#toggle(feed, false)
    feed.length = length
    this.#toggle(feed, true)
    return true
  }

  /** Digest of the whole set (XOR of keyed element hashes). */
  digest(): Buffer {
    return this.#digest
  }

  /** Difference sketch of the whole set. */
  sketch(): number[] {
    if (this.#sketch === null) {
      this.#sketch = new DifferenceSketch(this.#salt)
      for (const element of elementsOf(this.#order)) this.#sketch.add(element)
    }
    return Array.from(this.#sketch.counters)
  }

  /** Digest and sketch of a subset (a share policy hides some feeds from a peer). */
  summaryOf(feeds: Iterable<Feed>): { digest: Buffer; sketch: number[] } {
    const digest = Buffer.alloc(DIGEST_BYTES)
    const sketch = new DifferenceSketch(this.#salt)
    for (const feed of feeds) {
      const element = elementOf(feed.key, feed.length)
      xorInto(digest, this.#hash(element))
      sketch.add(element)
    }
    return { digest, sketch: Array.from(sketch.counters) }
  }

  /** The whole set for one reconciliation: its window's symbols, pinned now. */
  snapshot(): LocalSet {
    this.#window ??= new SymbolWindow(
      ELEMENT_BYTES,
      symbolSaltOf(this.#salt),
      elementsOf(this.#order)
    )
    return this.#window.pin(() => elementsOf(this.#order))
  }

  #toggle(feed: Feed, adding: boolean): void {
    const element = elementOf(feed.key, feed.length)
    xorInto(this.#digest, this.#hash(element))
    if (adding) {
      this.#sketch?.add(element)
      this.#window?.add(element)
    } else {
      this.#sketch?.remove(element)
      this.#window?.remove(element)
    }
  }

  /** The element's keyed hash, in a scratch buffer valid until the next call. */
  #hash(element: Buffer): Buffer {
    sodium.crypto_generichash(scratch, element, this.#salt)
    return scratch
  }
}

/** Sets by the list `all()` returns (what a peer sees when no share policy hides a feed). */
const whole = new WeakMap<readonly Feed[], FeedSet>()

/**
 * Our side of a reconciliation over `feeds`: the set's window when `feeds`
 * is a whole set's `all()`, otherwise (a subset) the elements, listed now.
 */
export function localSetOf(feeds: Iterable<Feed>): LocalSet {
  const set = whole.get(feeds as readonly Feed[])
  return set !== undefined ? set.snapshot() : listedSet(elementsOf(feeds))
}

function* elementsOf(feeds: Iterable<Feed>): Generator<Buffer> {
  for (const feed of feeds) yield elementOf(feed.key, feed.length)
}

function xorInto(target: Buffer, source: Buffer): void {
  for (let i = 0; i < target.byteLength; i++) target[i]! ^= source[i]!
}
