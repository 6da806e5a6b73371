/**
 * The assertions the conformance cases make, with the semantics of Node's
 * `node:assert/strict` (the subset used) and no built-in module: the
 * harness is imported on Bare too, which has no `assert` of Node's shape
 * (`bare-assert` has no `deepEqual` or `rejects`).
 */

/** Thrown by a failed assertion: name `AssertionError`, code `ERR_ASSERTION`, as Node's. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError'
  readonly code = 'ERR_ASSERTION'
  readonly actual: unknown
  readonly expected: unknown

  constructor(message: string, actual?: unknown, expected?: unknown) {
    super(message)
    this.actual = actual
    this.expected = expected
  }
}

interface Assert {
  /** `value` is truthy. */
  ok(value: unknown, message?: string): asserts value
  /** `actual` and `expected` are the same value (`Object.is`). */
  equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T
  /** Same structure: byte arrays by content, arrays by element, plain objects by own key. */
  deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T
  /** `promise` rejects, and `validate` returns true for its reason. */
  rejects(promise: Promise<unknown>, validate: (err: unknown) => boolean): Promise<void>
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `<bytes ${Buffer.from(value).toString('hex')}>`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]))
  }
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key) =>
        Object.hasOwn(b, key) &&
        deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    )
  )
}

const assert: Assert = {
  ok(value, message) {
    if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`)
  },
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) {
      const text = `expected ${show(expected)}, got ${show(actual)}`
      throw new AssertionError(
        message === undefined ? text : `${message}: ${text}`,
        actual,
        expected
      )
    }
  },
  deepEqual(actual, expected, message) {
    if (!deepEqual(actual, expected)) {
      const text = `expected ${show(expected)}, got ${show(actual)} (deep equality)`
      throw new AssertionError(
        message === undefined ? text : `${message}: ${text}`,
        actual,
        expected
      )
    }
  },
  async rejects(promise, validate) {
    try {
      await promise
    } catch (err) {
      if (validate(err) === true) return
      throw new AssertionError(`the rejection failed validation: ${String(err)}`, err)
    }
    throw new AssertionError('Missing expected rejection')
  }
}

export default assert
