/**
 * A set that closed cleanly re-opens without writing (notes/mirror-open-speed.md):
 * its membership log is read from the storage and its "opened" mark is written
 * before its first core opens, not at open. Counted here: what an open and a
 * close that change nothing append to the log (0 blocks; the mark per open made
 * it 2). Kept: a crash after a core of such a set changed still re-opens with
 * the length the store holds, and a set opened so syncs, lists and re-opens.
 */
import { Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { describe, expect, it } from 'vitest'
import { kill, lineFrom, runFixture } from './fixtures/child.js'
import { pipe, tmpDir, tmpStore, until } from './helpers.js'
import { headReads, hex, logLength, noUnhandled } from './support.js'

noUnhandled()

describe('a set re-opened after a clean close', () => {
  for (const kind of ['plain', 'mirror'] as const) {
    it(`writes nothing to its log while it changes nothing (${kind})`, async () => {
      const member = await Multifeed.open(await tmpStore(), null, {
        encrypted: kind === 'mirror'
      })
      const w = await member.writer()
      await w.append(Buffer.from('one'))
      const store = await tmpStore()
      const key = kind === 'mirror' ? member.mirrorKey! : member.key
      const first = await Multifeed.open(store, key)
      const link = pipe(member, first)
      await until(() => first.feed(w.key!)?.length === 1, 'the block arrives')
      await link.destroy()
      await first.close()
      const before = await logLength(store, first.discoveryKey)

      for (let i = 0; i < 3; i++) {
        const again = await Multifeed.open(store, key)
        expect(again.feeds().map((f) => [hex(f.key), f.length])).toEqual([[hex(w.key!), 1]])
        expect(again.openCores).toBe(0)
        await again.close()
      }
      // Each open used to append its "opened" mark and each close its "closed" mark.
      expect(await logLength(store, first.discoveryKey)).toBe(before)
      await member.close()
    })
  }

  it('syncs, lists its feeds, marks its log once a core opens, and re-opens with the lengths', async () => {
    const member = await Multifeed.open(await tmpStore(), null, { encrypted: true })
    const w = await member.writer()
    await w.append(Buffer.from('one'))
    const store = await tmpStore()
    const first = await Multifeed.open(store, member.mirrorKey)
    const link = pipe(member, first)
    await until(() => first.feed(w.key!)?.length === 1, 'the block arrives')
    await link.destroy()
    await first.close()
    const before = await logLength(store, first.discoveryKey)

    const lazy = await Multifeed.open(store, member.mirrorKey)
    expect(lazy.feeds()).toHaveLength(1)
    const x = await member.writer('x')
    await x.append([Buffer.from('a'), Buffer.from('b')])
    await w.append(Buffer.from('two'))
    const again = pipe(member, lazy)
    await until(
      () => lazy.feed(x.key!)?.length === 2 && lazy.feed(w.key!)?.length === 2,
      'the new feed and the new block arrive'
    )
    await again.destroy()
    await lazy.close()
    // Written this time: the "opened" mark (and x's record) before a core opened, the close mark.
    expect(await logLength(store, first.discoveryKey)).toBeGreaterThan(before)
    const reopened = await Multifeed.open(store, member.mirrorKey)
    expect(Object.fromEntries(reopened.feeds().map((f) => [hex(f.key), f.length]))).toEqual({
      [hex(w.key!)]: 2,
      [hex(x.key!)]: 2
    })
    await reopened.close()
    await member.close()
  })

  for (const mode of ['plain', 'mirror'] as const) {
    it(`killed after a download re-opens with the length it holds (${mode})`, async () => {
      const dirB = await tmpDir()
      const child = runFixture('crash-download.mjs', [await tmpDir(), dirB, mode])
      const key = lineFrom(child, 'key ', 60_000)
      const [writerKey, length] = (await lineFrom(child, 'downloaded ', 60_000)).split(' ')
      await kill(child)
      expect(length).toBe('3')

      const store = new CorestoreClass(dirB, { wait: true })
      const reads = headReads(store)
      const multi = await Multifeed.open(store, await key)
      try {
        // The log does not end with the clean-close mark: every feed's head, in one read.
        expect(reads).toEqual([1])
        expect(multi.feeds().map((f) => [hex(f.key), f.length])).toEqual([[writerKey, 3]])
      } finally {
        await multi.close()
        await store.close()
      }
    })
  }
})
