/**
 * Mirrors (issue 15, item 3): `Multifeed.open(corestore, multi.mirrorKey)`
 * opens an encrypted set as a mirror. It pairs with members and mirrors,
 * downloads and serves every feed, opens its cores lazily like a member,
 * and holds no writer and no plaintext: `writer()` is ERR_NOT_WRITABLE,
 * `get()` and `read()` ERR_NOT_READABLE. One corestore holds a set as a
 * member or as a mirror, never both (ERR_TIER_CONFLICT, either order).
 */
import {
  AlreadyOpenError,
  formatKey,
  InvalidArgumentError,
  Multifeed,
  type MultifeedError,
  NotReadableError,
  NotWritableError,
  TierConflictError
} from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { filesContaining, next, onCleanup, pipe, tmpDir, tmpStore } from './helpers.js'
import { logLength, noUnhandled, open } from './support.js'

noUnhandled()

/** 32 bytes written in every entry: never to be found in a mirror's storage. */
const MARKER = Buffer.from('mirror-test marker 0123456789abc')
const entry = (i: number): Buffer => Buffer.concat([MARKER, Buffer.from(` entry ${i}`)])

/** An encrypted set with one writer holding `n` entries. */
async function writtenSet(n: number, name = 'alice') {
  const member = await open(null, null, { encrypted: true })
  const w = await member.writer(name)
  await w.append(Array.from({ length: n }, (_, i) => entry(i)))
  const key = w.key!
  await w.close()
  return { member, key }
}

/** Every value a member reads of the set. */
async function valuesOf(multi: Multifeed): Promise<Buffer[]> {
  const values: Buffer[] = []
  for await (const e of multi.read()) if ('value' in e) values.push(e.value as Buffer)
  return values
}

describe('a mirror (opened with the mirror key)', () => {
  it('says so: tier, encrypted, its key is the mirror key; same topic as the members', async () => {
    const member = await open(null, null, { encrypted: true })
    expect(member.tier).toBe('member')
    const mirror = await open(null, member.mirrorKey)
    expect(mirror.tier).toBe('mirror')
    expect(mirror.encrypted).toBe(true)
    expect(mirror.key).toEqual(member.mirrorKey)
    expect(mirror.mirrorKey).toEqual(member.mirrorKey)
    expect(mirror.discoveryKey).toEqual(member.discoveryKey)
    // The key as hex or z32 opens it too, and `encrypted: true` agrees with it.
    for (const text of [member.mirrorKey!.toString('hex'), formatKey(member.mirrorKey!)]) {
      const again = await Multifeed.open(await tmpStore(), text, { encrypted: true })
      onCleanup(() => again.close())
      expect(again.tier).toBe('mirror')
      expect(again.key).toEqual(member.mirrorKey)
    }
    const plain = await open()
    expect(plain.tier).toBe('plain')
  })

  it('has no writer and reads no plaintext: ERR_NOT_WRITABLE, ERR_NOT_READABLE with a clear message', async () => {
    const { member, key } = await writtenSet(3)
    const mirror = await open(null, member.mirrorKey)
    pipe(member, mirror)
    await mirror.synced({ minPeers: 1, timeout: 10_000 })
    expect(mirror.feed(key)?.length).toBe(3)
    const writing = mirror.writer('mine')
    await expect(writing).rejects.toBeInstanceOf(NotWritableError)
    await expect(writing).rejects.toThrow(/mirror .*has no writer/)
    const getting = mirror.get(key)
    await expect(getting).rejects.toBeInstanceOf(NotReadableError)
    await expect(getting).rejects.toMatchObject({ code: 'ERR_NOT_READABLE' })
    await expect(getting).rejects.toThrow(/cannot decrypt/)
    expect(() => mirror.read()).toThrow(NotReadableError)
    expect(() => mirror.read({ live: true })).toThrow(/read\(\): a mirror/)
    // Refused calls change nothing: the feed is still there, and nothing was added.
    expect(mirror.feeds().map((f) => f.key)).toEqual([key])
    expect(mirror.feeds().every((f) => !f.local)).toBe(true)
  })

  it('wrong options are ERR_INVALID_ARGUMENT: sparse (a mirror wants every feed), encrypted: false', async () => {
    const member = await open(null, null, { encrypted: true })
    const store = await tmpStore()
    for (const [options, message] of [
      [{ sparse: true }, /sparse: true with a mirror key/],
      [{ encrypted: false }, /encrypted: false with the mirror key/]
    ] as const) {
      const attempt = Multifeed.open(store, member.mirrorKey, options)
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError)
      await expect(attempt).rejects.toThrow(message)
    }
    // Nothing was left open: the store opens the mirror fine.
    expect((await open(store, member.mirrorKey)).tier).toBe('mirror')
  })

  it('downloads every feed, serves a member who never met the writer, and its storage holds no plaintext', async () => {
    const alice = await open(null, null, { encrypted: true })
    const wa = await alice.writer('alice')
    const wa2 = await alice.writer('alice-2')
    await wa.append(Array.from({ length: 40 }, (_, i) => entry(i)))
    await wa2.append(entry(100))
    await wa.close()
    await wa2.close()

    const dir = await tmpDir()
    const mirrorStore = await tmpStore(dir)
    const mirror = await Multifeed.open(mirrorStore, alice.mirrorKey)
    const toAlice = pipe(alice, mirror)
    await mirror.synced({ minPeers: 1, timeout: 10_000 })
    expect(
      mirror
        .feeds()
        .map((f) => f.length)
        .sort((a, b) => a - b)
    ).toEqual([1, 40])

    // Alice leaves; bob, with the member key, meets the mirror alone.
    await toAlice.destroy()
    const written = await valuesOf(alice)
    await alice.close()
    const bob = await open(null, alice.key)
    pipe(bob, mirror)
    await bob.synced({ minPeers: 1, timeout: 10_000 })
    const read = await valuesOf(bob)
    expect(read).toHaveLength(41)
    expect(read).toEqual(expect.arrayContaining(written))

    // What the mirror holds, read through hypercore without the block key: ciphertext.
    const raw = mirrorStore.get({ key: wa.key!, active: false })
    await raw.ready()
    const stored = (await raw.get(7, { wait: false }))!
    expect(stored.includes(MARKER)).toBe(false)
    expect(stored.byteLength).toBe(entry(7).byteLength + 8)
    await raw.close()
    await mirror.close()
    await mirrorStore.close()
    expect(await filesContaining(dir, MARKER)).toEqual([])
  })

  it('pairs with other mirrors: a chain of two mirrors serves a member', async () => {
    const { member, key } = await writtenSet(10)
    const first = await open(null, member.mirrorKey)
    const toMember = pipe(member, first)
    await first.synced({ minPeers: 1, timeout: 10_000 })
    await toMember.destroy()
    const second = await open(null, member.mirrorKey)
    const toFirst = pipe(first, second)
    await second.synced({ minPeers: 1, timeout: 10_000 })
    expect(second.feed(key)?.length).toBe(10)
    await toFirst.destroy()
    const bob = await open(null, member.key)
    pipe(second, bob)
    await bob.synced({ minPeers: 1, timeout: 10_000 })
    const copy = await bob.get(key)
    expect(await copy.get(9)).toEqual(entry(9))
    await copy.close()
  })

  it('keeps what a member writes live: an append reaches the mirror while connected', async () => {
    const member = await open(null, null, { encrypted: true })
    const w = await member.writer()
    onCleanup(() => w.close())
    await w.append(entry(0))
    const mirror = await open(null, member.mirrorKey)
    pipe(member, mirror)
    await mirror.synced({ minPeers: 1, timeout: 10_000 })
    const grown = new Promise<void>((resolve) =>
      mirror.on('append', (info) => {
        if (info.length === 3) resolve()
      })
    )
    await w.append([entry(1), entry(2)])
    await grown
    expect(mirror.feed(w.key!)?.length).toBe(3)
  })

  it('restarts lazily like a member: no core at open, every feed and length from its own log, then resumes', async () => {
    const { member, key } = await writtenSet(5)
    const store = await tmpStore()
    const mirror = await Multifeed.open(store, member.mirrorKey)
    const link = pipe(member, mirror)
    await mirror.synced({ minPeers: 1, timeout: 10_000 })
    await link.destroy()
    await mirror.close()
    // While the mirror is down the member writes on.
    const w = await member.writer('alice')
    await w.append([entry(5), entry(6)])
    await w.close()
    const again = await open(store, member.mirrorKey)
    expect(again.openCores).toBe(0)
    expect(again.feeds().map((f) => [f.key, f.length, f.local])).toEqual([[key, 5, false]])
    const toMember = pipe(member, again)
    await again.synced({ minPeers: 1, timeout: 10_000 })
    expect(again.feed(key)?.length).toBe(7)
    await toMember.destroy()
    // ...and serves what it caught up with to a member who meets it alone.
    const bob = await open(null, member.key)
    pipe(again, bob)
    await bob.synced({ minPeers: 1, timeout: 10_000 })
    const copy = await bob.get(key)
    expect(await copy.get(6)).toEqual(entry(6))
    await copy.close()
  })

  it('keeps its limits: maxFeeds bounds what a mirror takes', async () => {
    const member = await open(null, null, { encrypted: true })
    for (const name of ['a', 'b', 'c']) {
      const w = await member.writer(name)
      await w.append(entry(0))
      await w.close()
    }
    const mirror = await open(null, member.mirrorKey, { limits: { maxFeeds: 2 } })
    const refused = next<[MultifeedError & { limit: string; max: number }]>(mirror, 'peer-error')
    pipe(member, mirror)
    const [err] = await refused
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect([err.limit, err.max]).toEqual(['maxFeeds', 2])
    expect(mirror.feeds().length).toBeLessThanOrEqual(2)
  })
})

describe('one corestore holds a set as a member or as a mirror, never both', () => {
  it('a member then a mirror (open together, then one after the other): ERR_TIER_CONFLICT', async () => {
    const store = await tmpStore()
    const member = await Multifeed.open(store, null, { encrypted: true })
    const w = await member.writer()
    await w.append(entry(0))
    await w.close()
    const together = Multifeed.open(store, member.mirrorKey)
    await expect(together).rejects.toBeInstanceOf(TierConflictError)
    await expect(together).rejects.toThrow(/holds the encrypted set as a member/)
    await member.close()
    const blocks = await logLength(store, member.discoveryKey)
    const after = Multifeed.open(store, member.mirrorKey)
    await expect(after).rejects.toMatchObject({ code: 'ERR_TIER_CONFLICT' })
    // The refusals wrote nothing (not even a close mark): the member re-opens with its writer.
    expect(await logLength(store, member.discoveryKey)).toBe(blocks)
    const again = await open(store, member.key)
    expect(again.tier).toBe('member')
    expect(again.feeds().map((f) => [f.length, f.local])).toEqual([[1, true]])
  })

  it('a mirror then a member (open together, then one after the other): ERR_TIER_CONFLICT', async () => {
    const { member: elsewhere } = await writtenSet(2)
    const store = await tmpStore()
    const mirror = await Multifeed.open(store, elsewhere.mirrorKey)
    const link = pipe(elsewhere, mirror)
    await mirror.synced({ minPeers: 1, timeout: 10_000 })
    await link.destroy()
    const together = Multifeed.open(store, elsewhere.key)
    await expect(together).rejects.toBeInstanceOf(TierConflictError)
    await expect(together).rejects.toThrow(/holds the encrypted set as a mirror/)
    await mirror.close()
    const after = Multifeed.open(store, elsewhere.key)
    await expect(after).rejects.toMatchObject({ code: 'ERR_TIER_CONFLICT' })
    // Even a mirror that never met a peer marks its store.
    const fresh = await tmpStore()
    const empty = await Multifeed.open(fresh, elsewhere.mirrorKey)
    await empty.close()
    await expect(Multifeed.open(fresh, elsewhere.key)).rejects.toBeInstanceOf(TierConflictError)
    // The mirror re-opens with what it held.
    const again = await open(store, elsewhere.mirrorKey)
    expect(again.feeds().map((f) => f.length)).toEqual([2])
  })

  it('the same tier twice at once is still ERR_ALREADY_OPEN', async () => {
    const member = await open(null, null, { encrypted: true })
    const store = await tmpStore()
    await open(store, member.mirrorKey)
    await expect(Multifeed.open(store, member.mirrorKey)).rejects.toBeInstanceOf(AlreadyOpenError)
  })
})
