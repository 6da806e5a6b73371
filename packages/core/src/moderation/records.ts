/**
 * Moderation records and their one wire form (compact-encoding):
 *
 *   version uint | type uint | signer fixed32 | time uint | deps uint n, fixed32 × n |
 *   body | signature fixed64
 *
 * with the body by type: grant/revoke `target`; block `kind uint8, target,
 * reason string`; unblock `kind uint8, target`; bind `feed, feedSigner,
 * feedSignature fixed64`. `deps` are the ids of the records the signer held
 * (its causal past), strictly ascending; a bind names none. A record decodes only from its
 * canonical bytes (decoded and encoded again, it gives the same bytes), so
 * one content has one id; anything else is `ERR_MALFORMED_MESSAGE`.
 */
import type { EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { MalformedMessageError } from '../errors.js'

export const RECORD_VERSION = 1
export const KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
/** Most records a record names as its causal past. */
export const MAX_DEPS = 16
/** Longest reason of a block, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 280
/** Longest record on the wire. */
export const MAX_RECORD_BYTES = 1024

const TYPES = ['grant', 'revoke', 'block', 'unblock', 'bind'] as const
export type RecordType = (typeof TYPES)[number]
const KINDS = ['feed', 'identity'] as const
/** What a block names: one feed, or an identity (every feed bound to it, now and later). */
export type TargetKind = (typeof KINDS)[number]

export type RecordBody =
  /** The founder makes `target` (an identity) a moderator. */
  | { type: 'grant'; target: Buffer }
  /** The founder takes the moderator right from `target`. */
  | { type: 'revoke'; target: Buffer }
  | { type: 'block'; kind: TargetKind; target: Buffer; reason: string }
  /** Lifts the blocks of `target` that the signer had seen. */
  | { type: 'unblock'; kind: TargetKind; target: Buffer }
  /** The signer (an identity) owns `feed`; the feed's signing key agrees. */
  | { type: 'bind'; feed: Buffer; feedSigner: Buffer; feedSignature: Buffer }

export type UnsignedRecord = RecordBody & {
  /** The identity that signs the record. */
  signer: Buffer
  /** Milliseconds since the epoch, as the signer claims it: shown, never used to order. */
  time: number
  /** Ids of the records the signer held, strictly ascending (see `sortDeps`). */
  deps: Buffer[]
}

export type SignedRecord = UnsignedRecord & { signature: Buffer }

/** The bytes a signer signs (after its domain and the set key): the record without its signature. */
export function encodeUnsigned(record: UnsignedRecord): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  preencode(state, record)
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  encode(state, record)
  return buffer
}

/** The record's wire form. */
export function encodeRecord(record: SignedRecord): Buffer {
  return Buffer.concat([encodeUnsigned(record), record.signature])
}

/** Decodes a record's wire form; throws `MalformedMessageError` on anything not canonical. */
export function decodeRecord(bytes: Buffer): SignedRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new MalformedMessageError(
      `A moderation record is at most ${MAX_RECORD_BYTES} bytes, got ${bytes.byteLength}`
    )
  }
  let record: SignedRecord
  try {
    const state: State = { start: 0, end: bytes.byteLength, buffer: bytes }
    record = decode(state)
    if (state.start !== state.end) throw new Error(`${state.end - state.start} trailing bytes`)
  } catch (err) {
    if (err instanceof MalformedMessageError) throw err
    throw new MalformedMessageError(
      `A moderation record does not decode: ${(err as Error).message}`,
      { cause: err }
    )
  }
  if (!encodeRecord(record).equals(bytes)) {
    throw new MalformedMessageError('A moderation record is not in canonical form')
  }
  return record
}

/** `deps` as a record names them: unique, ascending. */
export function sortDeps(deps: Buffer[]): Buffer[] {
  const unique = new Map(deps.map((id) => [id.toString('hex'), id]))
  return [...unique.keys()].sort().map((hex) => unique.get(hex)!)
}

function preencode(state: State, record: UnsignedRecord): void {
  c.uint.preencode(state, RECORD_VERSION)
  c.uint.preencode(state, TYPES.indexOf(record.type))
  state.end += KEY_BYTES
  c.uint.preencode(state, record.time)
  c.uint.preencode(state, record.deps.length)
  state.end += record.deps.length * KEY_BYTES
  switch (record.type) {
    case 'grant':
    case 'revoke':
      state.end += KEY_BYTES
      break
    case 'block':
      state.end += 1 + KEY_BYTES
      c.string.preencode(state, record.reason)
      break
    case 'unblock':
      state.end += 1 + KEY_BYTES
      break
    case 'bind':
      state.end += 2 * KEY_BYTES + SIGNATURE_BYTES
      break
  }
}

function encode(state: State, record: UnsignedRecord): void {
  c.uint.encode(state, RECORD_VERSION)
  c.uint.encode(state, TYPES.indexOf(record.type))
  c.fixed32.encode(state, record.signer)
  c.uint.encode(state, record.time)
  c.uint.encode(state, record.deps.length)
  for (const id of record.deps) c.fixed32.encode(state, id)
  switch (record.type) {
    case 'grant':
    case 'revoke':
      c.fixed32.encode(state, record.target)
      break
    case 'block':
      c.uint8.encode(state, KINDS.indexOf(record.kind))
      c.fixed32.encode(state, record.target)
      c.string.encode(state, record.reason)
      break
    case 'unblock':
      c.uint8.encode(state, KINDS.indexOf(record.kind))
      c.fixed32.encode(state, record.target)
      break
    case 'bind':
      c.fixed32.encode(state, record.feed)
      c.fixed32.encode(state, record.feedSigner)
      c.fixed64.encode(state, record.feedSignature)
      break
  }
}

function decode(state: State): SignedRecord {
  const version = c.uint.decode(state)
  if (version !== RECORD_VERSION)
    throw new MalformedMessageError(`Unknown record version ${version}`)
  const type = TYPES[c.uint.decode(state)]
  if (type === undefined) throw new MalformedMessageError('Unknown moderation record type')
  const signer = copy(c.fixed32.decode(state))
  const time = c.uint.decode(state)
  const count = c.uint.decode(state)
  if (count > MAX_DEPS) {
    throw new MalformedMessageError(`A record names at most ${MAX_DEPS} deps, got ${count}`)
  }
  const deps: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const id = copy(c.fixed32.decode(state))
    if (i > 0 && Buffer.compare(deps[i - 1]!, id) >= 0) {
      throw new MalformedMessageError('The deps of a record must be strictly ascending')
    }
    deps.push(id)
  }
  const head = { signer, time, deps }
  let body: RecordBody
  switch (type) {
    case 'grant':
    case 'revoke':
      body = { type, target: copy(c.fixed32.decode(state)) }
      break
    case 'block': {
      const kind = decodeKind(state)
      const target = copy(c.fixed32.decode(state))
      const reason = c.string.decode(state)
      if (Buffer.byteLength(reason) > MAX_REASON_BYTES) {
        throw new MalformedMessageError(`A block's reason is at most ${MAX_REASON_BYTES} bytes`)
      }
      body = { type, kind, target, reason }
      break
    }
    case 'unblock':
      body = { type, kind: decodeKind(state), target: copy(c.fixed32.decode(state)) }
      break
    case 'bind':
      // A bind is no act of authority: outside the causal graph, it names no past.
      if (deps.length > 0) throw new MalformedMessageError('A bind record names no deps')
      body = {
        type,
        feed: copy(c.fixed32.decode(state)),
        feedSigner: copy(c.fixed32.decode(state)),
        feedSignature: copy(c.fixed64.decode(state))
      }
      break
  }
  return { ...head, ...body, signature: copy(c.fixed64.decode(state)) }
}

function decodeKind(state: State): TargetKind {
  const kind = KINDS[c.uint8.decode(state)]
  if (kind === undefined) throw new MalformedMessageError('Unknown kind of block target')
  return kind
}

/** Records outlive the message they came in: their keys are copies, not views of it. */
function copy(view: Buffer): Buffer {
  return Buffer.from(view)
}
