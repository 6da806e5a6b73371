/**
 * The set's secret and what derives from it, one way (notes/mirrors.md).
 *
 * A plain set's key is 32 random bytes and everything derives from it as
 * before: the discovery key, the pairing secrets (protocol/pairing.ts) and
 * the set salt. Nothing here changes for it.
 *
 * An encrypted set's key says so itself: 24 random bytes and an 8-byte tag,
 * a hash of those bytes under the label of the tier. The key alone (the
 * Buffer, its hex or its z32) is thus the whole invite: a member opening it
 * gets an encrypted set without being told, and a plain key matches a tag
 * with probability 2^-64. From the member key derive, one way:
 *
 *   member key ──► mirror key ──► discovery key, pairing secrets, set salt
 *        ├──────► encryption key (hypercore's block encryption of every feed)
 *        └──────► admission key (the tag members require of every feed)
 *
 * The mirror key is tagged too: `Multifeed.open(corestore, mirrorKey)` opens
 * the set as a mirror.
 *
 * A moderated encrypted set (moderation/invite.ts) derives its member key
 * from its founder and secret, and everything else as above, but for the
 * pairing key: a keyed hash of the founder and the mirror key, so that a
 * mirror told another founder pairs with no one (another set), as a member
 * given an invite naming another founder does. Its records are signed
 * under that pairing key, which members and mirrors both hold. A holder of the mirror key pairs and reconciles like a
 * member (the pairing key is the mirror key) but cannot compute the
 * encryption key nor the member key: both are keyed hashes under the member
 * key, and the mirror key is one more.
 */
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import { InvalidArgumentError } from './errors.js'

/** Bytes of randomness in a tagged key, and of its tag. */
const SECRET_BYTES = 24
const TAG_BYTES = 8

const MEMBER_TAG = Buffer.from('multifeed/3 encrypted set member key')
const MIRROR_TAG = Buffer.from('multifeed/3 encrypted set mirror key')
const MIRROR = Buffer.from('multifeed/3 mirror key')
const ENCRYPTION = Buffer.from('multifeed/3 block encryption key')
const ADMISSION = Buffer.from('multifeed/3 feed admission key')
const FOUNDED = Buffer.from('multifeed/5 moderated set pairing key')

/** What a key opens: a plain set, an encrypted set as a member, or as a mirror. */
export type Tier = 'plain' | 'member' | 'mirror'

/** The keys of a set as one tier holds them. */
export interface SetKeys {
  readonly tier: Tier
  /** The key the set was opened with (`multi.key`). */
  readonly key: Buffer
  /** Keys the pairing secrets, the capability and the set salt: the weakest tier that pairs. */
  readonly pairingKey: Buffer
  /** The swarm topic: a hash of the pairing key, never sent. */
  readonly discoveryKey: Buffer
  /** Encrypted sets: the mirror's capability (null for a plain set). */
  readonly mirrorKey: Buffer | null
  /** Encrypted sets: hypercore's block encryption key of every feed (members only). */
  readonly encryptionKey: Buffer | null
  /** Encrypted sets: keys the admission tag of every feed (members only; set/AdmissionTags.ts). */
  readonly admissionKey: Buffer | null
}

/** The tier a 32-byte key opens, read from its tag. */
export function tierOf(key: Buffer): Tier {
  if (key.byteLength !== SECRET_BYTES + TAG_BYTES) return 'plain'
  const secret = key.subarray(0, SECRET_BYTES)
  const tag = key.subarray(SECRET_BYTES)
  if (sodium.sodium_memcmp(tag, tagOf(MEMBER_TAG, secret))) return 'member'
  if (sodium.sodium_memcmp(tag, tagOf(MIRROR_TAG, secret))) return 'mirror'
  return 'plain'
}

/** A new key: an encrypted set's member key, or a plain set's random key. */
export function newKey(encrypted: boolean): Buffer {
  if (!encrypted) return crypto.randomBytes(32)
  return tagged(MEMBER_TAG, crypto.randomBytes(SECRET_BYTES))
}

/**
 * The keys of the set `key` opens. `encrypted` (the open() option, when
 * given) must agree with the key: an encrypted set is created without a
 * key, and its key says it is encrypted.
 */
export function setKeysOf(
  key: Buffer,
  encrypted: boolean | undefined,
  founder: Buffer | null = null
): SetKeys {
  const tier = tierOf(key)
  if (encrypted === true && tier === 'plain') {
    throw new InvalidArgumentError(
      'Multifeed.open(): encrypted: true with the key of a plain set; an encrypted set is created by Multifeed.open(corestore, null, { encrypted: true }) and its key says it is encrypted'
    )
  }
  if (encrypted === false && tier !== 'plain') {
    throw new InvalidArgumentError(
      `Multifeed.open(): encrypted: false with the ${tier === 'mirror' ? 'mirror key' : 'key'} of an encrypted set (its key says it is encrypted)`
    )
  }
  if (tier === 'plain') {
    return {
      tier,
      key,
      pairingKey: key,
      discoveryKey: crypto.discoveryKey(key),
      mirrorKey: null,
      encryptionKey: null,
      admissionKey: null
    }
  }
  // A mirror holds the mirror key alone: it pairs, and derives nothing that decrypts.
  const mirrorKey = tier === 'mirror' ? key : mirrorKeyOf(key)
  return {
    tier,
    key,
    pairingKey: founder === null ? mirrorKey : foundedPairingKey(founder, mirrorKey),
    discoveryKey: crypto.discoveryKey(mirrorKey),
    mirrorKey,
    encryptionKey: tier === 'mirror' ? null : keyed(key, ENCRYPTION, 32),
    // Members only: a mirror relays tags, it cannot make one.
    admissionKey: tier === 'mirror' ? null : keyed(key, ADMISSION, 32)
  }
}

/**
 * A mirror's options: it downloads every feed of the set (that is what it
 * is for), so `sparse: true` is ERR_INVALID_ARGUMENT.
 */
export function mirrorSettings(settings: { sparse: boolean }): void {
  if (settings.sparse) {
    throw new InvalidArgumentError(
      'Multifeed.open(): sparse: true with a mirror key; a mirror downloads and serves every feed of the set'
    )
  }
}

/** The mirror key of the member key `key`: a keyed hash under it, tagged as a mirror key. */
/**
 * `Multifeed.mirrorKeyOf()`: the mirror key an encrypted set's member key
 * derives (a mirror key is its own); a plain set's key has none.
 */
export function mirrorKeyFor(key: Buffer): Buffer {
  const tier = tierOf(key)
  if (tier === 'mirror') return key
  if (tier === 'member') return mirrorKeyOf(key)
  throw new InvalidArgumentError(
    'Multifeed.mirrorKeyOf(): the key of a plain set; only an encrypted set (Multifeed.open(corestore, null, { encrypted: true })) has a mirror key'
  )
}

export function mirrorKeyOf(key: Buffer): Buffer {
  return tagged(MIRROR_TAG, keyed(key, MIRROR, SECRET_BYTES))
}

/** A member key made of 24 secret bytes (a moderated encrypted set's: moderation/invite.ts). */
export function memberKeyOf(secret: Buffer): Buffer {
  return tagged(MEMBER_TAG, secret.subarray(0, SECRET_BYTES))
}

/** A moderated encrypted set's pairing key: its founder and mirror key, bound one way. */
export function foundedPairingKey(founder: Buffer, mirrorKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_generichash_batch(out, [founder, mirrorKey], FOUNDED)
  return out
}

function tagged(label: Buffer, secret: Buffer): Buffer {
  return Buffer.concat([secret, tagOf(label, secret)])
}

function tagOf(label: Buffer, secret: Buffer): Buffer {
  // BLAKE2b's shortest output is 16 bytes: the tag is the first 8 of them.
  const out = Buffer.allocUnsafe(16)
  sodium.crypto_generichash_batch(out, [label, secret])
  return out.subarray(0, TAG_BYTES)
}

function keyed(key: Buffer, label: Buffer, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes)
  sodium.crypto_generichash(out, label, key)
  return out
}
