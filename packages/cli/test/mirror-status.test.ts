// `mirror run` at many sets: where a set stands is computed once per change, not once per
// event (a sync fires one per block) nor once per status-line redraw (every set, every
// redraw). In process: the Mirror over an in-process networker, a writer on another store.

import { formatKey, Multifeed } from '@multifeed/core'
import { InProcessHub, InProcessNetworker } from '@multifeed/networker'
import { createTempCorestore, waitUntil } from '@multifeed/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Mirror } from '../src/mirror/Mirror.js'
import type { SetSnapshot } from '../src/mirror/SetState.js'

const BLOCKS = 300

describe("the mirror's status at scale", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('walks a set’s feeds once per change, however many events and redraws', async () => {
    const hub = new InProcessHub()
    await using writerStore = await createTempCorestore()
    await using mirrorStore = await createTempCorestore()
    const alice = await Multifeed.open(writerStore.corestore, null)
    const aliceNet = new InProcessNetworker(writerStore.corestore, { hub })
    const said: SetSnapshot[] = []
    const mirrorNet = new InProcessNetworker(mirrorStore.corestore, { hub })
    const mirror = new Mirror(mirrorStore.corestore, mirrorNet, {
      log: () => {},
      changed: (set) => said.push(set),
      forget: () => {}
    })
    try {
      await aliceNet.swarm(alice)
      const key = formatKey(alice.key)
      await mirror.update([key])
      const w = await alice.writer()
      const feeds = vi.spyOn(Multifeed.prototype, 'feeds')
      // One block an append: one `append` event each on the mirror's side.
      for (let i = 0; i < BLOCKS; i++) await w.append(Buffer.from(`block ${i}`))
      await w.close()
      // The positive signal: the mirror said the set holds every block.
      await waitUntil(() => said.some((s) => s.blocks === BLOCKS && s.state === 'in-sync'), {
        timeout: 20_000,
        message: `the mirror reports ${BLOCKS} blocks in sync`
      })
      const walks = feeds.mock.calls.length
      // Events came by the hundred; the set was walked a few times (one per 100 ms at most).
      expect(walks).toBeLessThan(BLOCKS / 10)
      // Redraws of an unchanged set walk nothing.
      for (let i = 0; i < 100; i++) mirror.snapshots()
      expect(feeds.mock.calls.length).toBeLessThanOrEqual(walks + 1)
      expect(mirror.snapshots()[0]).toMatchObject({ key, blocks: BLOCKS, state: 'in-sync' })
    } finally {
      await mirror.close()
      await aliceNet.close()
      await alice.close()
    }
  }, 60_000)
})
