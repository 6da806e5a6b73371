import { Multifeed } from '@multifeed/core'
import { createTempCorestore, replicate, untilSynced } from '@multifeed/testing'
import { describe, expect, test } from 'vitest'
import { held } from '../src/held.js'

describe("the demo's completion", () => {
  test('counts the blocks held, also those no connection of this run moved', async () => {
    await using storeA = await createTempCorestore()
    await using storeB = await createTempCorestore()
    const a = await Multifeed.open(storeA.corestore)
    let b = await Multifeed.open(storeB.corestore, a.key)
    const w = await a.writer('w')
    await w.append(Array.from({ length: 10 }, (_, i) => Buffer.from(`entry ${i}`)))
    await w.close()
    {
      await using _pipe = replicate(a, b)
      await untilSynced([a, b], { timeout: 10_000 })
      expect(held(b, 10)).toEqual({ feeds: 1, blocks: 10 })
    }
    // the connection closed: b still holds every block
    expect(held(b, 10)).toEqual({ feeds: 1, blocks: 10 })
    // re-opened, nothing moves, and b is complete
    await b.close()
    b = await Multifeed.open(storeB.corestore, a.key)
    expect(held(b, 10)).toEqual({ feeds: 1, blocks: 10 })
    // a writer that wrote more than the demo's entries counts for the entries only
    expect(held(a, 4)).toEqual({ feeds: 1, blocks: 4 })
    await b.close()
    await a.close()
  })
})
