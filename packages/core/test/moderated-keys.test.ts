/**
 * A moderated set's key never reads as an encrypted set's (capabilities.ts
 * `tierOf`): the 2^-64 case cannot be drawn in a test, so `tierOf` is
 * replaced here by one that calls chosen keys tagged.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it, vi } from 'vitest'
import {
  createModeratedSet,
  formatInvite,
  moderatedSetKey,
  parseInvite
} from '../src/moderation/invite.js'

const tagged = new Set<string>()

vi.mock('../src/capabilities.js', async (original) => {
  const actual = await original<typeof import('../src/capabilities.js')>()
  return {
    ...actual,
    tierOf: (key: Buffer) => (tagged.has(key.toString('hex')) ? 'member' : actual.tierOf(key))
  }
})

describe('moderated keys and tiered keys', () => {
  it('a new set draws its secret again when its key would read as tiered', () => {
    const founder = crypto.keyPair().publicKey
    const first = Buffer.alloc(32, 1)
    const second = Buffer.alloc(32, 2)
    tagged.add(moderatedSetKey(founder, first).toString('hex'))
    const draws = [first, second]
    const set = createModeratedSet(founder, () => draws.shift()!)
    expect(draws).toEqual([])
    expect(set.secret!.equals(second)).toBe(true)
    expect(set.key.equals(moderatedSetKey(founder, second))).toBe(true)
  })

  it('an invite whose key reads as tiered is refused', () => {
    const founder = crypto.keyPair().publicKey
    const secret = Buffer.alloc(32, 3)
    const key = moderatedSetKey(founder, secret)
    const invite = formatInvite({ founder, secret, key, tier: 'plain', signingKey: key })!
    expect(parseInvite(invite).key.equals(key)).toBe(true)
    tagged.add(key.toString('hex'))
    expect(() => parseInvite(invite)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_KEY',
        message: expect.stringContaining('encrypted')
      })
    )
  })
})
