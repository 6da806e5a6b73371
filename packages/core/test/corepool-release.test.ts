/**
 * The set's length index takes a core's contiguous length one last time when
 * the set lets go of the core. In the two-process first sync
 * (notes/tcp-first-sync-stall.md) a block landed just before the idle sweep
 * released its core, and no event had reported the new length yet: the core
 * held the block, the index said 0, and with the core closed nothing told it
 * again (69 of 69 such feeds in two runs). The order of hypercore's events
 * around a block is not something a test can hold still, so the core here is
 * a stand-in whose length grows without an event, which is what the set saw.
 */
import { EventEmitter } from 'node:events'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { CorePool } from '../src/set/CorePool.js'
import { FeedSet } from '../src/set/FeedSet.js'

describe('CorePool.release', () => {
  it('records the length the core reached before it is let go', async () => {
    const core = Object.assign(new EventEmitter(), {
      opened: true,
      writable: false,
      contiguousLength: 0,
      ready: async () => {},
      close: async () => {}
    })
    const store = { get: () => core }
    const lengths: number[] = []
    const pool = new CorePool(store as never, {
      userStore: store as never,
      valueEncoding: undefined,
      encryptionKey: null,
      mirror: false,
      beforeOpen: () => null,
      onLength: (_feed, length) => lengths.push(length),
      onTransfer: () => {}
    })
    const feed = new FeedSet(Buffer.alloc(16, 1)).add(crypto.keyPair().publicKey, false, null)
    await pool.acquire(feed)
    expect(lengths).toEqual([0])
    core.contiguousLength = 1 // the block landed; no event told the set yet
    pool.release(feed)
    expect(lengths.at(-1)).toBe(1)
    expect(pool.isOpen(feed)).toBe(false)
  })
})
