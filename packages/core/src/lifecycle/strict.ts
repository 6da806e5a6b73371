/**
 * Strict options: every public call that takes an options object rejects a
 * key it does not know (a typo such as `valueEncodng` would otherwise give
 * the default silently) and a value of the wrong type, with an
 * `ERR_INVALID_ARGUMENT` naming the option and the accepted ones. Nested
 * option objects (`limits`, `policy`) are checked the same way.
 */
import type { ValueEncoding } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'

/** The options of `call` as a record once `options` is an object with only `known` keys. */
export function knownOptions(
  options: unknown,
  call: string,
  known: readonly string[],
  path = ''
): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const what = path === '' ? 'options' : path.slice(0, -1)
    throw new InvalidArgumentError(`${call}: ${what} must be an object`)
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `${call}: unknown option '${path}${key}' (accepted${path === '' ? '' : ` in ${path.slice(0, -1)}`}: ${known.join(', ')})`
      )
    }
  }
  return options as Record<string, unknown>
}

/** `undefined`, or a boolean. */
export function optionalBoolean(value: unknown, call: string, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new InvalidArgumentError(`${call}: ${name} must be a boolean`)
  }
}

/** `undefined`, or an AbortSignal (by its shape: a signal of another realm or runtime counts). */
export function optionalSignal(value: unknown, call: string): void {
  const signal = value as { aborted?: unknown; addEventListener?: unknown } | null
  if (
    value !== undefined &&
    (typeof value !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function')
  ) {
    throw new InvalidArgumentError(`${call}: signal must be an AbortSignal`)
  }
}

/** `undefined`, or a number of milliseconds (finite, not negative). */
export function optionalTimeout(value: unknown, call: string): void {
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0) || value === Infinity)) {
    throw new InvalidArgumentError(`${call}: timeout must be a number of milliseconds (>= 0)`)
  }
}

/** How a value encoding is named in an error: its name, or "a compact-encoding codec". */
export function encodingName(encoding: ValueEncoding | undefined): string {
  if (encoding === undefined) return "'binary'"
  return typeof encoding === 'string' ? `'${encoding}'` : 'a compact-encoding codec'
}

/** A call that takes no options was given more arguments than it has (e.g. `get(key, { wait })`). */
export function noMoreArguments(call: string, given: number, expected: number, hint: string): void {
  if (given > expected) {
    throw new InvalidArgumentError(`${call} takes no options (${given} arguments given): ${hint}`)
  }
}
