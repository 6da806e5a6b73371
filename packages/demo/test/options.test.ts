import { describe, expect, test } from 'vitest'
import { parseOptions, UsageError } from '../src/options.js'

describe('demo options', () => {
  test('--spammer and --mirror are two demos: together they are a usage error', () => {
    expect(parseOptions(['--spammer'])?.spammer).toBe(true)
    expect(parseOptions(['--mirror'])?.mirror).toBe(true)
    expect(() => parseOptions(['--spammer', '--mirror'])).toThrow(UsageError)
    expect(() => parseOptions(['--mirror', '--spammer'])).toThrow(/cannot be combined/)
  })
})
