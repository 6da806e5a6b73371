/**
 * The set's value encoding at both ends of a block's life: a value appended
 * through a session we hand out must read back with it, and a block that
 * does not decode is reported with its feed and index instead of thrown.
 *
 * Hypercore stores a Buffer given to `append()` as it is, whatever the
 * session's `valueEncoding`: a Buffer appended in a 'json' set replicated,
 * then failed to decode on every peer. And a value the codec cannot take
 * (`append(123)` in a 'utf-8' set, a BigInt or a circular object in a
 * 'json' one, a number in a binary one) failed deep in Node with nothing
 * naming the encoding. The sessions we hand out encode their batches here,
 * each value checked, then through the codec hypercore would use; a value
 * that would not read back rejects with ERR_ENCODING naming the encoding,
 * and nothing of its batch is written. Hypercore takes this as its
 * documented `encodeBatch` option, but corestore's `get()` passes only the
 * options it knows: the session's `encodeBatch` field (what the option
 * sets) is set here, the one place that does, on our sessions and on every
 * session made from them (`w.session()`). A core the user opens from the
 * corestore itself is the user's: not guarded.
 */
import type { Encoding, Hypercore, ValueEncoding } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { EncodingError } from '../errors.js'

/** Encodings of text: a Buffer appended there is written unencoded by hypercore. */
const TEXT = new Set(['json', 'utf-8', 'utf8'])

/**
 * Makes `append()` on `core` (a session of a set with `valueEncoding`)
 * reject with ERR_ENCODING a batch holding a value that would not read
 * back, writing nothing of it.
 */
export function guardAppends(
  core: Hypercore<unknown>,
  valueEncoding: ValueEncoding | undefined
): void {
  const encoding = valueEncoding ?? 'binary'
  const name = typeof encoding === 'string' ? encoding : null
  const codec = c.from(encoding as string | Encoding<unknown>)
  core.encodeBatch = (blocks) => {
    // What hypercore's own encoding does: an encrypted core reserves padding before each block.
    const padding = core.padding
    const first = core.length
    return blocks.map((value, i) =>
      encodeBlock(codec, name, value, padding, core.key, first + i, blocks.length > 1 ? i : null)
    )
  }
  // Hypercore's `session()` passes on neither `encodeBatch` nor the
  // `valueEncoding`: a session of ours would hand out one that writes a
  // Buffer as it is. Sessions made from it append through the same guard
  // (the set's encoding, whatever encoding the session reads with), and
  // read with the set's encoding unless they ask for another.
  const session = core.session.bind(core)
  core.session = (options = {}) => {
    const child = session({ valueEncoding: encoding, ...options })
    guardAppends(child, valueEncoding)
    return child
  }
}

function encodeBlock(
  codec: Encoding<unknown>,
  name: string | null,
  value: unknown,
  padding: number,
  key: Buffer | null,
  seq: number,
  inBatch: number | null
): Buffer {
  const label = name === null ? 'compact-encoding' : `'${name}'`
  const which = inBatch === null ? '' : ` (value ${inBatch} of the batch)`
  const refuse = (why: string, cause?: unknown): EncodingError =>
    new EncodingError(
      `append() in a set of encoding ${label} refused block ${seq}${which}: ${why}; nothing of the batch was written`,
      key,
      seq,
      cause === undefined ? undefined : { cause }
    )
  if (name === 'binary' && value instanceof Uint8Array && padding === 0) {
    // Bytes as they are, as hypercore's own path stores them.
    return value as Buffer
  }
  if (name !== null && TEXT.has(name) && value instanceof Uint8Array) {
    throw refuse(
      `a Buffer in a ${label} set would be stored unencoded and not read back as ${name}: append the value itself, or open the set with valueEncoding 'binary'`
    )
  }
  // A named encoding says why it cannot take the value better than its codec's own failure does.
  const why = name === null ? null : unfit(name, value)
  const state = { start: padding, end: padding, buffer: null as Buffer | null }
  let buffer: Buffer
  try {
    codec.preencode(state, value)
    buffer = Buffer.allocUnsafe(state.end)
    state.buffer = buffer
    codec.encode(state, value)
  } catch (err) {
    throw refuse(
      why === null
        ? `the set's ${label} encoding cannot encode it (${messageOf(err)})`
        : `the value ${why}`,
      err
    )
  }
  if (why !== null) throw refuse(`the value ${why}`)
  if (name === null) {
    // A codec of the user's: the block must decode with it, or every reader fails on it.
    try {
      c.decode(codec, buffer.subarray(padding))
    } catch (err) {
      throw refuse(`the set's ${label} encoding does not read it back (${messageOf(err)})`, err)
    }
  }
  return buffer
}

/**
 * The error for block `seq` of a feed that does not decode with the set's
 * encoding (what `read()` yields in its place), or null when `err` is
 * another failure.
 */
export function undecodable(err: unknown, key: Buffer, seq: number): EncodingError | null {
  if ((err as { code?: unknown } | null)?.code !== 'DECODING_ERROR') return null
  return new EncodingError(
    `Block ${seq} of feed ${key.toString('hex')} does not decode with the set's valueEncoding: ${messageOf(err)}`,
    key,
    seq,
    { cause: err }
  )
}

/** Why a named encoding cannot take `value`, before its codec fails on it less clearly; null when it may. */
function unfit(name: string, value: unknown): string | null {
  if (name === 'json') {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (err) {
      return `is not JSON (${messageOf(err)})`
    }
    return text === undefined ? `is ${describe(value)}, which JSON cannot encode` : null
  }
  if (TEXT.has(name))
    return typeof value === 'string' ? null : `is ${describe(value)}, not a string`
  if (name === 'binary') {
    return typeof value === 'string' || value instanceof Uint8Array
      ? null
      : `is ${describe(value)}, not a Buffer or a string`
  }
  return null
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `a BigInt (${value}n)`
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`
  return `a ${typeof value} (${String(value).slice(0, 40)})`
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err)
}
