/**
 * Admission tags: what lets members of an encrypted set refuse a feed that
 * a holder of the mirror key alone offers (notes/admission-tags.md).
 *
 * Every feed of an encrypted set carries a 16-byte tag, BLAKE2b-128 of its
 * key keyed by the admission key A, which derives one way from the member
 * key (capabilities.ts): members compute and check it, a mirror (pairing
 * key only) can neither compute one for its own feed nor move one to
 * another key. The tag is stored with the feed (FeedTable, MembershipLog)
 * and sent wherever a key travels in full (Elements messages, protocol
 * minor 4); a mirror keeps and relays the tag it got, unread.
 *
 * - plain set: no tags, every feed admitted as before;
 * - member: a feed joins only with its key's tag (O(1): one keyed hash);
 * - mirror: a feed joins only with a tag (it cannot check which).
 */
import sodium from 'sodium-universal'

export const TAG_BYTES = 16

export class AdmissionTags {
  /** A plain set's: no tags. */
  static readonly none = new AdmissionTags(false, null)

  /** True when the set's feeds carry tags (an encrypted set, either tier). */
  readonly required: boolean
  readonly #key: Buffer | null

  /** `encrypted`: the set is; `admissionKey`: A (members), null for a mirror or a plain set. */
  constructor(encrypted: boolean, admissionKey: Buffer | null) {
    this.required = encrypted
    this.#key = encrypted ? admissionKey : null
  }

  /** True for a member: tags are computed and checked here. */
  get computes(): boolean {
    return this.#key !== null
  }

  /** The tag of `feedKey` (a member's); null where it cannot be computed (plain set, mirror). */
  tagOf(feedKey: Buffer): Buffer | null {
    if (this.#key === null) return null
    const tag = Buffer.allocUnsafe(TAG_BYTES)
    sodium.crypto_generichash(tag, feedKey, this.#key)
    return tag
  }

  /**
   * May a feed offered with `tag` join? A plain set: yes. A member: when the
   * tag is its key's. A mirror: when a tag came with it (members check it).
   */
  admits(feedKey: Buffer, tag: Buffer | null | undefined): boolean {
    if (!this.required) return true
    if (tag === null || tag === undefined || tag.byteLength !== TAG_BYTES) return false
    if (this.#key === null) return true
    return sodium.sodium_memcmp(this.tagOf(feedKey)!, tag)
  }
}
