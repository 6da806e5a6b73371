/**
 * The minor each set type's channel announces, and its open's layout,
 * pinned: plain sets 2 (the open ends with the sketch), moderated 3 and
 * encrypted 4 as they were, moderated encrypted 5 (the records summary
 * after the sketch, Elements tagged). Read from the honest side's open as a
 * puppet, which pairs under the set's pairing key, receives it. Minor 6 is
 * the pairing channel's: to a peer that announced it and hinted at our own
 * state with its token, the same opens carry 0 counters (the sketches
 * deferred); to one without that hint or of an older pairing minor, every
 * sketch as before. The mixed cases with real peers of pairing minor
 * 2: deferred-sketch.test.ts.
 */
import type { Multifeed } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { foundedPairingKey } from '../src/capabilities.js'
import { DEFAULT_SKETCH_COUNTERS } from '../src/protocol/estimator.js'
import {
  DEFERRED_SKETCH_MINOR,
  decodeOpen,
  decodeVersion,
  encodeOpen,
  minorOf,
  PAIRING_MINOR
} from '../src/protocol/messages.js'
import { openBytes, puppet, uint } from './puppet.js'
import { open } from './support.js'

/** What the set's tokens and capability are keyed by (an encrypted set's: its mirror key). */
function pairingKeyOf(multi: Multifeed): Buffer {
  const mirrorKey = multi.mirrorKey
  if (mirrorKey === null) return multi.key
  return multi.moderation !== null
    ? foundedPairingKey(multi.moderation.founder, mirrorKey)
    : mirrorKey
}

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
      const pairingKey = pairingKeyOf(multi)
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
      // The puppet's pairing announced minor 0: every sketch travels in the open, as before minor 6.
      expect(decoded.sketch).toHaveLength(DEFAULT_SKETCH_COUNTERS)
      if (moderated) expect(decoded.records!.sketch.length).toBeGreaterThan(0)
    })

    it(`${kind}: to a peer of pairing minor 6 whose state hint matches ours, the same open without its sketches (deferred)`, async () => {
      const multi = await open(null, null, options)
      const moderated = multi.moderation !== null
      const pairingKey = pairingKeyOf(multi)
      // Paired through a library stream (a bystander set on the puppet's side): minor 6, our own hint echoed.
      const p = await puppet(multi.replicate(true), pairingKey, {
        with: await open(),
        echoHint: true
      })
      const raw = await p.opened
      expect(decodeVersion(raw).minor).toBe(minor)
      expect(() => decodeOpen(raw, { moderated })).toThrow(/sketch counters/)
      const decoded = decodeOpen(raw, { moderated, deferred: true })
      expect(decoded.sketch).toEqual([])
      if (moderated) expect(decoded.records!.sketch).toEqual([])
      expect(encodeOpen(decoded).equals(raw)).toBe(true)
    })

    it(`${kind}: to a peer of pairing minor 6 that sent no state hint, every sketch in the open`, async () => {
      const multi = await open(null, null, options)
      const moderated = multi.moderation !== null
      const p = await puppet(multi.replicate(true), pairingKeyOf(multi), { with: await open() })
      const decoded = decodeOpen(await p.opened, { moderated })
      expect(decoded.sketch).toHaveLength(DEFAULT_SKETCH_COUNTERS)
      if (moderated) expect(decoded.records!.sketch.length).toBeGreaterThan(0)
    })
  }
})

describe('the minor the pairing channel announces', () => {
  it(`is ${DEFERRED_SKETCH_MINOR} (deferred sketches); a set's channel keeps its type's minor`, () => {
    expect(PAIRING_MINOR).toBe(DEFERRED_SKETCH_MINOR)
    expect(DEFERRED_SKETCH_MINOR).toBe(6)
    expect(minorOf(false)).toBe(2)
  })
})
