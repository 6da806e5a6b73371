/**
 * Lifecycle and arguments: keys, options, closing (the multifeed and the
 * corestore under it), one instance per key and corestore, disposal, and
 * writers (re-created, restored from a key pair, racing a peer).
 */
import { Duplex, PassThrough } from 'node:stream'
import {
  ClosedError,
  formatKey,
  InvalidKeyError,
  Multifeed,
  MultifeedError,
  PROTOCOL_MAJOR,
  PROTOCOL_NAME
} from '@multifeed/core'
import CorestoreClass from 'corestore'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { onCleanup, pipe, tmpDir, tmpStore, until } from './helpers.js'
import { DONE, elementsBytes, puppet } from './puppet.js'
import { hex, membershipKeys, noUnhandled, open } from './support.js'

noUnhandled()

describe('keys', () => {
  it('generates a secure random key when none is given, never a shared default', async () => {
    const store = await tmpStore()
    const a = await open(store)
    const b = await open(store)
    expect(a.key).toHaveLength(32)
    expect(a.key).not.toEqual(b.key)
    expect(a.discoveryKey).toHaveLength(32)
    expect(a.discoveryKey).not.toEqual(a.key)
    expect(a.opened).toBe(true)
    expect(PROTOCOL_NAME).toBe('multifeed/2')
    expect(PROTOCOL_MAJOR).toBe(2)
  })

  it('takes the key as Buffer, Uint8Array, hex and z32 (and feed keys likewise)', async () => {
    const store = await tmpStore()
    const a = await Multifeed.open(store)
    const w = await a.writer()
    const feedKey = w.key!
    await w.close()
    const key = a.key
    await a.close()
    for (const form of [key, new Uint8Array(key), hex(key), formatKey(key)]) {
      const m = await Multifeed.open(store, form)
      expect(m.key).toEqual(key)
      for (const f of [feedKey, new Uint8Array(feedKey), hex(feedKey), formatKey(feedKey)]) {
        expect(m.feed(f)?.key).toEqual(feedKey)
      }
      await m.close()
    }
  })

  it('rejects malformed keys with ERR_INVALID_KEY, in open(), feed(), get() and add()', async () => {
    const store = await tmpStore()
    for (const bad of [
      Buffer.alloc(31),
      'abc',
      'zz'.repeat(32),
      `${'a'.repeat(63)}!`,
      42 as unknown as string
    ]) {
      await expect(Multifeed.open(store, bad)).rejects.toBeInstanceOf(InvalidKeyError)
    }
    const m = await open(store)
    expect(() => m.feed('not a key')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    await expect(m.get('not a key')).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    await expect(m.add(Buffer.alloc(33))).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    expect(m.feed(Buffer.alloc(32))).toBeNull()
    await expect(m.get(Buffer.alloc(32))).rejects.toMatchObject({ code: 'ERR_UNKNOWN_FEED' })
  })
})

describe('arguments', () => {
  it('rejects bad options with ERR_INVALID_ARGUMENT (an invalid valueEncoding too)', async () => {
    const store = await tmpStore()
    const bad: unknown[] = [
      'options',
      { limits: { maxFeeds: 0 } },
      { limits: { maxFeeds: 1.5 } },
      { limits: { maxDifferences: -1 } },
      { idleTimeout: 0 },
      { idleTimeout: Number.NaN },
      { valueEncoding: 'nope' },
      { valueEncoding: 42 },
      { valueEncoding: { encode() {} } }
    ]
    for (const options of bad) {
      await expect(
        Multifeed.open(store, null, options as Parameters<typeof Multifeed.open>[2])
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    await expect(Multifeed.open({} as Parameters<typeof Multifeed.open>[0])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
  })

  it('rejects bad arguments of writer(), replicate() and attach() with ERR_INVALID_ARGUMENT', async () => {
    const m = await open()
    for (const name of ['', 'x'.repeat(256), 42]) {
      await expect(m.writer(name as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    await expect(m.writer('x', null as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    expect(() => m.replicate('yes' as unknown as boolean)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => m.attach({} as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    // a duplex that is not an encrypted (Noise) stream
    for (const plain of [
      new PassThrough(),
      new Duplex({ read() {}, write: (_c, _e, cb) => cb() })
    ]) {
      expect(() => m.replicate(plain)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
      )
      expect(() => m.attach(plain)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
      )
    }
    // another key pair for an existing name
    const w = await m.writer('kp', { keyPair: crypto.keyPair() })
    await w.close()
    await expect(m.writer('kp', { keyPair: crypto.keyPair() })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    expect(m.feeds()).toHaveLength(1)
  })

  it('valueEncoding types the blocks of every session (json)', async () => {
    const a = await Multifeed.open(await tmpStore(), null, { valueEncoding: 'json' })
    const b = await Multifeed.open(await tmpStore(), a.key, { valueEncoding: 'json' })
    onCleanup(async () => {
      await a.close()
      await b.close()
    })
    const w = await a.writer()
    await w.append({ hello: ['world', 1] })
    pipe(a, b)
    await until(() => b.feed(w.key!)?.length === 1, 'b gets the block')
    const r = await b.get(w.key!)
    expect(await r.get(0)).toEqual({ hello: ['world', 1] })
    await r.close()
    await w.close()
  })
})

describe('closing', () => {
  it('operations on a closed multifeed reject with ERR_CLOSED; close is idempotent; sessions handed out close', async () => {
    const store = await tmpStore()
    const m = await Multifeed.open(store)
    const w = await m.writer()
    const r = await m.get(w.key!)
    let closeEvents = 0
    m.on('close', () => closeEvents++)
    await Promise.all([m.close(), m.close()])
    await m.close()
    expect(m.closed).toBe(true)
    expect(closeEvents).toBe(1)
    expect(w.closed).toBe(true)
    expect(r.closed).toBe(true)
    await expect(m.writer()).rejects.toBeInstanceOf(ClosedError)
    await expect(m.get(w.key!)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(m.add(crypto.randomBytes(32))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(m.downloaded()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    // Closed comes first, whatever else is wrong with the call.
    for (const call of [
      () => m.block('not a key'),
      () => m.unblock('not a key'),
      () => m.remove('not a key'),
      () => m.add('not a key')
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    }
    expect(() => m.replicate(true)).toThrow(ClosedError)
    const other = await open(store)
    expect(() => m.attach(other.replicate(true))).toThrow(ClosedError)
    // what we knew stays readable
    expect(m.feeds()).toHaveLength(1)
  })

  it('calls in flight when close() is called reject with ERR_CLOSED (none resolves with a closed session)', async () => {
    const m = await Multifeed.open(await tmpStore())
    const w = await m.writer('x')
    // a connected peer claims blocks that never come: downloaded() is pending
    const p = await puppet(m.replicate(true), m.key)
    await p.opened
    p.send.elements(elementsBytes([{ key: crypto.randomBytes(32), length: 5 }], DONE))
    await until(() => m.peers()[0]?.reconciled === true, 'reconciled with the puppet')
    const outcome = (call: Promise<unknown>): Promise<string> =>
      call.then(
        (value) =>
          `resolved${value && typeof value === 'object' && 'closed' in value ? ` closed=${value.closed}` : ''}`,
        (err: MultifeedError) => err.code
      )
    const calls = [
      m.downloaded(),
      m.get(w.key!),
      m.writer('x'),
      m.writer('y'),
      m.add(crypto.randomBytes(32))
    ].map(outcome)
    await m.close()
    const outcomes = await Promise.all(calls)
    expect(outcomes).toEqual(Array(calls.length).fill('ERR_CLOSED'))
  })

  it('appends in flight at close() land and are listed after re-open, or reject with a code: none vanishes', async () => {
    const dir = await tmpDir()
    const store = new CorestoreClass(dir)
    const m = await Multifeed.open(store)
    const w = await m.writer('x')
    const derived = w.session() // a session of a session we handed out
    await w.append(Buffer.from('0'))
    const outcome = (call: Promise<{ length: number }>, blocks: number) =>
      call.then(
        () => ({ landed: blocks, code: null }),
        (err: { code?: string }) => ({ landed: 0, code: err.code ?? String(err) })
      )
    const calls = [
      outcome(w.append(Buffer.from('1')), 1),
      outcome(w.append([Buffer.from('2'), Buffer.from('3')]), 2),
      outcome(derived.append(Buffer.from('4')), 1)
    ]
    const closing = m.close()
    calls.push(outcome(derived.append(Buffer.from('5')), 1)) // while close() runs
    await closing
    calls.push(outcome(derived.append(Buffer.from('6')), 1)) // after it resolved
    const outcomes = await Promise.all(calls)
    await store.close()
    // the session we handed out was closed with the multifeed, so was the one made from it
    expect(outcomes[4]?.landed).toBe(0)
    for (const { code } of outcomes) expect([null, 'ERR_CLOSED', 'SESSION_CLOSED']).toContain(code)
    const landed = 1 + outcomes.reduce((sum, o) => sum + o.landed, 0)

    const again = await tmpStore(dir)
    const m2 = await Multifeed.open(again, m.key)
    onCleanup(() => m2.close())
    expect(m2.feed(w.key!)?.length).toBe(landed)
    const values: string[] = []
    for await (const entry of m2.read()) values.push(String(entry.value))
    expect(values).toHaveLength(landed)
    // and a peer learns every block that landed
    const peer = await open(null, m.key)
    pipe(m2, peer)
    await until(() => peer.feed(w.key!)?.length === landed, `the peer learns ${landed} blocks`)
  })

  it('open() on a closed corestore rejects with ERR_CLOSED', async () => {
    const store = new CorestoreClass(await tmpDir())
    await store.close()
    await expect(Multifeed.open(store)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('writer(), get() and add() after the corestore closed reject with a MultifeedError with a code', async () => {
    const store = new CorestoreClass(await tmpDir())
    await store.ready()
    const m = await Multifeed.open(store)
    onCleanup(() => m.close())
    const w = await m.writer('before')
    const key = w.key!
    await store.close()
    for (const call of [() => m.writer('new'), () => m.writer('before'), () => m.get(key)]) {
      const err = await call().then(
        () => null,
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(MultifeedError)
      expect((err as MultifeedError).code).toBe('ERR_CLOSED')
    }
    const added = await m.add(crypto.randomBytes(32)).then(
      () => null,
      (e: unknown) => e
    )
    expect(added).toBeInstanceOf(MultifeedError)
    expect((added as MultifeedError).code).toBe('ERR_CLOSED')
    await m.close()
  })

  it('the remote letting go after our corestore closed: no throw, the connection lives on', async () => {
    const store = new CorestoreClass(await tmpDir())
    await store.ready()
    const a = await Multifeed.open(store)
    onCleanup(() => a.close())
    const b = await open(null, a.key)
    const { a: sa, b: sb } = pipe(a, b)
    await until(() => a.peers().length === 1 && b.peers().length === 1, 'both paired')
    await store.close()
    // b lets go of the multifeed: a's channel closes by the remote, and a
    // would pair again, but its corestore is gone.
    b.detach(sb)
    await until(() => a.peers().length === 0, 'a sees the remote let go')
    // A positive signal that a handled the close: a channel b opens after it
    // is refused by a (a round trip through a's Protomux).
    await new Promise<void>((resolve) => {
      const channel = Hypercore.getProtocolMuxer(sb).createChannel({
        protocol: 'test/round-trip',
        onclose: () => resolve()
      })
      channel!.open()
    })
    expect(sa.destroyed).toBe(false)
    expect(sb.destroyed).toBe(false)
  })

  it('is disposable with await using', async () => {
    const store = await tmpStore()
    let seen: Multifeed | null = null
    {
      await using m = await Multifeed.open(store)
      seen = m
    }
    expect(seen?.closed).toBe(true)
  })
})

describe('one instance per key and corestore', () => {
  it('a second open() of a key open in the same corestore rejects with ERR_ALREADY_OPEN; after close it opens', async () => {
    const store = await tmpStore()
    const a = await Multifeed.open(store)
    await expect(Multifeed.open(store, a.key)).rejects.toMatchObject({ code: 'ERR_ALREADY_OPEN' })
    // through another session or namespace of the same corestore too
    await expect(Multifeed.open(store.session(), a.key)).rejects.toMatchObject({
      code: 'ERR_ALREADY_OPEN'
    })
    await expect(Multifeed.open(store.namespace('other'), a.key)).rejects.toMatchObject({
      code: 'ERR_ALREADY_OPEN'
    })
    // another corestore is another instance
    const elsewhere = await open(null, a.key)
    expect(elsewhere.opened).toBe(true)
    // the first still works
    const w = await a.writer()
    await w.append(Buffer.from('still here'))
    await a.close()
    const again = await open(store, a.key)
    expect(again.feeds()).toHaveLength(1)
  })
})

describe('one multifeed per core', () => {
  it('add() of a key this corestore holds for another multifeed rejects with ERR_INVALID_ARGUMENT', async () => {
    const store = await tmpStore()
    const x = await open(store)
    const y = await open(store)
    const wy = await y.writer()
    await wy.close()
    await expect(x.add(wy.key!)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(x.feeds()).toHaveLength(0)
    // idempotent for a key of the set
    const key = crypto.randomBytes(32)
    const first = await x.add(key)
    expect(await x.add(key)).toEqual(first)
    expect(x.feeds()).toHaveLength(1)
  })
})

describe('writers', () => {
  it('writer(name) after the caller closed the session it returned gives a usable session again', async () => {
    const multi = await open()
    const w = await multi.writer('x')
    await w.append(Buffer.from('0'))
    await w.close()
    const again = await multi.writer('x')
    expect(again.closed).toBe(false)
    await again.append(Buffer.from('1'))
    expect(multi.feed(w.key!)!.length).toBe(2)
    await again.close()
  })

  it('concurrent writer() calls with one key pair under two names register it once (a fresh peer learns it)', async () => {
    const multi = await open()
    const keyPair = crypto.keyPair()
    const [a, b] = await Promise.all([
      multi.writer('a', { keyPair }),
      multi.writer('b', { keyPair })
    ])
    expect(a.key).toEqual(b.key)
    await a.append(Buffer.from('x'))
    expect(multi.feeds()).toHaveLength(1)
    const fresh = await open(null, multi.key)
    pipe(multi, fresh)
    await until(() => fresh.feed(a.key!)?.length === 1, 'a fresh peer learns the writer')
    await a.close()
    await b.close()
  })

  it('writer({ keyPair }) for a key learned from a peer that served it (a restored identity) is writable', async () => {
    const keyPair = crypto.keyPair()
    const a = await open()
    const old = await a.writer('me', { keyPair })
    await old.append(Buffer.from('written on my old device'))
    const multi = await open(null, a.key)
    pipe(a, multi)
    await until(() => multi.feed(old.key!)?.length === 1, 'the new device downloads it')
    expect(multi.feed(old.key!)).toMatchObject({ local: false, name: null })
    const w = await multi.writer('me', { keyPair })
    expect(w.key).toEqual(old.key)
    expect(w.writable).toBe(true)
    await w.append(Buffer.from('hello again'))
    expect(multi.feeds()).toHaveLength(1)
    expect(multi.feeds()[0]).toMatchObject({ local: true, name: 'me', length: 2 })
    const c = await open(null, a.key)
    pipe(multi, c)
    await until(() => c.feed(old.key!)?.length === 2, 'a third peer gets the new block')
    await w.close()
    await old.close()
    // and it stays ours after a restart
    const store = multi.corestore
    await multi.close()
    const reopened = await open(store, a.key)
    expect(reopened.feeds()[0]).toMatchObject({ local: true, name: 'me' })
  })

  it('writer({ keyPair }) for a key only named so far rejects with ERR_NOT_WRITABLE, leaves it theirs, and works once it downloaded', async () => {
    const keyPair = crypto.keyPair()
    const a = await open()
    const old = await a.writer('me', { keyPair })
    await old.append(Buffer.from('written on my old device'))
    onCleanup(() => old.close())
    const store = await tmpStore()
    const multi = await open(store, a.key)
    // a peer names the feed (and a length) but serves nothing
    const p = await puppet(multi.replicate(true), multi.key)
    await p.opened
    p.send.elements(elementsBytes([{ key: old.key!, length: 1 }]))
    await until(() => multi.openCores === 1, 'we open the core to fetch it')
    await expect(multi.writer('me', { keyPair })).rejects.toMatchObject({
      code: 'ERR_NOT_WRITABLE'
    })
    // nothing recorded as ours: the feed is still mirrored from peers
    expect(multi.feed(old.key!)).toMatchObject({ local: false, name: null })
    pipe(a, multi)
    await until(() => multi.feed(old.key!)?.length === 1, 'the new device downloads it')
    const w = await multi.writer('me', { keyPair })
    expect(w.writable).toBe(true)
    await w.append(Buffer.from('hello again'))
    await w.close()
    expect(multi.feed(old.key!)).toMatchObject({ local: true, name: 'me', length: 2 })
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.filter((k) => k === hex(old.key!))).toHaveLength(2) // added, then ours
  })

  it('writer({ keyPair }) racing a peer offering the same key registers it once, as ours', async () => {
    const store = await tmpStore()
    let asked = 0
    let release: () => void = () => {}
    const decided = new Promise<void>((resolve) => {
      release = resolve
    })
    const multi = await Multifeed.open(store, null, {
      policy: {
        accept: async () => {
          asked++
          await decided
          return true
        }
      }
    })
    const keyPair = crypto.keyPair()
    const elsewhere = (await tmpStore()).get({ keyPair })
    await elsewhere.ready()
    const coreKey = elsewhere.key!
    await elsewhere.close()
    const p = await puppet(multi.replicate(true), multi.key)
    await p.opened
    // a peer offers our (restored) identity key ...
    p.send.elements(elementsBytes([{ key: coreKey, length: 0 }]))
    await until(() => asked === 1, 'the offer is being decided')
    // ... while the app re-creates its writer from the same key pair
    const creating = multi.writer('me', { keyPair })
    release()
    const w = await creating
    expect(w.key).toEqual(coreKey)
    await w.append(Buffer.from('mine'))
    await w.close()
    expect(multi.feeds()).toHaveLength(1)
    expect(multi.feeds()[0]).toMatchObject({ local: true, name: 'me' })
    const fresh = await open(null, multi.key)
    pipe(multi, fresh)
    await until(() => fresh.feed(coreKey)?.length === 1, 'a fresh peer learns the writer')
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.filter((k) => k === hex(coreKey)).length).toBeGreaterThanOrEqual(1)
    expect(new Set(records).size).toBe(1)
  })
})
