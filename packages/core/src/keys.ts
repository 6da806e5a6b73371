import z32 from 'z32'
import { InvalidKeyError } from './errors.js'
import type { KeyLike } from './types.js'

const KEY_BYTES = 32
const HEX = /^[0-9a-fA-F]{64}$/
const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/

/**
 * Parses a 32-byte key given as bytes, 64 hex characters or 52 z-base-32
 * characters. Anything else throws `ERR_INVALID_KEY` naming what was wrong,
 * so a typo never silently becomes another key.
 */
export function parseKey(input: unknown, what = 'key'): Buffer {
  if (input instanceof Uint8Array) {
    if (input.byteLength !== KEY_BYTES) {
      throw new InvalidKeyError(`${what} must be ${KEY_BYTES} bytes, got ${input.byteLength}`)
    }
    return Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  }
  if (typeof input === 'string') {
    if (HEX.test(input)) return Buffer.from(input, 'hex')
    if (Z32.test(input)) return z32.decode(input)
    throw new InvalidKeyError(
      `${what} must be 64 hex or 52 z-base-32 characters, got a string of ${input.length}`
    )
  }
  throw new InvalidKeyError(`${what} must be a Buffer, a Uint8Array or a string`)
}

/** The key as a map key (lower-case hex). */
export function keyId(key: KeyLike): string {
  return (typeof key === 'string' ? parseKey(key) : Buffer.from(key)).toString('hex')
}

/** z-base-32, the form users copy and paste. */
export function formatKey(key: Buffer): string {
  return z32.encode(key)
}
