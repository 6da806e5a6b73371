/**
 * Hypercore's hotswap held back (replication/hotswap.ts): a block requested
 * from one peer is offered to another only once that request is
 * HOTSWAP_AFTER_MS overdue, and one skipped for being recent is looked at
 * again when it becomes due (a stalled peer is still worked around). The
 * replicator is a stand-in with the fields hotswap.ts reads.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import { describe, expect, it } from 'vitest'
import { HOTSWAP_AFTER_MS, holdBackHotswaps } from '../src/replication/hotswap.js'

interface Block {
  name: string
  inflight: Array<{ timestamp: number }>
}

function replicator(blocks: Block[]) {
  const peers = ['p1', 'p2']
  const picked: Array<{ peer: string; block: string }> = []
  let onUpdate: (() => void) | null = null
  const r = {
    destroyed: false,
    peers,
    hotswaps: {
      *pick(_peer: unknown): Generator<Block> {
        yield* blocks
      }
    },
    /** As hypercore's updatePeer: looks for hotswaps for the peer. */
    updatePeer(peer: string) {
      for (const block of r.hotswaps.pick(peer)) picked.push({ peer, block: block.name })
      onUpdate?.()
    }
  }
  const core = { core: { replicator: r } } as unknown as Hypercore<unknown>
  const updated = () =>
    new Promise<void>((resolve) => {
      onUpdate = resolve
    })
  return { r, core, picked, updated }
}

describe('hotswaps held back', () => {
  it('offers only blocks whose request is overdue, and looks again once the others are due', async () => {
    const now = Date.now()
    const blocks: Block[] = [
      { name: 'recent', inflight: [{ timestamp: now }] },
      { name: 'overdue', inflight: [{ timestamp: now - HOTSWAP_AFTER_MS - 10 }] },
      // asked of two peers already, the second just now
      { name: 'swapped', inflight: [{ timestamp: now - 5000 }, { timestamp: now }] }
    ]
    const { r, core, picked, updated } = replicator(blocks)
    holdBackHotswaps(core)
    holdBackHotswaps(core) // once per replicator
    expect([...r.hotswaps.pick('p1')].map((b) => b.name)).toEqual(['overdue'])
    // hypercore looks again only when something happens: our timer does it
    const started = Date.now()
    await Promise.race([
      updated(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no second look')), 5000))
    ])
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOTSWAP_AFTER_MS - 50)
    expect(picked.filter((p) => p.peer === 'p1').map((p) => p.block)).toEqual([
      'recent',
      'overdue',
      'swapped'
    ])
  })

  it('changes nothing on a replicator without a hotswap queue', () => {
    const r = { destroyed: false, peers: [], updatePeer() {} }
    holdBackHotswaps({ core: { replicator: r } } as unknown as Hypercore<unknown>)
    expect(Object.keys(r)).toEqual(['destroyed', 'peers', 'updatePeer'])
  })
})
