/**
 * A quiet mesh moves every block to every peer once: counted per (feed,
 * block) on each peer through hypercore's `download` events (a weak session
 * of every core the peer's corestore opens, so counting keeps nothing open).
 */
import type { Multifeed } from '@multifeed/core'
import type { Corestore, Hypercore as HypercoreSession } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import { describe, expect, it } from 'vitest'
import { pipe, tmpStore, untilConverged } from './helpers.js'
import { open } from './support.js'

/** Corestore's `watch` (every core it opens, as the internal core) and a weak session of such a core. */
type Watching = Corestore & { watch(fn: (core: unknown) => void): void }
const WeakSession = Hypercore as unknown as new (options: {
  core: unknown
  weak: boolean
}) => HypercoreSession<unknown>

/** Downloads per `discoveryKey:index` on one store, from every session it opens. */
function countDownloads(store: Corestore): Map<string, number> {
  const counts = new Map<string, number>()
  ;(store as Watching).watch((core) => {
    const session = new WeakSession({ core, weak: true })
    session.on('download', (index: number) => {
      const id = `${session.discoveryKey?.toString('hex')}:${index}`
      counts.set(id, (counts.get(id) ?? 0) + 1)
    })
  })
  return counts
}

describe('a quiet mesh', () => {
  it('downloads every block once on every peer (3 peers, each writing at once)', async () => {
    const PEERS = 3
    const ENTRIES = 500
    const stores: Corestore[] = []
    const counts: Map<string, number>[] = []
    const multis: Multifeed[] = []
    let key: Buffer | undefined
    for (let i = 0; i < PEERS; i++) {
      const store = await tmpStore()
      stores.push(store)
      counts.push(countDownloads(store))
      const multi = await open(store, key)
      key = multi.key
      multis.push(multi)
    }
    const writers = await Promise.all(multis.map((m) => m.writer('w')))
    for (let i = 0; i < PEERS; i++) {
      for (let j = i + 1; j < PEERS; j++) pipe(multis[i]!, multis[j]!)
    }
    await Promise.all(
      writers.map(async (core, w) => {
        for (let i = 0; i < ENTRIES; i += 50) {
          await core.append(Array.from({ length: 50 }, (_, j) => Buffer.alloc(64, w + i + j)))
          await new Promise((resolve) => setImmediate(resolve))
        }
      })
    )
    await untilConverged(multis, PEERS, 30_000)
    for (const m of multis) for (const info of m.feeds()) expect(info.length).toBe(ENTRIES)
    const total = counts.map((c) => [...c.values()].reduce((s, n) => s + n, 0))
    const twice = counts.map((c) => [...c.values()].filter((n) => n > 1).length)
    // each peer downloads the others' blocks, each once
    expect({ total, twice }).toEqual({
      total: counts.map(() => (PEERS - 1) * ENTRIES),
      twice: counts.map(() => 0)
    })
  })
})
