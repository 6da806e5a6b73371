/**
 * The harness is as strict as core (`Multifeed.open()`): an option it does
 * not know (`timout`), or a value of the wrong type, is an
 * `ERR_INVALID_ARGUMENT` at the call, naming the option and the accepted
 * ones, never a default taken silently. Core keeps its own checks
 * internal, so these are the harness's, in core's words.
 */
import { InvalidArgumentError } from '@multifeed/core'

/** A value an option may hold, described for the error message. */
export type Check = readonly [test: (value: unknown) => boolean, expected: string]

/**
 * `options` of `call` (undefined: none) with only the keys of `accepted`,
 * each undefined or passing its check; throws ERR_INVALID_ARGUMENT otherwise.
 */
export function checkOptions<T extends object>(
  options: T | undefined,
  call: string,
  accepted: Readonly<Record<string, Check>>
): T {
  if (options === undefined) return {} as T
  if (!isObject(options)) throw new InvalidArgumentError(`${call}: options must be an object`)
  const names = Object.keys(accepted)
  for (const [name, value] of Object.entries(options)) {
    const check = accepted[name]
    if (check === undefined) {
      throw new InvalidArgumentError(
        `${call}: unknown option '${name}' (accepted: ${names.join(', ')})`
      )
    }
    if (value !== undefined && !check[0](value)) {
      throw new InvalidArgumentError(`${call}: ${name} must be ${check[1]}`)
    }
  }
  return options
}

/** Throws ERR_INVALID_ARGUMENT `${call}: ${what} must be ${check's expected}` unless `value` passes. */
export function checkArgument(value: unknown, call: string, what: string, check: Check): void {
  if (!check[0](value)) throw new InvalidArgumentError(`${call}: ${what} must be ${check[1]}`)
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export const anObject: Check = [isObject, 'an object']
export const aBoolean: Check = [(v) => typeof v === 'boolean', 'a boolean']
export const aString: Check = [(v) => typeof v === 'string', 'a string']
export const aFunction: Check = [(v) => typeof v === 'function', 'a function']
export const milliseconds: Check = [
  (v) => typeof v === 'number' && v >= 0 && v !== Infinity,
  'a number of milliseconds (>= 0)'
]
export const aCount: Check = [(v) => Number.isInteger(v) && (v as number) >= 0, 'an integer >= 0']
export const aPositiveCount: Check = [
  (v) => Number.isInteger(v) && (v as number) >= 1,
  'an integer >= 1'
]
/** An AbortSignal, by its shape (a signal of another realm counts). */
export const aSignal: Check = [
  (v) => isObject(v) && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function',
  'an AbortSignal'
]
export const anIterable: Check = [
  (v) => typeof (v as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] === 'function',
  'an iterable'
]
export const strings: Check = [
  (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  'an array of strings'
]

/** Either check. */
export function either(a: Check, b: Check): Check {
  return [(v) => a[0](v) || b[0](v), `${a[1]} or ${b[1]}`]
}
