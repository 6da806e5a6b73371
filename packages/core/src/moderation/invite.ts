/**
 * The id of a moderated set binds its founder: the set's key is a keyed
 * hash of the founder's public key and the set's secret, and the invite a
 * member pastes carries both. Whoever holds the invite can join but cannot
 * act as founder (its records must verify under `founder`), and an invite
 * naming another founder derives another key: another set.
 */
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import z32 from 'z32'
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
export function createModeratedSet(founder: Buffer): ModeratedSetId {
  if (founder.byteLength !== KEY_BYTES) {
    throw new InvalidKeyError(`founder must be ${KEY_BYTES} bytes, got ${founder.byteLength}`)
  }
  const secret = crypto.randomBytes(KEY_BYTES)
  return { founder, secret, key: moderatedSetKey(founder, secret) }
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
  return { founder, secret, key: moderatedSetKey(founder, secret) }
}

function describe(input: unknown): string {
  if (typeof input !== 'string') return typeof input
  return Z32.test(input) ? `${input.length}` : 'characters outside z-base-32'
}
