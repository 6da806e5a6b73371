// The simulator's model of a removal: the members of a set drop a feed,
// each at its own peer. A peer still opening its sets when the removal comes
// (a start that outlived its bound, the run going on) must drop the feed
// too once the set is open, or the convergence check blames the library
// for a removal the model never made there.
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Corestore as Store } from '@multifeed/holepunch-types'
import { InProcessHub, InProcessNetworker } from '@multifeed/networker'
import { tmpRoot } from '@multifeed/testing'
import Corestore from 'corestore'
import crypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { ChildPeer } from '../src/world/ChildPeer.js'
import { Replica } from '../src/world/Replica.js'
import { SimHub } from '../src/world/SimHub.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Replica', () => {
  it('a removal that comes while its set is still opening is applied once the set is open', async () => {
    const dir = await mkdtemp(join(tmpRoot(), 'multifeed-sim-replica-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
    const store = new Corestore(dir, { unsafe: true }) as unknown as Store
    const networker = new InProcessNetworker(store, { hub: new InProcessHub() })
    const replica = new Replica(0, store, networker, () => {})
    cleanups.push(() => replica.close())
    const removed = crypto.randomBytes(32).toString('hex')
    // open() awaits Multifeed.open before the set is held: the removal comes meanwhile.
    const opening = replica.open([{ key: crypto.randomBytes(32), invite: null }], [0], {})
    await replica.remove(0, removed)
    await opening
    const snap = await replica.snapshot([])
    expect(snap.blocked?.[0]).toEqual([removed])
    expect(snap.sets[0]).toEqual([])
  })

  it('a child peer given a removal while it is still starting applies it (no error reply)', async () => {
    const hub = new SimHub({ degree: 4 })
    const removed = crypto.randomBytes(32).toString('hex')
    const peer = new ChildPeer(
      {
        index: 0,
        keyPair: crypto.keyPair(),
        primaryKey: crypto.randomBytes(32),
        access: [{ key: crypto.randomBytes(32), invite: null }],
        identity: null,
        sets: [0],
        removed: () => ({})
      },
      hub,
      () => null
    )
    cleanups.push(() => peer.destroy())
    const starting = peer.start()
    // The simulator sends a removal to a peer as soon as its child is forked.
    while (!peer.online) await new Promise((resolve) => setImmediate(resolve))
    await peer.remove(0, removed)
    await starting
    const snap = await peer.snapshot([])
    expect(snap.blocked?.[0]).toEqual([removed])
    expect(snap.sets[0]).toEqual([])
  })
})
