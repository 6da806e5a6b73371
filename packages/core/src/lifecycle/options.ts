/**
 * `Multifeed.open()`'s arguments, checked at the call: anything wrong is an
 * `ERR_INVALID_ARGUMENT` naming the option, never a failure later on.
 */
import type { Corestore, KeyPair, ValueEncoding } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'
import type { MultifeedOptions, MultifeedPolicy } from '../types.js'
import { knownOptions, optionalBoolean } from './strict.js'

const DEFAULT_MAX_FEEDS = 100_000
const DEFAULT_MAX_DIFFERENCES = 100_000
/** moderation/RecordBook.ts DEFAULT_MAX_RECORDS (lifecycle/ may not import moderation/). */
const DEFAULT_MAX_RECORDS = 100_000
const DEFAULT_IDLE_TIMEOUT = 5000
const ENCODINGS = new Set(['binary', 'utf-8', 'utf8', 'json'])
const CALL = 'Multifeed.open()'
/** The options open() accepts, and those of its nested objects. */
const OPTIONS = [
  'valueEncoding',
  'policy',
  'limits',
  'sparse',
  'idleTimeout',
  'encrypted',
  'moderated',
  'identity'
]
const POLICY = ['accept', 'share', 'moderation']
const LIMITS = ['maxFeeds', 'maxDifferences', 'maxRecords']

export interface Settings {
  valueEncoding: ValueEncoding | undefined
  sparse: boolean
  policy: MultifeedPolicy
  maxFeeds: number
  maxDifferences: number
  maxRecords: number
  idleTimeout: number
  /** As given: undefined lets the key say whether the set is encrypted (capabilities.ts). */
  encrypted: boolean | undefined
  /** As given: undefined lets the key (or the store, or an invite) say whether the set is moderated. */
  moderated: boolean | undefined
  /** The identity given for moderated sets (its halves checked at open: set/identity.ts). */
  identity: KeyPair | undefined
}

export function settingsOf(corestore: unknown, options: unknown): Settings {
  if (!isCorestore(corestore)) {
    throw new InvalidArgumentError('Multifeed.open() takes a Corestore as first argument')
  }
  const o = knownOptions(options, CALL, OPTIONS) as MultifeedOptions
  checkEncoding(o.valueEncoding)
  if (o.policy !== undefined) knownOptions(o.policy, CALL, POLICY, 'policy.')
  if (o.limits !== undefined) knownOptions(o.limits, CALL, LIMITS, 'limits.')
  optionalBoolean(o.sparse, CALL, 'sparse')
  optionalBoolean(o.encrypted, CALL, 'encrypted')
  optionalBoolean(o.moderated, CALL, 'moderated')
  checkIdentity(o.identity)
  for (const hook of ['accept', 'share', 'moderation'] as const) {
    if (o.policy?.[hook] !== undefined && typeof o.policy[hook] !== 'function') {
      throw new InvalidArgumentError(`policy.${hook} must be a function`)
    }
  }
  return {
    valueEncoding: o.valueEncoding,
    sparse: o.sparse === true,
    policy: o.policy ?? {},
    maxFeeds: integer('limits.maxFeeds', o.limits?.maxFeeds, DEFAULT_MAX_FEEDS),
    maxDifferences: integer(
      'limits.maxDifferences',
      o.limits?.maxDifferences,
      DEFAULT_MAX_DIFFERENCES
    ),
    maxRecords: integer('limits.maxRecords', o.limits?.maxRecords, DEFAULT_MAX_RECORDS),
    idleTimeout: integer('idleTimeout', o.idleTimeout, DEFAULT_IDLE_TIMEOUT),
    encrypted: o.encrypted,
    moderated: o.moderated,
    identity: o.identity
  }
}

/** `identity`'s shape (whether its halves agree is checked when a moderated set opens). */
function checkIdentity(identity: unknown): void {
  if (identity === undefined) return
  const pair = identity as { publicKey?: unknown; secretKey?: unknown } | null
  const sized = (key: unknown, bytes: number) =>
    key instanceof Uint8Array && key.byteLength === bytes
  if (
    typeof identity !== 'object' ||
    pair === null ||
    !sized(pair.publicKey, 32) ||
    !sized(pair.secretKey, 64)
  ) {
    throw new InvalidArgumentError(
      `${CALL}: identity must be an Ed25519 key pair { publicKey (32 bytes), secretKey (64 bytes) }`
    )
  }
}

function integer(label: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 32) {
    throw new InvalidArgumentError(`${label} must be an integer from 1 to ${2 ** 32}`)
  }
  return value
}

function checkEncoding(encoding: unknown): void {
  if (encoding === undefined) return
  if (typeof encoding === 'string' && ENCODINGS.has(encoding)) return
  const codec = encoding as { encode?: unknown; decode?: unknown; preencode?: unknown }
  if (
    typeof encoding === 'object' &&
    encoding !== null &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function' &&
    typeof codec.preencode === 'function'
  ) {
    return
  }
  throw new InvalidArgumentError(
    "valueEncoding must be 'binary', 'utf-8', 'json' or a compact-encoding ({ preencode, encode, decode })"
  )
}

function isCorestore(value: unknown): value is Corestore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Corestore).get === 'function' &&
    typeof (value as Corestore).namespace === 'function' &&
    typeof (value as Corestore).replicate === 'function'
  )
}
