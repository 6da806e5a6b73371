/**
 * A key's tier without opening its set (issue 15): `Multifeed.tierOf(key)`
 * and `Multifeed.mirrorKeyOf(key)`, for whatever holds a key and must decide
 * before opening (the CLI's `mirror add`, an app's invite screen).
 */
import { randomBytes } from 'node:crypto'
import { formatKey, InvalidKeyError, Multifeed, type Tier } from '@multifeed/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { noUnhandled, open } from './support.js'

noUnhandled()

describe('Multifeed.tierOf()', () => {
  it('says what each key opens, as Buffer, hex or z-base-32', async () => {
    const plain = await open(null, null)
    const member = await open(null, null, { encrypted: true })
    const cases: Array<[Buffer, Tier]> = [
      [plain.key, 'plain'],
      [member.key, 'member'],
      [member.mirrorKey!, 'mirror']
    ]
    for (const [key, tier] of cases) {
      expect(Multifeed.tierOf(key)).toBe(tier)
      expect(Multifeed.tierOf(key.toString('hex'))).toBe(tier)
      expect(Multifeed.tierOf(formatKey(key))).toBe(tier)
      expect(Multifeed.tierOf(new Uint8Array(key))).toBe(tier)
    }
    // The tier the key opens is the tier open() gives.
    const mirror = await open(null, member.mirrorKey)
    expect([plain.tier, member.tier, mirror.tier]).toEqual(['plain', 'member', 'mirror'])
    // Any other 32 bytes is a plain set's key.
    expect(Multifeed.tierOf(randomBytes(32))).toBe('plain')
    expectTypeOf(Multifeed.tierOf).returns.toEqualTypeOf<Tier>()
  })

  it('refuses what is no key with ERR_INVALID_KEY', () => {
    for (const junk of ['abc', 'l'.repeat(52), randomBytes(31), randomBytes(33), 42, null, {}]) {
      let thrown: unknown
      try {
        Multifeed.tierOf(junk as never)
      } catch (err) {
        thrown = err
      }
      expect(thrown, String(junk)).toBeInstanceOf(InvalidKeyError)
      expect((thrown as InvalidKeyError).code).toBe('ERR_INVALID_KEY')
    }
  })
})

describe('Multifeed.mirrorKeyOf()', () => {
  it("gives an encrypted set's mirror key from its member key, opening nothing", async () => {
    const member = await open(null, null, { encrypted: true })
    expect(Multifeed.mirrorKeyOf(member.key).equals(member.mirrorKey!)).toBe(true)
    expect(Multifeed.mirrorKeyOf(formatKey(member.key)).equals(member.mirrorKey!)).toBe(true)
    // A mirror key is its own; a mirror key gives no member key back (one way).
    expect(Multifeed.mirrorKeyOf(member.mirrorKey!).equals(member.mirrorKey!)).toBe(true)
    expect(Multifeed.tierOf(Multifeed.mirrorKeyOf(member.key))).toBe('mirror')
  })

  it("refuses a plain set's key (it has none) and junk, with codes", async () => {
    const plain = await open(null, null)
    expect(() => Multifeed.mirrorKeyOf(plain.key)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => Multifeed.mirrorKeyOf('nope')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_KEY' })
    )
  })
})
