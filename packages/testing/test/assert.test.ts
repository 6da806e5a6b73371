// The conformance suite's own assertions (src/conformance/assert.ts): the semantics of
// node:assert/strict for the subset the cases use, without a built-in module (Bare).
import assert from 'node:assert/strict'
import { describe, expect, test } from 'vitest'
import own, { AssertionError } from '../src/conformance/assert.js'

const fails = (fn: () => unknown) => expect(fn).toThrow(AssertionError)

describe('conformance assertions', () => {
  test('ok: truthy passes, falsy throws with the message', () => {
    own.ok(1)
    expect(() => own.ok(0, 'the feed has a key')).toThrow('the feed has a key')
    fails(() => own.ok(null))
  })

  test('equal is strict: no coercion, NaN equals NaN, as node:assert/strict', () => {
    own.equal('ERR_CLOSED', 'ERR_CLOSED')
    own.equal(Number.NaN, Number.NaN)
    fails(() => own.equal(1, '1'))
    fails(() => own.equal({}, {}))
    expect(() => own.equal(2, 3, 'lengths')).toThrow('lengths: expected 3, got 2')
    const err = (() => {
      try {
        own.equal(2, 3)
      } catch (e) {
        return e as AssertionError
      }
    })()
    expect(err).toMatchObject({
      name: 'AssertionError',
      code: 'ERR_ASSERTION',
      actual: 2,
      expected: 3
    })
  })

  test('deepEqual: bytes by content, arrays by element, objects by own key, types kept apart', () => {
    own.deepEqual(Buffer.from('c'), Buffer.from('c'))
    own.deepEqual([], [])
    own.deepEqual([{ a: [1, Buffer.from('x')] }], [{ a: [1, Buffer.from('x')] }])
    fails(() => own.deepEqual(Buffer.from('c'), Buffer.from('d')))
    fails(() => own.deepEqual(Buffer.from('c'), Buffer.from('cc')))
    fails(() => own.deepEqual(Buffer.from('c'), new Uint8Array([99])))
    fails(() => own.deepEqual([1], [1, 2]))
    fails(() => own.deepEqual([1], ['1']))
    fails(() => own.deepEqual({ a: 1 }, { a: 1, b: undefined }))
    fails(() => own.deepEqual(null, {}))
    // The same verdicts as Node's strict deepEqual on these.
    assert.throws(() => assert.deepEqual(Buffer.from('c'), new Uint8Array([99])))
    assert.throws(() => assert.deepEqual({ a: 1 }, { a: 1, b: undefined }))
  })

  test('rejects: resolves when the promise rejects and validate says true', async () => {
    await own.rejects(Promise.reject(new Error('x')), () => true)
    await expect(own.rejects(Promise.resolve(1), () => true)).rejects.toThrow(
      'Missing expected rejection'
    )
    await expect(own.rejects(Promise.reject(new Error('x')), () => false)).rejects.toThrow(
      AssertionError
    )
    const inner = own.rejects(Promise.reject(new Error('x')), () => {
      own.equal('ERR_OTHER', 'ERR_CLOSED')
      return true
    })
    await expect(inner).rejects.toThrow('expected "ERR_CLOSED", got "ERR_OTHER"')
  })
})
