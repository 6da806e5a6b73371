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

  for (const seed of SMALL.seeds) {
    it(`seed ${seed}: every invariant holds`, { timeout: 60_000 }, async () => {
      const result = await runSeed(seed, SMALL)
      expect(result.events).toBeGreaterThan(0)
      expect(result.blocks).toBeGreaterThan(0)
      // The summary names each violation and the command that reproduces it.
      expect(result.violations, summary([result], SMALL)).toEqual([])
    })
  }
})
