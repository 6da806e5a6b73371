import {
  Multifeed,
  type MultifeedError,
  type MultifeedPeer,
  replicateCorestore
} from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import {
  feedsBytes,
  forgeCapability,
  forgePeer,
  handshakeBytes,
  recordHypercoreOpens
} from './forge.js'
import { link, linkStores, next, pipe, tmpStore, until, untilConverged } from './helpers.js'

async function victim() {
  const store = await tmpStore()
  const multi = await Multifeed.open(store)
  const w = await multi.writer('secret-name-never-sent')
  await w.append(Buffer.from('private'))
  return { store, multi, w }
}

describe('security', () => {
  it('peers with different keys exchange nothing', async () => {
    const a = await Multifeed.open(await tmpStore())
    const b = await Multifeed.open(await tmpStore())
    await (await a.writer()).append(Buffer.from('a'))
    await (await b.writer()).append(Buffer.from('b'))
    const errors: MultifeedError[] = []
    a.on('peer-error', (e) => errors.push(e))
    b.on('peer-error', (e) => errors.push(e))
    const p = pipe(a, b)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(a.feeds()).toHaveLength(1)
    expect(b.feeds()).toHaveLength(1)
    expect(a.peers()).toHaveLength(0)
    expect(b.peers()).toHaveLength(0)
    // different discovery keys: the channels never even pair
    expect(errors).toEqual([])
    expect(p.a.destroyed).toBe(false)
  })

  it('a peer that knows only the discovery key learns no feed key and gets ERR_CAPABILITY', async () => {
    const { store, multi, w } = await victim()
    const attacker = await tmpStore()
    const { a: honestStream, b: attackerStream } = linkStores(store, attacker)
    const opens = recordHypercoreOpens(attackerStream)
    const errorSeen = next<[MultifeedError, MultifeedPeer]>(multi, 'peer-error')
    multi.attach(honestStream)
    const forged = await forgePeer(attackerStream, multi.discoveryKey, () =>
      handshakeBytes({ capability: crypto.randomBytes(32) })
    )
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_CAPABILITY')
    await forged.closed
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(forged.received).toEqual([])
    expect(opens).toEqual([])
    // our capability, sent in our open, says nothing about the key or the feeds
    const ourOpen = await Promise.race([forged.opened, Promise.resolve(Buffer.alloc(0))])
    expect(ourOpen.includes(w.key!)).toBe(false)
    expect(ourOpen.includes(multi.key)).toBe(false)
    // the connection lives on, and so does our multifeed
    expect(honestStream.destroyed).toBe(false)
    expect(multi.feeds()).toHaveLength(1)
    expect(multi.peers()).toHaveLength(0)
  })

  it('a capability replayed from another connection does not verify', async () => {
    const { store, multi } = await victim()
    const attacker = await tmpStore()
    const { a: honest, b: evil } = linkStores(store, attacker)
    const errorSeen = next<[MultifeedError]>(multi, 'peer-error')
    multi.attach(honest)
    // a valid capability, but for another handshake hash
    await forgePeer(evil, multi.discoveryKey, (_hash, isInitiator) =>
      handshakeBytes({
        capability: forgeCapability(multi.key, crypto.randomBytes(64), isInitiator)
      })
    )
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_CAPABILITY')
  })

  it('a major version mismatch is reported as ERR_VERSION_MISMATCH with both versions', async () => {
    const { store, multi } = await victim()
    const other = await tmpStore()
    const { a: honest, b: future } = linkStores(store, other)
    const errorSeen = next<[MultifeedError & { usVersion: number; themVersion: number }]>(
      multi,
      'peer-error'
    )
    multi.attach(honest)
    const forged = await forgePeer(future, multi.discoveryKey, (hash, isInitiator) =>
      Buffer.concat([
        handshakeBytes({ major: 2, capability: forgeCapability(multi.key, hash, isInitiator) }),
        Buffer.from('fields of a future version')
      ])
    )
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_VERSION_MISMATCH')
    expect(err.usVersion).toBe(1)
    expect(err.themVersion).toBe(2)
    await forged.closed
    expect(forged.received).toEqual([])
  })

  it('a newer minor version with extra handshake fields is accepted', async () => {
    const { store, multi, w } = await victim()
    const other = await tmpStore()
    const { a: honest, b: newer } = linkStores(store, other)
    multi.attach(honest)
    const forged = await forgePeer(newer, multi.discoveryKey, (hash, isInitiator) =>
      Buffer.concat([
        handshakeBytes({ minor: 7, capability: forgeCapability(multi.key, hash, isInitiator) }),
        Buffer.from([1, 2, 3])
      ])
    )
    await until(() => forged.received.length > 0, 'the honest side sends its feed list')
    expect(forged.received[0]!.includes(w.key!)).toBe(true)
    // local names never travel
    expect(forged.received.some((m) => m.includes(Buffer.from('secret-name-never-sent')))).toBe(
      false
    )
  })

  for (const [name, bytes, code] of [
    ['truncated keys', () => feedsBytes([crypto.randomBytes(32)], 0, 3), 'ERR_MALFORMED_MESSAGE'],
    ['an empty message', () => Buffer.alloc(0), 'ERR_MALFORMED_MESSAGE'],
    ['a garbage varint', () => Buffer.from([0xff, 0xff]), 'ERR_MALFORMED_MESSAGE'],
    [
      'more keys than maxKeysPerMessage',
      () => feedsBytes(Array.from({ length: 1025 }, () => crypto.randomBytes(32))),
      'ERR_LIMIT_EXCEEDED'
    ],
    ['an absurd key count', () => feedsBytes([], 0, 2 ** 31), 'ERR_LIMIT_EXCEEDED']
  ] as const) {
    it(`a peer sending ${name} is cut off (${code}) while we keep working`, async () => {
      const { store, multi } = await victim()
      const friend = await Multifeed.open(await tmpStore(), multi.key)
      const attacker = await tmpStore()
      const { a: honest, b: evil } = linkStores(store, attacker)
      const errorSeen = next<[MultifeedError]>(multi, 'peer-error')
      multi.attach(honest)
      const forged = await forgePeer(evil, multi.discoveryKey, (hash, isInitiator) =>
        handshakeBytes({ capability: forgeCapability(multi.key, hash, isInitiator) })
      )
      await forged.opened
      forged.sendFeeds(bytes())
      const [err] = await errorSeen
      expect(err.code).toBe(code)
      await forged.closed
      expect(honest.destroyed).toBe(false)
      expect(multi.feeds()).toHaveLength(1)
      // still fully working with an honest peer
      pipe(multi, friend)
      await untilConverged([multi, friend], 1)
    })
  }

  it('a peer pushing past maxFeeds is cut off and none of that batch is added', async () => {
    const store = await tmpStore()
    const multi = await Multifeed.open(store, null, { limits: { maxFeeds: 5 } })
    await multi.writer()
    const attacker = await tmpStore()
    const { a: honest, b: evil } = linkStores(store, attacker)
    const errorSeen = next<[MultifeedError & { limit: string }]>(multi, 'peer-error')
    multi.attach(honest)
    const forged = await forgePeer(evil, multi.discoveryKey, (hash, isInitiator) =>
      handshakeBytes({ capability: forgeCapability(multi.key, hash, isInitiator) })
    )
    await forged.opened
    forged.sendFeeds(feedsBytes([crypto.randomBytes(32), crypto.randomBytes(32)]))
    await until(() => multi.feeds().length === 3, 'first batch accepted')
    forged.sendFeeds(feedsBytes(Array.from({ length: 3 }, () => crypto.randomBytes(32))))
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(err.limit).toBe('maxFeeds')
    expect(multi.feeds()).toHaveLength(3)
    await expect(multi.writer('one-more')).resolves.toBeTruthy()
  })

  it('a peer sharing only multifeed X is offered no core of multifeed Y in the same corestore', async () => {
    const storeA = await tmpStore()
    const x = await Multifeed.open(storeA)
    const y = await Multifeed.open(storeA)
    const wx = await x.writer()
    await wx.append(Buffer.from('x'))
    const wy1 = await y.writer('one')
    const wy2 = await y.writer('two')
    await wy1.append(Buffer.from('y'))
    // a plain core of the user's, outside any multifeed, with an active session
    const loose = storeA.get({ name: 'loose' })
    await loose.ready()
    await loose.append(Buffer.from('loose'))

    const storeB = await tmpStore()
    const xb = await Multifeed.open(storeB, x.key)
    const sa = replicateCorestore(storeA, true)
    const sb = replicateCorestore(storeB, false)
    const opens = recordHypercoreOpens(sb)
    link(sa, sb)
    x.attach(sa)
    y.attach(sa) // y is attached too, but B never proves y's capability
    xb.attach(sb)
    await untilConverged([x, xb], 1)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const forbidden = [wy1, wy2, loose].map((c) => c.discoveryKey!.toString('hex'))
    expect(opens.map((d) => d.toString('hex')).filter((d) => forbidden.includes(d))).toEqual([])
    expect(xb.feed(wy1.key!)).toBeNull()
  })
})
