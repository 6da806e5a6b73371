import { Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { describe, expect, it } from 'vitest'
import { onCleanup, tmpDir, tmpStore } from './helpers.js'

describe('Multifeed.stored', () => {
  it('lists no multifeed in a new corestore', async () => {
    expect(await Multifeed.stored(await tmpStore())).toEqual([])
  })

  it('lists the discovery key of every multifeed opened in the store, after a re-open, sorted', async () => {
    const dir = await tmpDir()
    const store = new CorestoreClass(dir)
    const written = await Multifeed.open(store)
    await (await written.writer()).append(Buffer.from('entry'))
    const empty = await Multifeed.open(store)
    // while they are open, and in another namespace of the store
    const expected = [written.discoveryKey, empty.discoveryKey].sort(Buffer.compare)
    expect(await Multifeed.stored(store.namespace('elsewhere'))).toEqual(expected)
    await written.close()
    await empty.close()
    await store.close()

    const again = new CorestoreClass(dir)
    onCleanup(() => again.close())
    expect(await Multifeed.stored(again)).toEqual(expected)
    // and a multifeed opened after the list was read is listed too
    const later = await Multifeed.open(again)
    onCleanup(() => later.close())
    expect(await Multifeed.stored(again)).toContainEqual(later.discoveryKey)
  })
})
