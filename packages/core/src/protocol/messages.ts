/**
 * The multifeed wire protocol, version 2. Every message is compact-encoding.
 * Fields are only ever appended: a decoder reads what it knows and ignores
 * trailing bytes, and Protomux ignores message types it does not know, so a
 * minor version can add both without breaking older peers.
 *
 * Two kinds of Protomux channel, both named with the major version:
 * - `multifeed/2/pair`, one per connection: each side announces a 16-byte
 *   pairing token per multifeed it carries (see pairing.ts);
 * - `multifeed/2`, one per multifeed both sides carry, id = the channel id
 *   derived from the key and the connection: reconciliation and live updates.
 *
 * Peer input is decoded here and only here, into typed values or a
 * `MalformedMessageError` / `LimitExceededError`: nothing a peer sends can
 * throw inside a Protomux handler (that would destroy the whole stream).
 */
import type { EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { LimitExceededError, MalformedMessageError } from '../errors.js'
import { ELEMENT_BYTES } from './elements.js'
import { MAX_HINT_BYTES, SECRET_BYTES } from './pairing.js'
import { type CodedSymbol, codedSymbolEncoding } from './riblt.js'

export const PROTOCOL_MAJOR = 2
/** Minor 1: list mode (protocol/list.ts). Minor 2: the END flag of a Tokens message. */
export const PROTOCOL_MINOR = 2
/**
 * Minor 4, announced by an encrypted set's channel only (a plain set's open
 * is unchanged): its Elements carry each feed's admission tag, and a DONE
 * naming length 0 after coded symbols is answered with ELEMENTS_TAGS
 * (set/AdmissionTags.ts, notes/admission-tags.md).
 */
export const TAGS_MINOR = 4

/**
 * Minor 5, announced by a moderated encrypted set's channel only: minor 3's
 * records (summary in the open, the record messages) and minor 4's tagged
 * Elements, together. Its pairing key binds the founder (capabilities.ts),
 * so no peer of another set type pairs with it; plain (2), moderated (3)
 * and encrypted (4) channels are unchanged, byte for byte.
 */
export const MODERATED_TAGS_MINOR = 5

/**
 * Minor 6, announced by the pairing channel's open (each set's channel keeps
 * announcing its type's minor, 2–5, as before): state hints and deferred
 * sketches. Each Tokens message carries, after its flags, a 4-byte state
 * hint per token (pairing.ts `stateHint`: the set's proofs, cut short). To
 * a peer whose pairing open announced minor ≥ 6 and whose hint for the set
 * equals ours, a channel's open carries no sketch (0 counters, and 0 for a
 * moderated set's records summary too); otherwise its sketches, as before.
 * After both opens, a side whose open deferred sends one SKETCHES message
 * only when a set proof differs all the same (a set that changed between its
 * token and its open): the sketch of each summary whose proof differs. An
 * in-sync reconnect then costs the opens alone, and a set that differs no
 * more round trips than before minor 6. A peer of an older pairing minor
 * gets (and must send) every sketch in the open, as before.
 */
export const DEFERRED_SKETCH_MINOR = 6
/** The minor the pairing channel's open announces (what this library speaks). */
export const PAIRING_MINOR = DEFERRED_SKETCH_MINOR

/**
 * The minor a set's channel announces: PROTOCOL_MINOR for a plain set's,
 * TAGS_MINOR for an encrypted set's, MODERATION_MINOR for a moderated
 * set's, MODERATED_TAGS_MINOR for a moderated encrypted set's.
 */
export function minorOf(tagged: boolean, moderated = false): number {
  if (moderated) return tagged ? MODERATED_TAGS_MINOR : MODERATION_MINOR
  return tagged ? Math.max(PROTOCOL_MINOR, TAGS_MINOR) : PROTOCOL_MINOR
}

/**
 * Minor 3, a moderated set's channels only: the records summary appended to
 * the open message, and the record messages (record-symbols, record-more,
 * record-elements, records). Plain and encrypted sets still open in minor 2,
 * byte for byte as before.
 */
export const MODERATION_MINOR = 3
/** Protocol of a multifeed's channel (id = its channel id on the connection). */
export const PROTOCOL_NAME = `multifeed/${PROTOCOL_MAJOR}`
/** Protocol of the one pairing channel per connection (no id). */
export const PAIRING_PROTOCOL = `multifeed/${PROTOCOL_MAJOR}/pair`

/** Most tokens in one Tokens message; a connection announces at most MAX_REMOTE_TOKENS. */
export const MAX_TOKENS_PER_MESSAGE = 1024
export const MAX_REMOTE_TOKENS = 16384
/** Most elements (feed key + length) in one Elements message. */
export const MAX_ELEMENTS_PER_MESSAGE = 4096
/** Most coded symbols in one Symbols message, and in one reconciliation. */
export const MAX_SYMBOLS_PER_MESSAGE = 4096
export const MAX_SYMBOLS = 1 << 20
/** Counters of the difference sketch in the Open message. */
export const MAX_SKETCH_COUNTERS = 256
/** Most moderation records in one Records message. */
export const MAX_RECORDS_PER_MESSAGE = 64
/** Most bytes of one moderation record (moderation/records.ts MAX_RECORD_BYTES). */
export const MAX_RECORD_WIRE_BYTES = 1024

const KEY_BYTES = 32
/** Bytes of a feed's admission tag (an encrypted set's; all zero on the wire: none). */
export const TAG_BYTES = 16
const NO_TAG = Buffer.alloc(TAG_BYTES)
const SYMBOL = codedSymbolEncoding(ELEMENT_BYTES)

/** Flag of an Elements message: the reconciliation is complete (sent once, last). */
export const ELEMENTS_DONE = 1
/** Flags of an Elements message (minor 1): part of the initiator's list, and its last part. */
export const ELEMENTS_LIST = 2
export const ELEMENTS_LIST_END = 4
/**
 * Flag of an Elements message (minor 4, encrypted sets): the initiator's
 * answer to a DONE that named length 0 of feeds after coded symbols (the
 * responder decoded their keys, not their tags): those feeds with their tags.
 */
export const ELEMENTS_TAGS = 8

export interface PairingOpen {
  major: number
  minor: number
}

export interface Tokens {
  tokens: Buffer[]
  /** TOKENS_END or 0 (minor 2; absent from an older peer's message: 0). */
  flags?: number
  /**
   * The state hint of each token's set (minor 6, pairing.ts `stateHint`), all
   * of one width, in the tokens' order (all zero: none for that token);
   * empty (nothing appended): none.
   */
  hints?: Buffer[]
}

/**
 * Flag of a Tokens message (minor 2): with this message the sender has
 * announced every multifeed it carries on the connection as of now (sent on
 * the last message of each batch, alone and empty when it carries none).
 */
export const TOKENS_END = 1

/** The open message of a multifeed's channel. */
export interface Open {
  major: number
  minor: number
  /** Proves the multifeed key on this connection (role-specific). */
  capability: Buffer
  /** The sender's shared-set digest bound to the connection: equal ⇔ in sync. */
  setProof: Buffer
  /** Number of feeds the sender shares with us. */
  count: number
  /**
   * Counters of the sender's difference sketch (tug-of-war), to size the
   * reconciliation; empty when deferred (minor 6: sent in SKETCHES if the
   * set proofs differ).
   */
  sketch: number[]
  /** A moderated set's records, summarised as the feeds are (minor 3; absent: none sent). */
  records?: RecordsSummary
}

/** The moderation records the sender holds, as its open announces them (ids reconciled like feeds). */
export interface RecordsSummary {
  /** Bound to the connection as the feeds' set proof is (recordsKey, pairing.ts). */
  setProof: Buffer
  count: number
  sketch: number[]
}

/** Coded symbols [start, start + symbols.length) of the sender's set. */
export interface Symbols {
  start: number
  symbols: CodedSymbol[]
}

/** Asks for `count` more coded symbols (the batch so far did not decode). */
export interface More {
  count: number
}

/** A feed and the length the sender holds of it. */
export interface Element {
  key: Buffer
  length: number
  /** An encrypted set's admission tag of the feed (tagged channels only; null: none). */
  tag?: Buffer | null
}

/** Feeds and lengths: the end of a reconciliation (DONE), a live update, or a list (LIST). */
export interface Elements {
  flags: number
  elements: Element[]
}

/** Moderation records, whole (each ≤ MAX_RECORD_WIRE_BYTES): sent, answered, or pushed. */
export interface Records {
  flags: number
  records: Buffer[]
}

/** Flag of a Records message: the last of the records the peer asked for in its DONE. */
export const RECORDS_END = 1

export const MESSAGE_SYMBOLS = 0
export const MESSAGE_MORE = 1
export const MESSAGE_ELEMENTS = 2
/** Minor 3, moderated sets only: the records' reconciliation, then the records themselves. */
export const MESSAGE_RECORD_SYMBOLS = 3
export const MESSAGE_RECORD_MORE = 4
export const MESSAGE_RECORD_ELEMENTS = 5
export const MESSAGE_RECORDS = 6

const version = {
  preencode(state: State, m: { major: number; minor: number }) {
    c.uint.preencode(state, m.major)
    c.uint.preencode(state, m.minor)
  },
  encode(state: State, m: { major: number; minor: number }) {
    c.uint.encode(state, m.major)
    c.uint.encode(state, m.minor)
  },
  decode(state: State) {
    return { major: c.uint.decode(state), minor: c.uint.decode(state) }
  }
}

function encode<T>(
  enc: { preencode(s: State, v: T): void; encode(s: State, v: T): void },
  value: T
): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  enc.preencode(state, value)
  state.buffer = Buffer.allocUnsafe(state.end)
  enc.encode(state, value)
  return state.buffer
}

function stateOf(raw: Buffer): State {
  return { start: 0, end: raw.byteLength, buffer: raw }
}

function guard<T>(what: string, decode: () => T): T {
  try {
    return decode()
  } catch (err) {
    if (err instanceof LimitExceededError || err instanceof MalformedMessageError) throw err
    throw new MalformedMessageError(`Malformed ${what}: ${(err as Error).message}`, { cause: err })
  }
}

/** Reads a count and refuses it before allocating anything when it passes `max`. */
function count(state: State, max: number, limit: string, what: string): number {
  const n = c.uint.decode(state)
  if (n > max) {
    throw new LimitExceededError(
      limit,
      max,
      `Remote sent ${n} ${what} in one message; the limit is ${max}`
    )
  }
  return n
}

function copy(state: State, bytes: number): Buffer {
  if (state.end - state.start < bytes) throw new Error('truncated')
  // copy: the frame's buffer is a slab shared with other messages
  const out = Buffer.from(state.buffer!.subarray(state.start, state.start + bytes))
  state.start += bytes
  return out
}

// ---- pairing channel ------------------------------------------------------

export function encodePairingOpen(m: PairingOpen): Buffer {
  return encode(version, m)
}

/** The version alone, readable whatever a (future) open message holds. */
export function decodeVersion(raw: Buffer): { major: number; minor: number } {
  return guard('open message', () => version.decode(stateOf(raw)))
}

export function encodeTokens(m: Tokens): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  const flags = m.flags ?? 0
  const hints = m.hints ?? []
  if (hints.length !== 0 && hints.length !== m.tokens.length) {
    throw new Error('one state hint per token, or none')
  }
  const width = hints[0]?.byteLength ?? 0
  c.uint.preencode(state, m.tokens.length)
  state.end += m.tokens.length * SECRET_BYTES
  c.uint.preencode(state, flags)
  if (width > 0) {
    c.uint.preencode(state, width)
    state.end += hints.length * width
  }
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  c.uint.encode(state, m.tokens.length)
  for (const token of m.tokens) {
    buffer.set(token, state.start)
    state.start += SECRET_BYTES
  }
  c.uint.encode(state, flags)
  if (width > 0) {
    c.uint.encode(state, width)
    for (const hint of hints) {
      if (hint.byteLength !== width) throw new Error('state hints of one width')
      buffer.set(hint, state.start)
      state.start += width
    }
  }
  return buffer
}

export function decodeTokens(raw: Buffer): Tokens {
  return guard('Tokens message', () => {
    const state = stateOf(raw)
    const n = count(state, MAX_TOKENS_PER_MESSAGE, 'maxTokensPerMessage', 'pairing tokens')
    const tokens: Buffer[] = new Array(n)
    for (let i = 0; i < n; i++) tokens[i] = copy(state, SECRET_BYTES)
    // Appended in minor 2: a peer of minor 0 or 1 sends no flags.
    const flags = state.start < state.end ? c.uint.decode(state) : 0
    // Appended in minor 6: the tokens' state hints, of one width (older decoders ignore them).
    const hints: Buffer[] = []
    if (state.start < state.end) {
      const width = c.uint.decode(state)
      if (width > MAX_HINT_BYTES) throw new Error(`state hints of ${width} bytes`)
      if (width > 0) for (let i = 0; i < n; i++) hints.push(copy(state, width))
    }
    return { tokens, flags, hints }
  })
}

// ---- multifeed channel ----------------------------------------------------

const zigzag = {
  preencode(state: State, n: number) {
    c.uint.preencode(state, n < 0 ? -2 * n - 1 : 2 * n)
  },
  encode(state: State, n: number) {
    c.uint.encode(state, n < 0 ? -2 * n - 1 : 2 * n)
  },
  decode(state: State): number {
    const z = c.uint.decode(state)
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2
  }
}

const open = {
  preencode(state: State, m: Open) {
    version.preencode(state, m)
    state.end += 2 * SECRET_BYTES
    c.uint.preencode(state, m.count)
    c.uint.preencode(state, m.sketch.length)
    for (const v of m.sketch) zigzag.preencode(state, v)
    if (m.records !== undefined) {
      state.end += SECRET_BYTES
      c.uint.preencode(state, m.records.count)
      c.uint.preencode(state, m.records.sketch.length)
      for (const v of m.records.sketch) zigzag.preencode(state, v)
    }
  },
  encode(state: State, m: Open) {
    version.encode(state, m)
    state.buffer!.set(m.capability, state.start)
    state.start += SECRET_BYTES
    state.buffer!.set(m.setProof, state.start)
    state.start += SECRET_BYTES
    c.uint.encode(state, m.count)
    c.uint.encode(state, m.sketch.length)
    for (const v of m.sketch) zigzag.encode(state, v)
    if (m.records !== undefined) {
      state.buffer!.set(m.records.setProof, state.start)
      state.start += SECRET_BYTES
      c.uint.encode(state, m.records.count)
      c.uint.encode(state, m.records.sketch.length)
      for (const v of m.records.sketch) zigzag.encode(state, v)
    }
  }
}

/** `deferred`: 0 counters allowed (a deferred sketch, minor 6; an empty one in SKETCHES). */
function decodeSketch(state: State, deferred = false): number[] {
  const k = c.uint.decode(state)
  if ((k < 1 && !deferred) || k > MAX_SKETCH_COUNTERS) throw new Error(`${k} sketch counters`)
  const sketch: number[] = new Array(k)
  for (let i = 0; i < k; i++) sketch[i] = zigzag.decode(state)
  return sketch
}

export function encodeOpen(m: Open): Buffer {
  return encode(open, m)
}

/**
 * `moderated`: the channel is a moderated set's, whose open carries the
 * records summary after the sketch (minor 3); other sets' opens ignore what
 * follows the sketch, as they always did. `deferred`: the sender's pairing
 * announced minor ≥ 6, so its sketches may be deferred (0 counters: every
 * sketch of the open, or none, is deferred).
 */
export function decodeOpen(raw: Buffer, { moderated = false, deferred = false } = {}): Open {
  return guard('open message', () => {
    const state = stateOf(raw)
    const { major, minor } = version.decode(state)
    const capability = copy(state, SECRET_BYTES)
    const setProof = copy(state, SECRET_BYTES)
    const n = c.uint.decode(state)
    const sketch = decodeSketch(state, deferred)
    const open: Open = { major, minor, capability, setProof, count: n, sketch }
    // Appended in minor 3 on a moderated set's channel: the records summary.
    if (moderated && minor >= MODERATION_MINOR && state.start < state.end) {
      const proof = copy(state, SECRET_BYTES)
      const count = c.uint.decode(state)
      const records = decodeSketch(state, deferred)
      if ((records.length === 0) !== (sketch.length === 0)) {
        throw new Error('one sketch deferred, not the other')
      }
      open.records = { setProof: proof, count, sketch: records }
    }
    return open
  })
}

/**
 * The SKETCHES message (minor 6): the sketches an open deferred, of the
 * summaries whose set proofs differ (0 counters for one whose proof
 * matched): the feeds', then a moderated set's records'.
 */
export interface Sketches {
  sketch: number[]
  records?: number[]
}

export function encodeSketches(m: Sketches): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  const parts = m.records === undefined ? [m.sketch] : [m.sketch, m.records]
  for (const part of parts) {
    c.uint.preencode(state, part.length)
    for (const v of part) zigzag.preencode(state, v)
  }
  state.buffer = Buffer.allocUnsafe(state.end)
  for (const part of parts) {
    c.uint.encode(state, part.length)
    for (const v of part) zigzag.encode(state, v)
  }
  return state.buffer
}

/** `moderated`: the records' sketch follows the feeds'. */
export function decodeSketches(raw: Buffer, moderated = false): Sketches {
  return guard('Sketches message', () => {
    const state = stateOf(raw)
    const sketch = decodeSketch(state, true)
    if (!moderated) return { sketch }
    return { sketch, records: decodeSketch(state, true) }
  })
}

export function encodeSymbols(m: Symbols): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, m.start)
  c.uint.preencode(state, m.symbols.length)
  for (const symbol of m.symbols) SYMBOL.preencode(state, symbol)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint.encode(state, m.start)
  c.uint.encode(state, m.symbols.length)
  for (const symbol of m.symbols) SYMBOL.encode(state, symbol)
  return state.buffer
}

export function decodeSymbols(raw: Buffer): Symbols {
  return guard('Symbols message', () => {
    const state = stateOf(raw)
    const start = c.uint.decode(state)
    const n = count(state, MAX_SYMBOLS_PER_MESSAGE, 'maxSymbolsPerMessage', 'coded symbols')
    if (start + n > MAX_SYMBOLS) throw new Error(`symbols beyond ${MAX_SYMBOLS}`)
    const symbols: CodedSymbol[] = new Array(n)
    for (let i = 0; i < n; i++) symbols[i] = SYMBOL.decode(state)
    return { start, symbols }
  })
}

export function encodeMore(m: More): Buffer {
  return encode(c.uint, m.count)
}

export function decodeMore(raw: Buffer): More {
  return guard('More message', () => {
    const n = c.uint.decode(stateOf(raw))
    if (n < 1 || n > MAX_SYMBOLS_PER_MESSAGE) throw new Error(`asks for ${n} symbols`)
    return { count: n }
  })
}

/**
 * An Elements message. `tagged` (an encrypted set's channel, both at minor
 * ≥ 4): each feed's 16-byte admission tag follows its length (zeros when
 * the sender has none).
 */
export function encodeElements(m: Elements, tagged = false): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, m.flags)
  c.uint.preencode(state, m.elements.length)
  for (const e of m.elements) {
    state.end += tagged ? KEY_BYTES + TAG_BYTES : KEY_BYTES
    c.uint.preencode(state, e.length)
  }
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  c.uint.encode(state, m.flags)
  c.uint.encode(state, m.elements.length)
  for (const e of m.elements) {
    buffer.set(e.key, state.start)
    state.start += KEY_BYTES
    c.uint.encode(state, e.length)
    if (tagged) {
      buffer.set(e.tag ?? NO_TAG, state.start)
      state.start += TAG_BYTES
    }
  }
  return buffer
}

export function decodeElements(raw: Buffer, tagged = false): Elements {
  return guard('Elements message', () => {
    const state = stateOf(raw)
    const flags = c.uint.decode(state)
    const n = count(state, MAX_ELEMENTS_PER_MESSAGE, 'maxElementsPerMessage', 'feeds')
    const elements: Element[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const key = copy(state, KEY_BYTES)
      const length = c.uint.decode(state)
      if (!Number.isSafeInteger(length)) throw new Error('length out of range')
      if (!tagged) {
        elements[i] = { key, length }
        continue
      }
      const tag = copy(state, TAG_BYTES)
      elements[i] = { key, length, tag: tag.equals(NO_TAG) ? null : tag }
    }
    return { flags, elements }
  })
}

export function encodeRecords(m: Records): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, m.flags)
  c.uint.preencode(state, m.records.length)
  for (const r of m.records) c.buffer.preencode(state, r)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint.encode(state, m.flags)
  c.uint.encode(state, m.records.length)
  for (const r of m.records) c.buffer.encode(state, r)
  return state.buffer
}

export function decodeRecords(raw: Buffer): Records {
  return guard('Records message', () => {
    const state = stateOf(raw)
    const flags = c.uint.decode(state)
    const n = count(state, MAX_RECORDS_PER_MESSAGE, 'maxRecordsPerMessage', 'moderation records')
    const records: Buffer[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const bytes = c.uint.decode(state)
      if (bytes === 0 || bytes > MAX_RECORD_WIRE_BYTES) {
        throw new LimitExceededError(
          'maxRecordBytes',
          MAX_RECORD_WIRE_BYTES,
          `Remote sent a moderation record of ${bytes} bytes; the limit is ${MAX_RECORD_WIRE_BYTES}`
        )
      }
      records[i] = copy(state, bytes)
    }
    return { flags, records }
  })
}
