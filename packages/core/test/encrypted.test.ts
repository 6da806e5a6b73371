/**
 * Encrypted sets (issue 15, items 1 and 2's foundations): members read and
 * write plaintext as in a plain set; what is stored, and what a store
 * without the block key holds and serves, is ciphertext; the key says the
 * set is encrypted; the mirror key derives one way; plain sets unchanged.
 */
import {
  InvalidArgumentError,
  Multifeed,
  type PairingOutcome,
  ReplicationStream
} from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { newKey, setKeysOf, tierOf } from '../src/capabilities.js'
import { filesContaining, link, linkStores, onCleanup, pipe, tmpDir, tmpStore } from './helpers.js'
import { noUnhandled, open } from './support.js'

noUnhandled()

/** 32 bytes written in every entry: what must never be found in ciphertext. */
const MARKER = Buffer.from('encrypted-set marker 0123456789ab')
const entry = (i: number): Buffer => Buffer.concat([MARKER, Buffer.from(` entry ${i}`)])

/** A session of the core `key` in `store` with no encryption key: what is stored, as it is. */
async function rawSession(store: Corestore, key: Buffer) {
  const core = store.get({ key, active: false })
  await core.ready()
  onCleanup(() => core.close())
  return core
}

describe('encrypted sets', () => {
  it('members replicate and read plaintext (get, read, feeds); the key says the set is encrypted', async () => {
    const a = await open(null, null, { encrypted: true })
    expect(a.encrypted).toBe(true)
    const b = await open(null, a.key) // the key alone: no option needed
    expect(b.encrypted).toBe(true)
    expect(b.discoveryKey).toEqual(a.discoveryKey)
    expect(b.mirrorKey).toEqual(a.mirrorKey)
    const wa = await a.writer('alice')
    const wb = await b.writer('bob')
    onCleanup(async () => {
      await wa.close()
      await wb.close()
    })
    const appended = [entry(0), entry(1), entry(2)]
    await wa.append(appended)
    // Hypercore encrypts in place: what it encrypted was a copy, never the caller's buffers.
    expect(appended).toEqual([entry(0), entry(1), entry(2)])
    await wb.append(entry(3))
    pipe(a, b)
    await Promise.all([
      a.synced({ minPeers: 1, timeout: 10_000 }),
      b.synced({ minPeers: 1, timeout: 10_000 })
    ])
    expect(b.feeds().map((f) => [f.key, f.length])).toEqual(
      expect.arrayContaining([
        [wa.key, 3],
        [wb.key, 1]
      ])
    )
    const copy = await b.get(wa.key!)
    expect(await copy.get(2)).toEqual(entry(2))
    await copy.close()
    const read: Buffer[] = []
    for await (const e of a.read()) if ('value' in e) read.push(e.value as Buffer)
    expect(read).toEqual(expect.arrayContaining([entry(0), entry(1), entry(2), entry(3)]))
    expect(read).toHaveLength(4)
  })

  it('a json set: values round-trip through encryption; ERR_ENCODING still guards appends', async () => {
    const a = await Multifeed.open(await tmpStore(), null, {
      encrypted: true,
      valueEncoding: 'json'
    })
    onCleanup(() => a.close())
    const b = await Multifeed.open(await tmpStore(), a.key, { valueEncoding: 'json' })
    onCleanup(() => b.close())
    const w = await a.writer()
    onCleanup(() => w.close())
    await w.append([{ n: 1, text: 'one' }, { n: 2 }])
    await expect(w.append(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_ENCODING' })
    pipe(a, b)
    await b.synced({ minPeers: 1, timeout: 10_000 })
    const copy = await b.get(w.key!)
    expect(await copy.get(0)).toEqual({ n: 1, text: 'one' })
    expect(await copy.get(1)).toEqual({ n: 2 })
    await copy.close()
  })

  it('what is stored is ciphertext: a session without the key reads other bytes, the files hold no marker', async () => {
    const dir = await tmpDir()
    const store = await tmpStore(dir)
    const a = await Multifeed.open(store, null, { encrypted: true })
    const w = await a.writer()
    await w.append(Array.from({ length: 50 }, (_, i) => entry(i)))
    const key = w.key!
    await w.close()
    const raw = await rawSession(store, key)
    expect(raw.length).toBe(50)
    const stored = (await raw.get(7))!
    expect(stored.includes(MARKER)).toBe(false)
    // Hypercore's 8 bytes of padding (the blinded fork id) before the ciphertext.
    expect(stored.byteLength).toBe(entry(7).byteLength + 8)
    await raw.close()
    await a.close()
    await store.close()
    expect(await filesContaining(dir, MARKER)).toEqual([])
  })

  it('control: a plain set stores the entries as they are (the search sees them)', async () => {
    const dir = await tmpDir()
    const store = await tmpStore(dir)
    const a = await Multifeed.open(store)
    expect(a.encrypted).toBe(false)
    expect(a.mirrorKey).toBe(null)
    expect(a.discoveryKey).toEqual(crypto.discoveryKey(a.key))
    const w = await a.writer()
    await w.append(Array.from({ length: 50 }, (_, i) => entry(i)))
    const key = w.key!
    await w.close()
    const raw = await rawSession(store, key)
    expect(await raw.get(7)).toEqual(entry(7))
    await raw.close()
    await a.close()
    await store.close()
    expect((await filesContaining(dir, MARKER)).length).toBeGreaterThan(0)
  })

  it('a store holding only the feed key verifies and holds ciphertext, and serves a member alone', async () => {
    const storeA = await tmpStore()
    const a = await Multifeed.open(storeA, null, { encrypted: true })
    const w = await a.writer()
    const blocks = Array.from({ length: 30 }, (_, i) => entry(i))
    await w.append(blocks)
    const feedKey = w.key!
    await w.close()

    // The blind store: the feed key, no multifeed and no encryption key.
    const blindStore = await tmpStore()
    const blind = blindStore.get({ key: feedKey })
    await blind.ready()
    onCleanup(() => blind.close())
    const toA = linkStores(storeA, blindStore)
    await blind.update({ wait: true })
    await blind.download({ start: 0, end: blocks.length }).done()
    expect(blind.contiguousLength).toBe(blocks.length) // every block verified against the tree
    for (let i = 0; i < blocks.length; i++) {
      expect((await blind.get(i))!.includes(MARKER)).toBe(false)
    }

    // The writer is gone for good; a member who never met it is served by the blind store.
    await toA.destroy()
    await a.close()
    await storeA.close()
    const storeB = await tmpStore()
    const b = await open(storeB, a.key)
    await b.add(feedKey)
    const copy = await b.get(feedKey)
    onCleanup(() => copy.close())
    linkStores(blindStore, storeB)
    await copy.update({ wait: true })
    expect(copy.length).toBe(blocks.length)
    for (let i = 0; i < blocks.length; i++) expect(await copy.get(i)).toEqual(blocks[i])
  })

  it('pairing privacy: a peer holding the topic (the discovery key) as its key pairs with nothing and learns no feed', async () => {
    const a = await open(null, null, { encrypted: true })
    const w = await a.writer()
    onCleanup(() => w.close())
    await w.append(entry(0))
    // A peer that found the topic and tries it as a set's key (a plain set: it holds neither tier).
    const c = await open(null, a.discoveryKey)
    const stream = a.replicate(true)
    const concluded = new Promise<PairingOutcome>((resolve) =>
      ReplicationStream.of(stream)!.once('pairing-concluded', resolve)
    )
    const other = c.replicate(false)
    const theirs = new Promise<PairingOutcome>((resolve) =>
      ReplicationStream.of(other)!.once('pairing-concluded', resolve)
    )
    link(stream, other)
    const [ours, seen] = await Promise.all([concluded, theirs])
    expect(ours.how).toBe('exchanged')
    expect(ours.paired).toEqual([])
    expect(seen.paired).toEqual([])
    expect(a.peers()).toEqual([])
    expect(c.feeds()).toEqual([])
  })

  it('re-opens encrypted from its key alone, with the option or without', async () => {
    const store = await tmpStore()
    const a = await Multifeed.open(store, null, { encrypted: true })
    const w = await a.writer('me')
    await w.append(entry(0))
    await w.close()
    const key = a.key
    await a.close()
    for (const options of [{}, { encrypted: true }]) {
      const again = await Multifeed.open(store, key.toString('hex'), options)
      expect(again.encrypted).toBe(true)
      expect(again.feeds()).toHaveLength(1)
      const session = await again.writer('me')
      expect(await session.get(0)).toEqual(entry(0))
      await session.append(entry(1))
      await session.close()
      await again.close()
    }
  })

  it('wrong values of encrypted are ERR_INVALID_ARGUMENT, naming the mismatch', async () => {
    const store = await tmpStore()
    const encrypted = await open(null, null, { encrypted: true })
    const cases: [Buffer | null, unknown, RegExp][] = [
      [null, 'yes', /encrypted must be a boolean/],
      [null, 1, /encrypted must be a boolean/],
      [crypto.randomBytes(32), true, /key of a plain set/],
      [encrypted.key, false, /key of an encrypted set/],
      [encrypted.mirrorKey, false, /mirror key of an encrypted set/]
    ]
    for (const [key, value, message] of cases) {
      const attempt = Multifeed.open(store, key, { encrypted: value as boolean })
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError)
      await expect(attempt).rejects.toThrow(message)
    }
    // Nothing was left open by the refused calls: the store opens the set fine.
    const ok = await open(store, encrypted.key)
    expect(ok.encrypted).toBe(true)
  })

  it('a plain set opened with encrypted: false is the plain set it always was', async () => {
    const a = await open(null, null, { encrypted: false })
    expect(a.encrypted).toBe(false)
    const b = await open(null, a.key)
    const w = await a.writer()
    onCleanup(() => w.close())
    await w.append(entry(0))
    pipe(a, b)
    await b.synced({ minPeers: 1, timeout: 10_000 })
    const copy = await b.get(w.key!)
    expect(await copy.get(0)).toEqual(entry(0))
    await copy.close()
  })
})

describe('capability tiers (capabilities.ts)', () => {
  it('the tier is read from the key: a random key is plain; member and mirror keys are tagged', () => {
    for (let i = 0; i < 100; i++) expect(tierOf(crypto.randomBytes(32))).toBe('plain')
    const member = setKeysOf(newKey(true), undefined)
    expect(member.tier).toBe('member')
    expect(tierOf(member.mirrorKey!)).toBe('mirror')
    // A tag covers its bytes: one bit flipped and the key reads as plain.
    const flipped = Buffer.from(member.key)
    flipped[0]! ^= 1
    expect(tierOf(flipped)).toBe('plain')
  })

  it('member key → mirror key → discovery key, one way; the block key from the member key alone', () => {
    const member = setKeysOf(newKey(true), undefined)
    const again = setKeysOf(Buffer.from(member.key), true)
    expect(again.mirrorKey).toEqual(member.mirrorKey) // deterministic
    expect(again.encryptionKey).toEqual(member.encryptionKey)
    const keys = [member.key, member.mirrorKey!, member.encryptionKey!, member.discoveryKey]
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(4)
    expect(member.pairingKey).toEqual(member.mirrorKey)
    expect(member.discoveryKey).toEqual(crypto.discoveryKey(member.mirrorKey!))
    // Another member key gives unrelated keys.
    const other = setKeysOf(newKey(true), undefined)
    expect(other.mirrorKey).not.toEqual(member.mirrorKey)
    expect(other.encryptionKey).not.toEqual(member.encryptionKey)
  })

  it('a plain set derives nothing: it pairs and is found with its key, as before', () => {
    const key = crypto.randomBytes(32)
    const plain = setKeysOf(key, undefined)
    expect(plain.pairingKey).toBe(key)
    expect(plain.discoveryKey).toEqual(crypto.discoveryKey(key))
    expect(plain.mirrorKey).toBe(null)
    expect(plain.encryptionKey).toBe(null)
  })
})
