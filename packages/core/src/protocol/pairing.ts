/**
 * The secrets a connection derives from a multifeed key. Each is a keyed
 * BLAKE2b hash under the multifeed key over the connection's Noise handshake
 * hash, so it proves knowledge of the key on this connection only: it cannot
 * be replayed on another connection nor linked to the same multifeed there.
 *
 * - a pairing token, 16 bytes, one per role: what a peer announces for every
 *   multifeed it carries on the connection. A peer without the key sees
 *   random bytes, and cannot reflect our token back (the roles differ);
 * - the channel id, 16 bytes, the same on both sides: the Protomux id of the
 *   multifeed's channel once both announced matching tokens;
 * - a capability, 16 bytes, one per role, in the channel's open message;
 * - the set proof: our set digest bound to the connection;
 * - a state hint, 4 bytes: the set proofs (feeds', and a moderated set's
 *   records') hashed and cut short, sent with the pairing token so that the
 *   remote knows before its open whether ours will differ (minor 6).
 *
 * The set salt and the symbol salt derive from the key alone: they are
 * stable for the life of the set (see `setSalt`, `symbolSalt`).
 */
import sodium from 'sodium-universal'

/** Bytes of a pairing token, a channel id, a capability and a set proof. */
export const SECRET_BYTES = 16

const TOKEN = [
  Buffer.from('multifeed/2 token responder'),
  Buffer.from('multifeed/2 token initiator')
]
const CAPABILITY = [
  Buffer.from('multifeed/2 capability responder'),
  Buffer.from('multifeed/2 capability initiator')
]
const CHANNEL = Buffer.from('multifeed/2 channel')
const SET_PROOF = Buffer.from('multifeed/2 set proof')
const SET_SALT = Buffer.from('multifeed/2 set salt')
const SYMBOL_SALT = Buffer.from('multifeed/2 symbol salt')
const RECORDS = Buffer.from('multifeed/2 moderation records')
const STATE_HINT = Buffer.from('multifeed/2 state hint')

function keyed(key: Buffer, parts: Buffer[], bytes = SECRET_BYTES): Buffer {
  const out = Buffer.allocUnsafe(bytes)
  sodium.crypto_generichash_batch(out, parts, key)
  return out
}

/** The token the peer in `isInitiator`'s role announces for the multifeed `key`. */
export function pairingToken(key: Buffer, handshakeHash: Buffer, isInitiator: boolean): Buffer {
  return keyed(key, [TOKEN[isInitiator ? 1 : 0]!, handshakeHash])
}

/** The Protomux channel id of the multifeed `key` on this connection (same on both sides). */
export function channelId(key: Buffer, handshakeHash: Buffer): Buffer {
  return keyed(key, [CHANNEL, handshakeHash])
}

/** Proof that the sender, in role `isInitiator`, knows the multifeed key. */
export function capability(key: Buffer, handshakeHash: Buffer, isInitiator: boolean): Buffer {
  return keyed(key, [CAPABILITY[isInitiator ? 1 : 0]!, handshakeHash])
}

/** The set digest bound to this connection: equal proofs ⇔ equal sets (both sides hold the key). */
export function setProof(key: Buffer, handshakeHash: Buffer, digest: Buffer): Buffer {
  return keyed(key, [SET_PROOF, handshakeHash, digest])
}

/** Bytes of a state hint (`stateHint`): enough that equal hints of differing sets are rare (2⁻³²). */
export const HINT_BYTES = 4
/** The widest state hint a Tokens message may carry (room for a later, longer one). */
export const MAX_HINT_BYTES = 16

/**
 * The state hint of a set on this connection, from its set proof and a
 * moderated set's records proof (both already bound to the connection and
 * keyed by the set's key): equal sets give equal hints. Only ever a hint:
 * the opens' proofs decide, so a collision costs a round trip, never a
 * difference.
 */
export function stateHint(proof: Buffer, recordsProof?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(SECRET_BYTES)
  sodium.crypto_generichash_batch(
    out,
    recordsProof === undefined ? [STATE_HINT, proof] : [STATE_HINT, proof, recordsProof]
  )
  return out.subarray(0, HINT_BYTES)
}

/**
 * The salt of the set's digest and difference sketch: stable for the life
 * of the multifeed (both are maintained incrementally), secret to key holders.
 */
export function setSalt(key: Buffer): Buffer {
  return keyed(key, [SET_SALT])
}

/**
 * The salt of the first coded symbols, derived from the set salt: stable
 * too, so that the set keeps those symbols up to date (SymbolWindow), and
 * secret to key holders. Not the set salt itself: the sketch's signs and the
 * symbols' index sequences then come from unrelated hashes (notes/riblt.md).
 */
export function symbolSalt(key: Buffer): Buffer {
  return symbolSaltOf(setSalt(key))
}

/** The salt of the coded symbols past the window (ReconcileCodec.ts): fresh per connection. */
export function connectionSymbolSalt(key: Buffer, handshakeHash: Buffer): Buffer {
  return keyed(key, [SYMBOL_SALT, handshakeHash])
}

/** Both salts of a reconciliation on this connection. */
export function symbolSalts(
  key: Buffer,
  handshakeHash: Buffer
): { stable: Buffer; connection: Buffer } {
  return { stable: symbolSalt(key), connection: connectionSymbolSalt(key, handshakeHash) }
}

/** `symbolSalt` from the set salt (what a FeedSet holds). */
export function symbolSaltOf(salt: Buffer): Buffer {
  return keyed(salt, [SYMBOL_SALT])
}

/**
 * What a moderated set's records are reconciled under (32 bytes, from the
 * key alone): their set proof, salts and symbols derive from it as the
 * feeds' do from the key, so the two reconciliations never share a hash.
 */
export function recordsKey(key: Buffer): Buffer {
  return keyed(key, [RECORDS], 32)
}

/** Constant-time comparison. */
export function secretsEqual(a: Buffer, b: Buffer): boolean {
  return a.byteLength === b.byteLength && sodium.sodium_memcmp(a, b)
}
