/**
 * The multifeed wire protocol, version 1. Every message is compact-encoding.
 * Fields are only ever appended: a decoder reads what it knows and ignores
 * trailing bytes, and Protomux ignores message types it does not know, so a
 * minor version can add both without breaking older peers.
 *
 * Peer input is decoded here and only here, inside try/catch, into typed
 * values or a `MalformedMessageError` / `LimitExceededError`: nothing a peer
 * sends can throw inside a Protomux handler (that would destroy the stream).
 */
import c, { type State } from 'compact-encoding'
import { LimitExceededError, MalformedMessageError } from '../errors.js'

/** Major version: part of the channel's protocol name, and checked in the handshake. */
export const PROTOCOL_MAJOR = 1
/** Minor version: additions only (appended fields, new message types). */
export const PROTOCOL_MINOR = 0
/** The Protomux protocol name; the channel id is the multifeed's discovery key. */
export const PROTOCOL_NAME = `multifeed/${PROTOCOL_MAJOR}`

/** Hard ceiling on keys per Feeds message, whatever the options say. */
export const MAX_KEYS_PER_MESSAGE = 8192
const KEY_BYTES = 32

/** Sent in the channel-open message. */
export interface Handshake {
  major: number
  minor: number
  /** Keyed hash of the Noise handshake hash under the multifeed key: proves the key. */
  capability: Buffer
  /** Keyed hash binding our shared-set digest to this connection: equal proofs ⇔ equal sets. */
  setProof: Buffer
  /** Most keys the sender accepts in one Feeds message. */
  maxKeysPerMessage: number
}

/** Flags of a Feeds message. */
export const FEEDS_LAST = 1

/** A batch of feed keys; `FEEDS_LAST` marks the end of the initial exchange. */
export interface Feeds {
  flags: number
  keys: Buffer[]
}

export const MESSAGE_FEEDS = 0

export function encodeHandshake(h: Handshake): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, h.major)
  c.uint.preencode(state, h.minor)
  c.fixed32.preencode(state, h.capability)
  c.fixed32.preencode(state, h.setProof)
  c.uint.preencode(state, h.maxKeysPerMessage)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint.encode(state, h.major)
  c.uint.encode(state, h.minor)
  c.fixed32.encode(state, h.capability)
  c.fixed32.encode(state, h.setProof)
  c.uint.encode(state, h.maxKeysPerMessage)
  return state.buffer
}

/** The version alone, readable whatever the rest of a (future) handshake holds. */
export function decodeVersion(raw: Buffer): { major: number; minor: number } {
  return guard('handshake', () => {
    const state = stateOf(raw)
    return { major: c.uint.decode(state), minor: c.uint.decode(state) }
  })
}

export function decodeHandshake(raw: Buffer): Handshake {
  return guard('handshake', () => {
    const state = stateOf(raw)
    const major = c.uint.decode(state)
    const minor = c.uint.decode(state)
    const capability = c.fixed32.decode(state)
    const setProof = c.fixed32.decode(state)
    const maxKeysPerMessage = c.uint.decode(state)
    if (maxKeysPerMessage < 1) throw new Error('maxKeysPerMessage must be at least 1')
    return { major, minor, capability, setProof, maxKeysPerMessage }
  })
}

export function encodeFeeds(m: Feeds): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, m.flags)
  c.uint.preencode(state, m.keys.length)
  state.end += m.keys.length * KEY_BYTES
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  c.uint.encode(state, m.flags)
  c.uint.encode(state, m.keys.length)
  for (const key of m.keys) {
    buffer.set(key, state.start)
    state.start += KEY_BYTES
  }
  return buffer
}

/**
 * Decodes a Feeds message, refusing more than `maxKeys` keys before reading
 * (or allocating for) any of them.
 */
export function decodeFeeds(raw: Buffer, maxKeys: number): Feeds {
  const { flags, count, state } = guard('Feeds message', () => {
    const state = stateOf(raw)
    const flags = c.uint.decode(state)
    const count = c.uint.decode(state)
    return { flags, count, state }
  })
  if (count > maxKeys) {
    throw new LimitExceededError(
      'maxKeysPerMessage',
      maxKeys,
      `Remote sent ${count} keys in one message; the limit is ${maxKeys}`
    )
  }
  if (state.end - state.start < count * KEY_BYTES) {
    throw new MalformedMessageError(
      `Feeds message announces ${count} keys but holds ${state.end - state.start} bytes`
    )
  }
  const keys: Buffer[] = new Array(count)
  for (let i = 0; i < count; i++) {
    // copy: the frame's buffer is a slab shared with other messages
    keys[i] = Buffer.from(raw.subarray(state.start, state.start + KEY_BYTES))
    state.start += KEY_BYTES
  }
  return { flags, keys }
}

function stateOf(raw: Buffer): State {
  return { start: 0, end: raw.byteLength, buffer: raw }
}

function guard<T>(what: string, decode: () => T): T {
  try {
    return decode()
  } catch (err) {
    throw new MalformedMessageError(`Malformed ${what}: ${(err as Error).message}`, { cause: err })
  }
}
