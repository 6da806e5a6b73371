/**
 * A peer's identity in moderated sets: an Ed25519 key pair that signs its
 * writers' bind records and, for a founder or moderator, its moderation
 * records. By default one per corestore, derived from the store's primary
 * key (the same after every re-open, never written anywhere); or given, so
 * that one person's devices share one identity.
 */
import type { Corestore, KeyPair } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { InvalidArgumentError } from '../errors.js'

const NAME = 'multifeed/identity'

/** The identity of `root` (the user's corestore, not a set's namespace), or `given` once checked. */
export async function identityOf(root: Corestore, given?: KeyPair): Promise<KeyPair> {
  if (given === undefined) return root.createKeyPair(NAME)
  const { publicKey, secretKey } = given
  const sized =
    publicKey instanceof Uint8Array &&
    secretKey instanceof Uint8Array &&
    publicKey.byteLength === 32 &&
    secretKey.byteLength === 64
  // A key pair whose halves disagree would sign records no peer accepts.
  const probe = Buffer.from(NAME)
  if (
    !sized ||
    !crypto.verify(probe, crypto.sign(probe, Buffer.from(secretKey)), Buffer.from(publicKey))
  ) {
    throw new InvalidArgumentError(
      'identity must be an Ed25519 key pair: { publicKey (32 bytes), secretKey (64 bytes) } that agree'
    )
  }
  return { publicKey: Buffer.from(publicKey), secretKey: Buffer.from(secretKey) }
}
