/**
 * The options of each public call of a multifeed besides `open()`
 * (lifecycle/options.ts), checked at the call: an unknown key or a value of
 * the wrong type is an `ERR_INVALID_ARGUMENT` naming the option (strict.ts).
 */
import type { ValueEncoding } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'
import type { WriterOptions } from '../types.js'
import {
  encodingName,
  knownOptions,
  optionalBoolean,
  optionalSignal,
  optionalTimeout
} from './strict.js'

/**
 * `writer(name, options)`. A set has one value encoding, given to `open()`:
 * a writer of another encoding would append blocks the set's readers (and
 * every peer) decode with the set's, so `valueEncoding` is refused here.
 */
export function writerOptions(
  options: unknown,
  setEncoding: ValueEncoding | undefined
): WriterOptions {
  const call = 'writer()'
  const o = knownOptions(options, call, ['keyPair', 'valueEncoding'])
  if (o.valueEncoding !== undefined) {
    throw new InvalidArgumentError(
      `${call}: valueEncoding is the set's, given to Multifeed.open() (this set's: ${encodingName(setEncoding)}); a writer cannot have its own`
    )
  }
  if (o.keyPair !== undefined) {
    const kp = o.keyPair as { publicKey?: unknown; secretKey?: unknown } | null
    if (
      typeof kp !== 'object' ||
      kp === null ||
      !isBytes(kp.publicKey, 32) ||
      (kp.secretKey !== undefined && kp.secretKey !== null && !isBytes(kp.secretKey, 64))
    ) {
      throw new InvalidArgumentError(
        `${call}: keyPair must be { publicKey: 32 bytes, secretKey: 64 bytes }`
      )
    }
  }
  return o as WriterOptions
}

/** `synced(options)`: which peer (checked by the multifeed), how many peers to wait for, the bounds of the wait. */
export function syncedOptions(options: unknown): void {
  waitOptions(options, 'synced()', ['peer', 'minPeers', 'timeout', 'signal'])
}

/** `downloaded(options)`: how many peers to wait for, the bounds of the wait. */
export function downloadedOptions(options: unknown): void {
  waitOptions(options, 'downloaded()', ['minPeers', 'timeout', 'signal'])
}

function waitOptions(options: unknown, call: string, accepted: string[]): void {
  const o = knownOptions(options, call, accepted)
  optionalTimeout(o.timeout, call)
  optionalSignal(o.signal, call)
  if (o.minPeers !== undefined && (!Number.isInteger(o.minPeers) || (o.minPeers as number) < 0)) {
    throw new InvalidArgumentError(`${call}: minPeers must be an integer ≥ 0`)
  }
}

/** `read(options)`: live, where to resume, when to stop. */
export function readOptions(options: unknown): void {
  const call = 'read()'
  const o = knownOptions(options, call, ['live', 'since', 'signal'])
  optionalBoolean(o.live, call, 'live')
  optionalSignal(o.signal, call)
  if (o.since !== undefined) {
    const since = o.since
    const entries =
      since instanceof Map
        ? [...since.entries()]
        : typeof since === 'object' && since !== null && !Array.isArray(since)
          ? Object.entries(since)
          : null
    if (entries === null) {
      throw new InvalidArgumentError(
        `${call}: since must be an object or a Map (hex key → next block)`
      )
    }
    for (const [key, next] of entries) {
      if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) {
        throw new InvalidArgumentError(
          `${call}: since is keyed by a feed's key in lowercase hex (64 characters), not '${String(key).slice(0, 70)}'`
        )
      }
      if (!Number.isSafeInteger(next) || (next as number) < 0) {
        throw new InvalidArgumentError(
          `${call}: since maps a feed to the next block, an integer >= 0`
        )
      }
    }
  }
}

/** `remove(key, options)`. */
export function removeOptions(options: unknown): void {
  const call = 'remove()'
  const o = knownOptions(options, call, ['block', 'force'])
  optionalBoolean(o.block, call, 'block')
  optionalBoolean(o.force, call, 'force')
}

function isBytes(value: unknown, length: number): boolean {
  return value instanceof Uint8Array && value.byteLength === length
}
