/**
 * What the multifeed knows of its feeds, in memory: for each feed its key,
 * discovery key, origin, local name and the length we hold. No core is
 * opened to know any of it (the lengths come from the membership log's
 * checkpoints and from the cores while they are open).
 *
 * It also keeps, incrementally, what reconciliation needs of the whole set:
 * an order-independent digest of the elements (key + length) and a
 * difference sketch, so that an in-sync check costs nothing per feed.
 */
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import { elementOf } from '../protocol/elements.js'
import { DifferenceSketch } from '../protocol/estimator.js'
import type { FeedInfo } from '../types.js'

const DIGEST_BYTES = 32

export interface Feed {
  readonly key: Buffer
  /** Lower-case hex of the key. */
  readonly id: string
  readonly discoveryKey: Buffer
  /** Lower-case hex of the discovery key. */
  readonly discoveryId: string
  /** Position in the order feeds joined (stable for the life of the process). */
  readonly seq: number
  /** True for a writer of ours (created by `writer()`). */
  local: boolean
  /** Local name of a writer; never sent to peers. */
  name: string | null
  /** Blocks 0..length-1 are held here (contiguous length, as last known). */
  length: number
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
  readonly #byDiscoveryId = new Map<string, Feed>()
  readonly #order: Feed[] = []
  readonly #digest = Buffer.alloc(DIGEST_BYTES)
  readonly #sketch: DifferenceSketch
  /** Positions are never reused: a removed feed keeps its place in the log. */
  #nextSeq = 0

  /** `salt`: secret to key holders, stable for the life of the set (pairing.setSalt). */
  constructor(salt: Buffer) {
    this.#salt = salt
    this.#sketch = new DifferenceSketch(salt)
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
    return this.#byDiscoveryId.get(discoveryId)
  }

  has(id: string): boolean {
    return this.#byId.has(id)
  }

  /** Adds a feed (the caller checked it is new); `seq` is given when read back from the log. */
  add(key: Buffer, local: boolean, name: string | null, length = 0, seq = this.#nextSeq): Feed {
    const id = key.toString('hex')
    this.#nextSeq = Math.max(this.#nextSeq, seq + 1)
    const discoveryKey = crypto.discoveryKey(key)
    const feed: Feed = {
      key,
      id,
      discoveryKey,
      discoveryId: discoveryKey.toString('hex'),
      seq,
      local,
      name,
      length
    }
    this.#byId.set(id, feed)
    this.#byDiscoveryId.set(feed.discoveryId, feed)
    this.#order.push(feed)
    this.#toggle(feed, true)
    return feed
  }

  /** Takes a feed out of the set. */
  remove(feed: Feed): void {
    if (this.#byId.get(feed.id) !== feed) return
    this.#toggle(feed, false)
    this.#byId.delete(feed.id)
    this.#byDiscoveryId.delete(feed.discoveryId)
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

  #toggle(feed: Feed, adding: boolean): void {
    const element = elementOf(feed.key, feed.length)
    xorInto(this.#digest, this.#hash(element))
    if (adding) this.#sketch.add(element)
    else this.#sketch.remove(element)
  }

  #hash(element: Buffer): Buffer {
    const out = Buffer.allocUnsafe(DIGEST_BYTES)
    sodium.crypto_generichash(out, element, this.#salt)
    return out
  }
}

function xorInto(target: Buffer, source: Buffer): void {
  for (let i = 0; i < target.byteLength; i++) target[i]! ^= source[i]!
}
