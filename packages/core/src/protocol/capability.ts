/**
 * The proofs exchanged in the handshake. Both are keyed BLAKE2b-256 hashes
 * bound to the Noise handshake hash of the stream, so they prove knowledge
 * of a secret on this connection only and cannot be replayed on another.
 */
import sodium from 'sodium-universal'

const CAP_INITIATOR = Buffer.from('multifeed/1 capability initiator')
const CAP_RESPONDER = Buffer.from('multifeed/1 capability responder')
const SET_PROOF = Buffer.from('multifeed/1 set proof')

/**
 * Proof that the sender knows the multifeed key. Distinct for the initiator
 * and the responder, so a peer cannot reflect our own proof back at us.
 */
export function capability(key: Buffer, handshakeHash: Buffer, isInitiator: boolean): Buffer {
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_generichash_batch(
    out,
    [isInitiator ? CAP_INITIATOR : CAP_RESPONDER, handshakeHash],
    key
  )
  return out
}

/**
 * The set digest, bound to this connection and keyed by the multifeed key:
 * two peers compare proofs to learn whether their feed sets are equal, and a
 * party without the key learns nothing about the set.
 */
export function setProof(key: Buffer, handshakeHash: Buffer, setDigest: Buffer): Buffer {
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_generichash_batch(out, [SET_PROOF, handshakeHash, setDigest], key)
  return out
}

/** Constant-time comparison of two proofs. */
export function proofsEqual(a: Buffer, b: Buffer): boolean {
  return a.byteLength === b.byteLength && sodium.sodium_memcmp(a, b)
}
