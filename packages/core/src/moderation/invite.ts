/**
 * The id of a moderated set binds its founder: the set's key is a keyed
 * hash of the founder's public key and the set's secret, and the invite a
 * member pastes carries both. Whoever holds the invite can join but cannot
 * act as founder (its records must verify under `founder`), and an invite
 * naming another founder derives another key: another set.
 *
 * A moderated key is never read as an encrypted set's (capabilities.ts
 * `tierOf`: 24 bytes and an 8-byte tag): a new set draws its secret again in
 * the 2^-64 case where the key would carry a tag, and an invite whose key
 * does is refused (only a founder grinding ~2^64 secrets could make one).
 * So `tierOf(multi.key)` is `'plain'` for every moderated unencrypted set.
 *
 * A moderated **encrypted** set (format 2) derives a member key from the
 * founder and secret (capabilities.ts: tagged, so the key says it is
 * encrypted), and its mirror key as any encrypted set does. Its pairing key
 * binds the founder to the mirror key (`foundedPairingKey`), and its
 * records are signed under it: a mirror, which holds the **mirror invite**
 * (format 3: founder and mirror key), verifies and applies them, and a
 * mirror told another founder pairs with no one.
 */
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import z32 from 'z32'
import { foundedPairingKey, memberKeyOf, mirrorKeyOf, type Tier, tierOf } from '../capabilities.js'
import { InvalidKeyError } from '../errors.js'

const KEY_BYTES = 32
/** First byte of an invite: a moderated set (1), a moderated encrypted set (2), its mirror invite (3). */
const INVITE_MODERATED = 1
const INVITE_ENCRYPTED = 2
const INVITE_MIRROR = 3
const INVITE_BYTES = 1 + 2 * KEY_BYTES
/** z-base-32 characters of an invite: 104. */
export const INVITE_CHARS = Math.ceil((INVITE_BYTES * 8) / 5)
const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]+$/
const SET_DOMAIN = Buffer.from('multifeed/moderated-set/1')
const ENCRYPTED_DOMAIN = Buffer.from('multifeed/moderated-encrypted-set/1')

export interface ModeratedSetId {
  /** The founder identity's public key. */
  founder: Buffer
  /** The set's 32-byte secret: whoever holds it is a member. Null for a mirror (it holds the mirror key). */
  secret: Buffer | null
  /** The key the set opens with (`multi.key`): derived from both, one way (a mirror's: the mirror key). */
  key: Buffer
  /** `'plain'`: a moderated set; `'member'`/`'mirror'`: a moderated encrypted set as either tier holds it. */
  tier: Tier
  /** What the set's records are signed under: the key, or an encrypted set's founded pairing key. */
  signingKey: Buffer
}

/** The key of the moderated set of `founder` and `secret`. */
export function moderatedSetKey(founder: Buffer, secret: Buffer): Buffer {
  const key = Buffer.alloc(KEY_BYTES)
  sodium.crypto_generichash_batch(key, [founder, secret], SET_DOMAIN)
  return key
}

/** The member key of the moderated encrypted set of `founder` and `secret` (tagged: capabilities.ts). */
export function moderatedMemberKey(founder: Buffer, secret: Buffer): Buffer {
  const seed = Buffer.alloc(KEY_BYTES)
  sodium.crypto_generichash_batch(seed, [founder, secret], ENCRYPTED_DOMAIN)
  return memberKeyOf(seed)
}

/** A new moderated set (`encrypted`: a moderated encrypted set) founded by the identity `founder`. */
export function createModeratedSet(
  founder: Buffer,
  random: (bytes: number) => Buffer = crypto.randomBytes,
  { encrypted = false }: { encrypted?: boolean } = {}
): ModeratedSetId {
  if (founder.byteLength !== KEY_BYTES) {
    throw new InvalidKeyError(`founder must be ${KEY_BYTES} bytes, got ${founder.byteLength}`)
  }
  if (encrypted) return memberId(founder, random(KEY_BYTES))
  for (;;) {
    const secret = random(KEY_BYTES)
    const key = moderatedSetKey(founder, secret)
    // Never a key that reads as an encrypted set's (2^-64: a second draw).
    if (tierOf(key) === 'plain') return plainId(founder, secret, key)
  }
}

/** The invite a member pastes: z-base-32 of `format ‖ founder ‖ secret`; null for a mirror. */
export function formatInvite(id: ModeratedSetId): string | null {
  if (id.secret === null) return null
  const format = id.tier === 'plain' ? INVITE_MODERATED : INVITE_ENCRYPTED
  return z32.encode(inviteBytes(format, id.founder, id.secret))
}

/** A moderated encrypted set's mirror invite: `3 ‖ founder ‖ mirror key`; null for other sets. */
export function formatMirrorInvite(id: ModeratedSetId): string | null {
  if (id.tier === 'plain') return null
  const mirrorKey = id.tier === 'mirror' ? id.key : mirrorKeyOf(id.key)
  return z32.encode(inviteBytes(INVITE_MIRROR, id.founder, mirrorKey))
}

/** The bytes of an id as its invite carries them (a mirror's: its mirror invite): the log's header too. */
export function idBytes(id: ModeratedSetId): Buffer {
  if (id.secret !== null) {
    return inviteBytes(
      id.tier === 'plain' ? INVITE_MODERATED : INVITE_ENCRYPTED,
      id.founder,
      id.secret
    )
  }
  return inviteBytes(INVITE_MIRROR, id.founder, id.key)
}

/** Parses an invite or a mirror invite (throws `ERR_INVALID_KEY` saying what was wrong); derives the key. */
export function parseInvite(input: string): ModeratedSetId {
  if (typeof input !== 'string' || input.length !== INVITE_CHARS || !Z32.test(input)) {
    throw new InvalidKeyError(
      `an invite is ${INVITE_CHARS} z-base-32 characters, got ${describe(input)}`
    )
  }
  return idOf(z32.decode(input))
}

/** The id `bytes` (an invite's, or a log header's) names (throws `ERR_INVALID_KEY`). */
export function idOf(bytes: Uint8Array): ModeratedSetId {
  if (bytes.byteLength !== INVITE_BYTES) throw new InvalidKeyError('an invite is 65 bytes')
  const format = bytes[0]
  const founder = Buffer.from(bytes.subarray(1, 1 + KEY_BYTES))
  const rest = Buffer.from(bytes.subarray(1 + KEY_BYTES))
  if (format === INVITE_ENCRYPTED) return memberId(founder, rest)
  if (format === INVITE_MIRROR) {
    if (tierOf(rest) !== 'mirror')
      throw new InvalidKeyError('this mirror invite holds no mirror key')
    return {
      founder,
      secret: null,
      key: rest,
      tier: 'mirror',
      signingKey: foundedPairingKey(founder, rest)
    }
  }
  if (format !== INVITE_MODERATED) throw new InvalidKeyError(`unknown invite format ${format}`)
  const key = moderatedSetKey(founder, rest)
  if (tierOf(key) !== 'plain') {
    throw new InvalidKeyError('this invite derives a key that reads as an encrypted set’s: refused')
  }
  return plainId(founder, rest, key)
}

/** True when `input` has an invite's shape (a string of its length): `parseInvite` says the rest. */
export function looksLikeInvite(input: unknown): input is string {
  return typeof input === 'string' && input.length === INVITE_CHARS
}

function plainId(founder: Buffer, secret: Buffer, key: Buffer): ModeratedSetId {
  return { founder, secret, key, tier: 'plain', signingKey: key }
}

function memberId(founder: Buffer, secret: Buffer): ModeratedSetId {
  const key = moderatedMemberKey(founder, secret)
  const signingKey = foundedPairingKey(founder, mirrorKeyOf(key))
  return { founder, secret, key, tier: 'member', signingKey }
}

function inviteBytes(format: number, founder: Buffer, rest: Buffer): Buffer {
  return Buffer.concat([Buffer.from([format]), founder, rest])
}

function describe(input: unknown): string {
  if (typeof input !== 'string') return typeof input
  return Z32.test(input) ? `${input.length}` : 'characters outside z-base-32'
}
