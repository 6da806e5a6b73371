/**
 * Signing and verifying moderation records. Every signature is
 * domain-separated and bound to the set: a signer signs
 * `"multifeed/moderation/1\n" ‖ set key ‖ the record without its signature`,
 * and the feed half of a bind signs `"multifeed/bind-feed/1\n" ‖ set key ‖
 * identity ‖ feed`. A record of another set, or of another kind of message,
 * does not verify here. A record's id is the BLAKE2b-256 of its bytes.
 *
 * Verification never throws on a peer's bytes: it says why a record is
 * refused (`malformed`, `signature`, `feed-key`), so a caller can count it.
 */
import type { KeyPair } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { InvalidArgumentError, type MalformedMessageError } from '../errors.js'
import {
  decodeRecord,
  encodeUnsigned,
  KEY_BYTES,
  type RecordBody,
  type SignedRecord,
  sortDeps,
  type UnsignedRecord
} from './records.js'

const RECORD_DOMAIN = Buffer.from('multifeed/moderation/1\n')
const BIND_FEED_DOMAIN = Buffer.from('multifeed/bind-feed/1\n')

/** A record that verified: its content, its bytes and its id. */
export interface VerifiedRecord {
  readonly record: SignedRecord
  readonly bytes: Buffer
  /** BLAKE2b-256 of `bytes`. */
  readonly id: Buffer
  /** `id` in hex: the record's map key. */
  readonly hex: string
}

/** Why a record's bytes were refused before any rule looked at them. */
export type VerifyRefusal = 'malformed' | 'signature' | 'feed-key'

export type Verdict =
  | { ok: true; record: VerifiedRecord }
  | { ok: false; reason: VerifyRefusal; error?: MalformedMessageError }

/** Verifies a record received for the set `setKey`. */
export function verifyRecord(setKey: Buffer, bytes: Buffer): Verdict {
  let record: SignedRecord
  try {
    record = decodeRecord(bytes)
  } catch (err) {
    return { ok: false, reason: 'malformed', error: err as MalformedMessageError }
  }
  const message = Buffer.concat([
    RECORD_DOMAIN,
    setKey,
    bytes.subarray(0, -record.signature.length)
  ])
  if (!crypto.verify(message, record.signature, record.signer)) {
    return { ok: false, reason: 'signature' }
  }
  if (record.type === 'bind') {
    if (
      !feedKeyOf(record.feedSigner).equals(record.feed) &&
      !record.feedSigner.equals(record.feed)
    ) {
      return { ok: false, reason: 'feed-key' }
    }
    const feedMessage = bindFeedMessage(setKey, record.signer, record.feed)
    if (!crypto.verify(feedMessage, record.feedSignature, record.feedSigner)) {
      return { ok: false, reason: 'signature' }
    }
  }
  return { ok: true, record: verified(record, Buffer.from(bytes)) }
}

export interface SignOptions {
  /** The records the signer holds that this one follows (its heads); default none. */
  deps?: Buffer[]
  /** Default: now. */
  time?: number
}

/**
 * Signs a grant, revoke, block or unblock with the identity `signer`.
 * Throws `ERR_INVALID_ARGUMENT` for a record peers would refuse (a reason too
 * long, too many deps, a key of the wrong size).
 */
export function signRecord(
  setKey: Buffer,
  signer: KeyPair,
  body: Exclude<RecordBody, { type: 'bind' }>,
  options: SignOptions = {}
): VerifiedRecord {
  return sign(setKey, signer, body, options)
}

/**
 * The bind record of a feed to the identity `identity`: signed by the feed's
 * key pair (`feed.keyPair`, the core's signer) and by the identity.
 */
export function bindFeed(
  setKey: Buffer,
  identity: KeyPair,
  feed: { key: Buffer; keyPair: KeyPair },
  options: { time?: number } = {}
): VerifiedRecord {
  const feedSignature = crypto.sign(
    bindFeedMessage(setKey, identity.publicKey, feed.key),
    feed.keyPair.secretKey
  )
  return sign(
    setKey,
    identity,
    { type: 'bind', feed: feed.key, feedSigner: feed.keyPair.publicKey, feedSignature },
    { time: options.time }
  )
}

/** The id of a record's bytes. */
export function recordId(bytes: Buffer): Buffer {
  return crypto.hash(bytes)
}

function sign(
  setKey: Buffer,
  signer: KeyPair,
  body: RecordBody,
  options: SignOptions
): VerifiedRecord {
  checkKeys(signer, body)
  const unsigned = {
    ...body,
    signer: signer.publicKey,
    time: options.time ?? Date.now(),
    deps: sortDeps(options.deps ?? [])
  } as UnsignedRecord
  const signable = encodeUnsigned(unsigned)
  const signature = crypto.sign(Buffer.concat([RECORD_DOMAIN, setKey, signable]), signer.secretKey)
  const bytes = Buffer.concat([signable, signature])
  try {
    // What peers would refuse is refused here, with the reason.
    return verified(decodeRecord(bytes), bytes)
  } catch (err) {
    throw new InvalidArgumentError(`Not a valid moderation record: ${(err as Error).message}`, {
      cause: err
    })
  }
}

function checkKeys(signer: KeyPair, body: RecordBody): void {
  const keys: Array<[string, Buffer, number]> = [
    ['signer.publicKey', signer.publicKey, KEY_BYTES],
    ['signer.secretKey', signer.secretKey, 2 * KEY_BYTES]
  ]
  if (body.type === 'bind') keys.push(['feed', body.feed, KEY_BYTES])
  else keys.push(['target', body.target, KEY_BYTES])
  for (const [what, key, bytes] of keys) {
    if (!(key instanceof Uint8Array) || key.byteLength !== bytes) {
      throw new InvalidArgumentError(`${what} must be ${bytes} bytes`)
    }
  }
}

function verified(record: SignedRecord, bytes: Buffer): VerifiedRecord {
  const id = recordId(bytes)
  return { record, bytes, id, hex: id.toString('hex') }
}

function bindFeedMessage(setKey: Buffer, identity: Buffer, feed: Buffer): Buffer {
  return Buffer.concat([BIND_FEED_DOMAIN, setKey, identity, feed])
}

/** The key of a core whose manifest has one signer, `publicKey` (hypercore 11's default). */
function feedKeyOf(publicKey: Buffer): Buffer {
  return publicKey.byteLength === KEY_BYTES ? Hypercore.key(publicKey) : Buffer.alloc(0)
}
