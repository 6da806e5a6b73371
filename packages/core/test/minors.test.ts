/**
 * The minor each set type's channel announces, and its open's layout,
 * pinned: plain sets 2 (the open ends with the sketch), moderated 3 and
 * encrypted 4 as they were, moderated encrypted 5 (the records summary
 * after the sketch, Elements tagged). Read from the honest side's open as a
 * puppet, which pairs under the set's pairing key, receives it.
 */
import { describe, expect, it } from 'vitest'
import { foundedPairingKey } from '../src/capabilities.js'
import { decodeOpen, decodeVersion, encodeOpen } from '../src/protocol/messages.js'
import { openBytes, puppet, uint } from './puppet.js'
import { open } from './support.js'

describe('the minor a set announces', () => {
  for (const [kind, options, minor] of [
    ['plain', {}, 2],
    ['moderated', { moderated: true }, 3],
    ['encrypted', { encrypted: true }, 4],
    ['moderated encrypted', { moderated: true, encrypted: true }, 5]
  ] as const) {
    it(`${kind}: minor ${minor}, the open's layout unchanged`, async () => {
      const multi = await open(null, null, options)
      const moderated = multi.moderation !== null
      const mirrorKey = multi.mirrorKey
      const pairingKey =
        mirrorKey === null
          ? multi.key
          : moderated
            ? foundedPairingKey(multi.moderation!.founder, mirrorKey)
            : mirrorKey
      const p = await puppet(multi.replicate(true), pairingKey, {
        // A moderated set's peer appends its records summary: proof, count, 32 counters.
        open: (self) =>
          openBytes({
            minor,
            capability: self.capability(),
            ...(moderated
              ? { extra: Buffer.concat([Buffer.alloc(16), uint(0), uint(32), Buffer.alloc(32)]) }
              : {})
          })
      })
      const raw = await p.opened
      expect(decodeVersion(raw).minor).toBe(minor)
      const decoded = decodeOpen(raw, { moderated })
      // A moderated set's open carries the records summary after the sketch; the others end there.
      expect(decoded.records !== undefined).toBe(moderated)
      expect(encodeOpen(decoded).equals(raw)).toBe(true)
    })
  }
})
