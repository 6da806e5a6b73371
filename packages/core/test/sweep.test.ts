/**
 * When PeerCores' idle sweep detaches: only once the connection went quiet
 * (no block moved, nothing attached or waiting to attach, for the idle
 * time), or every BUSY_SWEEP_FACTOR idle times on a connection that never
 * goes quiet. The clock is the caller's (`sweep(now, idleMs)`), so the rule
 * is checked tick by tick, without timers. The cores are stand-ins with no
 * peer on the stream (settled: nothing to move), which is what hypercore's
 * replicator shows for a core whose blocks all moved.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { BUSY_SWEEP_FACTOR, PeerCores } from '../src/replication/PeerCores.js'
import { type Feed, FeedSet } from '../src/set/FeedSet.js'
import { fakeCore } from './fakeCore.js'

const IDLE = 1000

function setup(feeds: number) {
  const released: string[] = []
  // No channel of the core's on it: `opened()` is false (a core whose channel closed).
  const mux = { stream: { destroyed: false }, opened: () => false }
  const cores = new PeerCores(
    {
      shares: () => true,
      wants: () => true,
      acquire: async () => fakeCore() as never,
      release: (feed) => {
        released.push(feed.id)
      },
      onAttach: () => {},
      label: () => 'peer'
    },
    mux as never
  )
  const set = new FeedSet(Buffer.alloc(16, 1))
  const list: Feed[] = []
  for (let i = 0; i < feeds; i++) list.push(set.add(crypto.keyPair().publicKey, false, null))
  return { cores, list, released }
}

describe('idle sweep', () => {
  it('detaches nothing while blocks move, then every settled core once the connection is quiet', async () => {
    const { cores, list, released } = setup(3)
    await Promise.all(list.map((feed) => cores.attach(feed)))
    expect(cores.count).toBe(3)
    // A sync moving blocks on every tick, for far longer than the idle time.
    let t = 0
    for (; t <= 5 * IDLE; t += IDLE / 4) {
      cores.moved()
      expect(cores.sweep(t, IDLE)).toBe(0)
    }
    expect(cores.count).toBe(3)
    expect(released).toEqual([])
    // Quiet: not yet for the idle time, then for it.
    expect(cores.sweep(t, IDLE)).toBe(0)
    expect(cores.sweep(t + IDLE - 1 - IDLE / 4, IDLE)).toBe(0)
    expect(cores.sweep(t - IDLE / 4 + IDLE, IDLE)).toBe(3)
    expect(cores.count).toBe(0)
    expect(released.sort()).toEqual(list.map((f) => f.id).sort())
  })

  it('an attach (or one still waiting) keeps the connection busy', async () => {
    const { cores, list } = setup(2)
    await cores.attach(list[0]!)
    expect(cores.sweep(0, IDLE)).toBe(0)
    expect(cores.sweep(IDLE / 2, IDLE)).toBe(0)
    await cores.attach(list[1]!) // activity at IDLE / 2 .. IDLE
    expect(cores.sweep(IDLE, IDLE)).toBe(0)
    expect(cores.sweep(1.5 * IDLE, IDLE)).toBe(0)
    expect(cores.count).toBe(2)
    expect(cores.sweep(2 * IDLE, IDLE)).toBe(2)
  })

  it('a connection that never goes quiet is swept every BUSY_SWEEP_FACTOR idle times', async () => {
    const { cores, list } = setup(2)
    await Promise.all(list.map((feed) => cores.attach(feed)))
    const period = BUSY_SWEEP_FACTOR * IDLE
    let detached = 0
    let t = 0
    // The first forced look marks the settled cores, the next detaches them.
    for (; detached === 0 && t <= 3 * period; t += IDLE / 2) {
      cores.moved()
      detached += cores.sweep(t, IDLE)
    }
    expect(detached).toBe(2)
    expect(t).toBeGreaterThan(2 * period)
    expect(t).toBeLessThanOrEqual(2 * period + IDLE)
  })
})
