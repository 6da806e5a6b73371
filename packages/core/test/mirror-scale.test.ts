/**
 * A mirror at scale (issue 15): one mirror follows an encrypted set of
 * 500 feeds, serves all of it to a member who meets it alone, lets its
 * cores go once idle, and re-opens with every feed and length from its own
 * log, opening no core. The full size (1,000 feeds × 100 blocks) against
 * raw corestore is bench scenario 13; this is the size CI affords, bounded.
 */
import { Multifeed } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { pipe, tmpStore, until } from './helpers.js'
import { noUnhandled, open } from './support.js'

noUnhandled()

const FEEDS = 500
const BLOCKS = 4

/** Runs `task` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!)
  }
  await Promise.all(Array.from({ length: width }, worker))
}

const total = (multi: Multifeed): number => multi.feeds().reduce((n, f) => n + f.length, 0)

describe('a mirror at scale', () => {
  it(`follows ${FEEDS} feeds × ${BLOCKS} blocks, serves them all alone, re-opens lazily`, {
    timeout: 180_000
  }, async () => {
    const alice = await open(null, null, { encrypted: true })
    await pool(
      Array.from({ length: FEEDS }, (_, i) => i),
      32,
      async (i) => {
        const w = await alice.writer(`w${i}`)
        await w.append(
          Array.from({ length: BLOCKS }, (_, b) => Buffer.from(`feed ${i} block ${b}`))
        )
        await w.close()
      }
    )
    const mirrorStore = await tmpStore()
    const mirror = await Multifeed.open(mirrorStore, alice.mirrorKey, { idleTimeout: 1000 })
    const toAlice = pipe(alice, mirror)
    await mirror.synced({ minPeers: 1, timeout: 120_000 })
    expect(mirror.feeds()).toHaveLength(FEEDS)
    expect(total(mirror)).toBe(FEEDS * BLOCKS)
    await toAlice.destroy()

    const bob = await open(null, alice.key)
    const toBob = pipe(mirror, bob)
    await bob.synced({ minPeers: 1, timeout: 120_000 })
    expect(total(bob)).toBe(FEEDS * BLOCKS)
    let read = 0
    for await (const e of bob.read()) if ('value' in e) read++
    expect(read).toBe(FEEDS * BLOCKS)
    await toBob.destroy()

    // With no peer left, the mirror lets go of every core (idleTimeout), then re-opens lazily.
    await until(() => mirror.openCores === 0, 'the mirror closes its idle cores', 60_000)
    await mirror.close()
    const again = await open(mirrorStore, alice.mirrorKey)
    expect(again.openCores).toBe(0)
    expect(again.feeds()).toHaveLength(FEEDS)
    expect(total(again)).toBe(FEEDS * BLOCKS)
  })
})
