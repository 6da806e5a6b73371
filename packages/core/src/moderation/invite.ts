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
 * So `tierOf(multi.key)` is `'plain'` for every moderated set, and a tiered
 * key never names one.
 */
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import z32 from 'z32'
import { tierOf } from '../capabilities.js'
import { InvalidKeyError } from '../errors.js'

const KEY_BYTES = 32
/** First byte of an invite: a moderated set, format 1. */
const INVITE_MODERATED = 1
const INVITE_BYTES = 1 + 2 * KEY_BYTES
/** z-base-32 characters of an invite: 104. */
export const INVITE_CHARS = Math.ceil((INVITE_BYTES * 8) / 5)
const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]+$/
const SET_DOMAIN = Buffer.from('multifeed/moderated-set/1')

export interface ModeratedSetId {
  /** The founder identity's public key. */
  founder: Buffer
  /** The set's 32-byte secret: whoever holds it is a member. */
  secret: Buffer
  /** The set's key (`multi.key`): derived from both, one way. */
  key: Buffer
}

/** The key of the moderated set of `founder` and `secret`. */
export function moderatedSetKey(founder: Buffer, secret: Buffer): Buffer {
  const key = Buffer.alloc(KEY_BYTES)
  sodium.crypto_generichash_batch(key, [founder, secret], SET_DOMAIN)
  return key
}

/** A new moderated set founded by the identity `founder` (its public key). */
export function createModeratedSet(
  founder: Buffer,
  random: (bytes: number) => Buffer = crypto.randomBytes
): ModeratedSetId {
  if (founder.byteLength !== KEY_BYTES) {
    throw new InvalidKeyError(`founder must be ${KEY_BYTES} bytes, got ${founder.byteLength}`)
  }
  for (;;) {
    const secret = random(KEY_BYTES)
    const key = moderatedSetKey(founder, secret)
    // Never a key that reads as an encrypted set's (2^-64: a second draw).
    if (tierOf(key) === 'plain') return { founder, secret, key }
  }
}

/** The invite a member pastes: z-base-32 of `1 ‖ founder ‖ secret`. */
export function formatInvite(id: ModeratedSetId): string {
  return z32.encode(Buffer.concat([Buffer.from([INVITE_MODERATED]), id.founder, id.secret]))
}

/** Parses an invite (throws `ERR_INVALID_KEY` saying what was wrong); derives the key. */
export function parseInvite(input: string): ModeratedSetId {
  if (typeof input !== 'string' || input.length !== INVITE_CHARS || !Z32.test(input)) {
    throw new InvalidKeyError(
      `an invite is ${INVITE_CHARS} z-base-32 characters, got ${describe(input)}`
    )
  }
  const bytes = z32.decode(input)
  if (bytes.byteLength !== INVITE_BYTES || bytes[0] !== INVITE_MODERATED) {
    throw new InvalidKeyError(`unknown invite format ${bytes[0]}`)
  }
  const founder = Buffer.from(bytes.subarray(1, 1 + KEY_BYTES))
  const secret = Buffer.from(bytes.subarray(1 + KEY_BYTES))
  const key = moderatedSetKey(founder, secret)
  if (tierOf(key) !== 'plain') {
    throw new InvalidKeyError('this invite derives a key that reads as an encrypted set’s: refused')
  }
  return { founder, secret, key }
}

/** True when `input` has an invite's shape (a string of its length): `parseInvite` says the rest. */
export function looksLikeInvite(input: unknown): input is string {
  return typeof input === 'string' && input.length === INVITE_CHARS
}

function describe(input: unknown): string {
  if (typeof input !== 'string') return typeof input
  return Z32.test(input) ? `${input.length}` : 'characters outside z-base-32'
}
