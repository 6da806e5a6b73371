import sodium from 'sodium-universal'

const NS = Buffer.from('multifeed/1 set member')

/**
 * An order-independent digest of a set of keys, updated in O(1) per added
 * key: the XOR of a keyed hash of each member. Two peers holding the same set
 * have the same digest, so an in-sync reconnect costs one comparison instead
 * of a list exchange.
 */
export class FeedSetDigest {
  readonly #digest = Buffer.alloc(32)
  readonly #scratch = Buffer.alloc(32)
  #size = 0

  get size(): number {
    return this.#size
  }

  /** The current digest (a copy). */
  get value(): Buffer {
    return Buffer.from(this.#digest)
  }

  /** Adds a key; the caller guarantees it was not in the set. */
  add(key: Buffer): void {
    sodium.crypto_generichash(this.#scratch, key, NS)
    for (let i = 0; i < 32; i++) this.#digest[i]! ^= this.#scratch[i]!
    this.#size++
  }

  /** The digest of an arbitrary list of distinct keys. */
  static of(keys: Iterable<Buffer>): Buffer {
    const d = new FeedSetDigest()
    for (const key of keys) d.add(key)
    return d.value
  }
}
