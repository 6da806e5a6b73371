// The simulator at small size, as CI runs it: a few seeds, each a mesh of 8
// peers (one in a child process, crashed by SIGKILL when its schedule says,
// one hostile) for a few seconds of events; every invariant must hold.
// And a seed names its schedule: the same seed, the same events.
import { describe, expect, it } from 'vitest'
import { DEFAULTS, reproduction, type SimOptions } from '../src/options.js'
import { runSeed } from '../src/run.js'
import { buildSchedule } from '../src/schedule.js'
import { summary } from '../src/summary.js'

const SMALL: SimOptions = {
  ...DEFAULTS,
  seeds: [1, 2, 3],
  peers: 8,
  seconds: 6,
  children: 1,
  settle: 20
}

/** The moderated world at CI size: a founder, two moderators (one a child peer), a spammer. */
const MODERATED: SimOptions = { ...SMALL, seeds: [1, 2], seconds: 8, moderated: true }

describe('pnpm sim at small size', () => {
  it('a seed gives the same schedule every time, another seed another one', () => {
    const a = buildSchedule(7, SMALL)
    const b = buildSchedule(7, SMALL)
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(b.events).toEqual(a.events)
    expect(buildSchedule(8, SMALL).fingerprint).not.toBe(a.fingerprint)
    expect(reproduction(SMALL, 7)).toBe(
      'pnpm sim --seed 7 --peers 8 --seconds 6 --children 1 --settle 20'
    )
  })

  it('a moderated run adds its own events and roles; a plain schedule is unchanged by the option', () => {
    const plain = buildSchedule(7, SMALL)
    const moderated = buildSchedule(7, MODERATED)
    expect(plain.moderation).toBeNull()
    expect(moderated.moderation).toEqual({ founder: 0, moderators: [1, 6], spammer: 5 })
    expect(moderated.peers[5]!.kind).toBe('spammer')
    const kinds = new Set(moderated.events.map((e) => e.kind))
    for (const kind of ['spam', 'moderate', 'authority'])
      expect(kinds.has(kind as never)).toBe(true)
    // The plain events are all there, in order, and the moderation ones only add.
    const others = moderated.events.filter(
      (e) => e.kind !== 'spam' && e.kind !== 'moderate' && e.kind !== 'authority'
    )
    expect(others.length).toBeGreaterThan(0)
    expect(buildSchedule(7, MODERATED).fingerprint).toBe(moderated.fingerprint)
    expect(moderated.fingerprint).not.toBe(plain.fingerprint)
    expect(reproduction(MODERATED, 7)).toBe(
      'pnpm sim --seed 7 --peers 8 --seconds 8 --children 1 --settle 20 --moderated'
    )
  })

  for (const seed of SMALL.seeds) {
    it(`seed ${seed}: every invariant holds`, { timeout: 60_000 }, async () => {
      const result = await runSeed(seed, SMALL)
      expect(result.events).toBeGreaterThan(0)
      expect(result.blocks).toBeGreaterThan(0)
      // The summary names each violation and the command that reproduces it.
      expect(result.violations, summary([result], SMALL)).toEqual([])
    })
  }

  for (const seed of MODERATED.seeds) {
    it(`moderated, seed ${seed}: every invariant holds`, { timeout: 90_000 }, async () => {
      const result = await runSeed(seed, MODERATED)
      expect(result.violations, summary([result], MODERATED)).toEqual([])
      // The world did moderate: grants, spam, at least one block signed, the wire watched.
      const m = result.moderation!
      expect(m.signed.grant).toBeGreaterThan(0)
      expect(m.spamFeeds).toBeGreaterThan(0)
      expect(m.signed.block).toBeGreaterThan(0)
      expect(m.frames).toBeGreaterThan(0)
      expect(m.spamFrames).toBeGreaterThan(0)
    })
  }
})
