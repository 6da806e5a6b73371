/**
 * Appends the set's encoding cannot encode get a coded error naming that
 * encoding: `append(123)` in a 'utf-8' set, `append(undefined)`, a BigInt
 * or a circular object in a 'json' set. Hypercore encodes each block with
 * the session's codec, and a value the codec cannot take fails deep in Node
 * (`TypeError [ERR_INVALID_ARG_TYPE]`, "Do not know how to serialize a
 * BigInt") with nothing saying which encoding refused it.
 *
 * The check costs nothing on the way that works: the session's own
 * `append` runs first, and only a native TypeError/RangeError out of it
 * (hypercore's own errors, a closed session or a read-only core, are
 * HypercoreErrors and go through unchanged) makes us look at the values.
 * The one place where a hypercore session we hand out is patched: its
 * `append` is wrapped on the instance (hypercore has no encoding hook).
 */
import type { Hypercore, ValueEncoding } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'
import { encodingName } from '../lifecycle/strict.js'

type Append = (blocks: unknown, options?: unknown) => Promise<unknown>

/** Wraps `session.append` so that a value the set's encoding refuses rejects with ERR_INVALID_ARGUMENT. */
export function checkAppends(
  session: Hypercore<unknown>,
  encoding: ValueEncoding | undefined
): void {
  const target = session as unknown as { append: Append }
  const append = target.append
  target.append = async function checkedAppend(blocks, options) {
    try {
      return await append.call(this, blocks, options)
    } catch (err) {
      if (!(err instanceof TypeError || err instanceof RangeError)) throw err
      throw refusal(encoding, Array.isArray(blocks) ? blocks : [blocks], err) ?? err
    }
  }
}

/** Why `encoding` cannot encode one of `values`, as the error to throw; null when it can. */
export function refusal(
  encoding: ValueEncoding | undefined,
  values: unknown[],
  cause: unknown
): InvalidArgumentError | null {
  for (let i = 0; i < values.length; i++) {
    const why = whyNot(encoding, values[i])
    if (why === null) continue
    const which = values.length === 1 ? 'the value' : `value ${i} of ${values.length}`
    return new InvalidArgumentError(
      `append() in a set of encoding ${encodingName(encoding)}: ${which} ${why}`,
      { cause }
    )
  }
  return null
}

function whyNot(encoding: ValueEncoding | undefined, value: unknown): string | null {
  // Hypercore stores bytes as they are, whatever the encoding.
  if (value instanceof Uint8Array) return null
  if (encoding === 'json') {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (err) {
      return `is not JSON (${(err as Error).message.split('\n')[0]})`
    }
    return text === undefined ? `is ${describe(value)}, which JSON cannot encode` : null
  }
  if (encoding === 'utf-8' || (encoding as string) === 'utf8') {
    return typeof value === 'string' ? null : `is ${describe(value)}, not a string`
  }
  if (encoding === undefined || encoding === 'binary') {
    return typeof value === 'string' ? null : `is ${describe(value)}, not a Buffer or a string`
  }
  try {
    const state = { start: 0, end: 0, buffer: null }
    encoding.preencode(state, value)
    return null
  } catch (err) {
    return `does not encode (${(err as Error).message})`
  }
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `a BigInt (${value}n)`
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`
  return `a ${typeof value} (${String(value).slice(0, 40)})`
}
