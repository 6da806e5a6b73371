/**
 * What a peer learns and what a lying or broken peer can do, on multifeed/2:
 * keys, capabilities, versions, malformed and oversized messages, limits
 * and policies. The lying peer is a puppet (puppet.ts) on the same
 * connection as a bystander multifeed Y, which must live on whatever the
 * puppet does to X's channel.
 */
import {
  type Multifeed,
  type MultifeedError,
  type MultifeedPeer,
  PROTOCOL_NAME,
  ReplicationStream,
  type SyncInfo
} from '@multifeed/core'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { decodeSymbols, ELEMENTS_LIST, ELEMENTS_LIST_END } from '../src/protocol/messages.js'
import { symbolLimit } from '../src/protocol/ReconcileCodec.js'
import { symbolsFor } from '../src/protocol/Reconciler.js'
import { replyAllowance } from '../src/replication/ReplyBudget.js'
import { forgeCapability, forgePeer, handshakeBytes } from './forge.js'
import { link, next, onCleanup, pipe, tmpStore, until } from './helpers.js'
import {
  capability,
  DONE,
  digestOf,
  elementsBytes,
  openBytes,
  type Puppet,
  puppet,
  setProof,
  symbolsBytes,
  tokensBytes,
  uint
} from './puppet.js'
import { spy } from './spy.js'
import { errorsOf, noUnhandled, open, stillSyncs } from './support.js'

noUnhandled()

/** Coded symbols in a Symbols message. */
const symbolCount = (raw: Buffer): number => decodeSymbols(raw).symbols.length

/**
 * The honest side: multifeed X holding one writer with a local name, and a
 * bystander Y, both on one stream of store A; Y's other copy rides the
 * puppet's side of the connection.
 */
async function victim(xOptions = {}, honestInitiator = true) {
  const store = await tmpStore()
  const multi = await open(store, null, xOptions)
  const w = await multi.writer('secret-name-never-sent')
  await w.append(Buffer.from('private'))
  onCleanup(() => w.close())
  const ya = await open(store)
  const yb = await open(null, ya.key)
  const sa = multi.replicate(honestInitiator)
  ya.attach(sa)
  return { store, multi, w, sa, ya, yb }
}

type Victim = Awaited<ReturnType<typeof victim>>

/** Y still syncs between the honest side and the puppet's side. */
function bystanderLives(v: Victim, p: { stream: import('node:stream').Duplex }, tag: string) {
  return stillSyncs(v.ya, v.yb, [v.sa, p.stream], tag)
}

describe('keys and capabilities', () => {
  it('peers with different keys exchange nothing: no channel, no error (a shared multifeed on the same connection syncs)', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const a = await open(storeA)
    const b = await open(storeB)
    await (await a.writer()).append(Buffer.from('a'))
    await (await b.writer()).append(Buffer.from('b'))
    const errors = [...errorsOf(a), ...errorsOf(b)]
    const za = await open(storeA)
    const zb = await open(storeB, za.key)
    const sa = a.replicate(true)
    za.attach(sa)
    const sb = b.replicate(false)
    zb.attach(sb)
    const seen = spy(sb)
    link(sa, sb)
    // Positive signal: Z, announced in the same pairing message, synced.
    await stillSyncs(za, zb, [sa, sb], 'z')
    expect(ReplicationStream.of(sb)!.stats.tokensReceived).toBe(2)
    expect(a.peers()).toHaveLength(0)
    expect(b.peers()).toHaveLength(0)
    expect(a.feeds()).toHaveLength(1)
    expect(b.feeds()).toHaveLength(1)
    expect(seen.opensOf(PROTOCOL_NAME)).toBe(1)
    expect(errors).toEqual([])
  })

  it('a bad capability: ERR_CAPABILITY, nothing learned, nothing read, the connection and Y live on', async () => {
    const v = await victim()
    const errors = errorsOf(v.multi)
    const errorSeen = next<[MultifeedError, MultifeedPeer]>(v.multi, 'peer-error')
    const p = await puppet(v.sa, v.multi.key, {
      with: v.yb,
      open: () => openBytes({ capability: crypto.randomBytes(16) })
    })
    const seen = spy(p.stream)
    const [err, peer] = await errorSeen
    expect(err.code).toBe('ERR_CAPABILITY')
    expect(peer.opened).toBe(false)
    // queued right behind the bad open: never read
    p.send.elements(elementsBytes([{ key: crypto.randomBytes(32), length: 5 }], DONE))
    await p.closed
    await bystanderLives(v, p, 'after-bad-capability')
    expect(v.multi.feeds()).toHaveLength(1)
    expect(v.multi.peers()).toHaveLength(0)
    expect(errors).toHaveLength(1)
    // Our open proved our key, and says nothing of the set's keys.
    const ours = p.received.open ?? Buffer.alloc(0)
    for (const secret of [v.w.key!, v.multi.key, v.multi.discoveryKey]) {
      expect(ours.includes(secret)).toBe(false)
      expect(seen.contains(secret)).toBe(false)
    }
    expect(p.received.symbols).toEqual([])
    expect(p.received.elements).toEqual([])
    expect(seen.opens.some((o) => o.id?.equals(v.w.discoveryKey!))).toBe(false)
  })

  it('our pairing token reflected back pairs nothing; the right one pairs', async () => {
    const v = await victim()
    const p = await puppet(v.sa, v.multi.key, { announce: false })
    await until(() => p.tokens.length === 2, 'we announce X and Y')
    p.announce(p.tokens)
    // positive signal: the valid token, announced after the reflected ones, pairs X
    p.announce()
    await p.opened
    const seen = ReplicationStream.of(v.sa)!.stats
    expect(seen.tokensReceived).toBe(3)
    expect(v.multi.peers()).toHaveLength(1)
    // one channel only: the reflection opened nothing
    expect([...p.mux].filter((ch) => ch.protocol === PROTOCOL_NAME)).toHaveLength(1)
  })

  it('a capability replayed from another connection does not verify', async () => {
    const v = await victim()
    const errorSeen = next<[MultifeedError]>(v.multi, 'peer-error')
    // a valid capability of the right key and role, for another handshake hash
    const p = await puppet(v.sa, v.multi.key, {
      with: v.yb,
      open: (self) =>
        openBytes({ capability: capability(v.multi.key, crypto.randomBytes(64), self.isInitiator) })
    })
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_CAPABILITY')
    await p.closed
    // our own capability reflected back (the other role's) does not verify either
    const v2 = await victim()
    const reflected = next<[MultifeedError]>(v2.multi, 'peer-error')
    await puppet(v2.sa, v2.multi.key, {
      with: v2.yb,
      open: (self) =>
        openBytes({ capability: capability(v2.multi.key, self.hash, !self.isInitiator) })
    })
    expect((await reflected)[0].code).toBe('ERR_CAPABILITY')
    await bystanderLives(v, p, 'after-replay')
  })

  it('a newer minor version with extra open fields is accepted; local names never travel', async () => {
    const v = await victim()
    const p = await puppet(v.sa, v.multi.key, {
      with: v.yb,
      open: (self) =>
        openBytes({ minor: 7, capability: self.capability(), extra: Buffer.from([1, 2, 3]) })
    })
    const seen = spy(p.stream)
    await p.opened
    // Our set (1 feed) differs from the puppet's (0 announced, a random proof),
    // and minor 7 knows list mode: we, the initiator, send our list.
    await until(() => p.received.elements.length > 0, 'the honest side starts reconciling')
    expect(p.received.elements[0]![0]).toBe(ELEMENTS_LIST | ELEMENTS_LIST_END)
    expect(v.multi.peers()).toHaveLength(1)
    p.send.elements(elementsBytes([], DONE))
    const [, info] = await next<[MultifeedPeer, SyncInfo]>(v.multi, 'reconciled')
    expect(info.added).toEqual([])
    expect(seen.contains(Buffer.from('secret-name-never-sent'))).toBe(false)
  })
})

describe('versions', () => {
  it('an open of another major on multifeed/2: ERR_VERSION_MISMATCH with both versions, nothing sent', async () => {
    const v = await victim()
    const errorSeen = next<[MultifeedError & { usVersion: number; themVersion: number }]>(
      v.multi,
      'peer-error'
    )
    const p = await puppet(v.sa, v.multi.key, {
      with: v.yb,
      open: (self) =>
        openBytes({
          major: 3,
          capability: self.capability(),
          extra: Buffer.from('fields of a future version')
        })
    })
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_VERSION_MISMATCH')
    expect(err.usVersion).toBe(2)
    expect(err.themVersion).toBe(3)
    await p.closed
    expect(p.received.symbols).toEqual([])
    expect(p.received.elements).toEqual([])
    await bystanderLives(v, p, 'after-major-3')
  })

  it('a 0.1 peer (multifeed/1, channel id = discovery key) gets nothing and is reported as ERR_VERSION_MISMATCH 2 vs 1', async () => {
    const v = await victim()
    const errorSeen = next<[MultifeedError & { usVersion: number; themVersion: number }]>(
      v.multi,
      'peer-error'
    )
    const old = Hypercore.createProtocolStream(false)
    const seen = spy(old)
    link(v.sa, old)
    const forged = await forgePeer(old, v.multi.discoveryKey, (hash, isInitiator) =>
      handshakeBytes({ capability: forgeCapability(v.multi.key, hash, isInitiator) })
    )
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_VERSION_MISMATCH')
    expect(err.usVersion).toBe(2)
    expect(err.themVersion).toBe(1)
    await forged.closed
    expect(forged.received).toEqual([])
    expect(seen.contains(v.w.key!)).toBe(false)
    expect(v.sa.destroyed).toBe(false)
    expect(v.multi.peers()).toHaveLength(0)
  })

  it('a peer of a future major (multifeed/3/pair) pairs nothing, learns nothing, breaks nothing', async () => {
    const v = await victim()
    const errors = errorsOf(v.multi)
    const future = Hypercore.createProtocolStream(false)
    const seen = spy(future)
    const mux = Hypercore.getProtocolMuxer(future)
    let rejected = false
    const pairing = mux.createChannel<Buffer>({
      protocol: 'multifeed/3/pair',
      onclose: () => {
        rejected = true
      }
    })!
    pairing.open(Buffer.concat([uint(3), uint(0)]))
    link(v.sa, future)
    await until(() => rejected, 'the v3 pairing channel is refused')
    await until(() => seen.opensOf('multifeed/2/pair') === 1, 'our pairing channel arrived')
    expect(seen.contains(v.w.key!)).toBe(false)
    expect(seen.contains(v.multi.discoveryKey)).toBe(false)
    expect(v.sa.destroyed).toBe(false)
    expect(errors).toEqual([])
  })
})

describe('malformed and oversized messages', () => {
  const key32 = () => crypto.randomBytes(32)
  const cases: Array<{
    name: string
    code: 'ERR_MALFORMED_MESSAGE' | 'ERR_LIMIT_EXCEEDED'
    /** The honest side's role (the responder receives symbols, the initiator More). */
    honestInitiator?: boolean
    /** The puppet's open (default: valid capability, random set proof). */
    open?: (p: Puppet, v: Victim) => Buffer
    send?: (p: Puppet) => void
  }> = [
    { name: 'an empty open', code: 'ERR_MALFORMED_MESSAGE', open: () => Buffer.alloc(0) },
    {
      name: 'a truncated open (half a capability)',
      code: 'ERR_MALFORMED_MESSAGE',
      open: (p) => Buffer.concat([uint(2), uint(0), p.capability().subarray(0, 8)])
    },
    {
      // Deferred (minor 6: the puppet pairs through the library), then symbols, not its sketches.
      name: 'an open deferring its sketch of a set that differs, then symbols before the sketches',
      code: 'ERR_MALFORMED_MESSAGE',
      open: (p) => openBytes({ capability: p.capability(), sketch: [] }),
      send: (p) => p.send.symbols(symbolsBytes(0, []))
    },
    {
      name: 'deferred sketches without the sketch of the set that differs',
      code: 'ERR_MALFORMED_MESSAGE',
      open: (p) => openBytes({ capability: p.capability(), sketch: [] }),
      send: (p) => p.send.sketches(uint(0))
    },
    {
      name: 'sketches after an open that deferred none',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.sketches(Buffer.concat([uint(1), uint(0)]))
    },
    {
      name: 'an open with 257 sketch counters',
      code: 'ERR_MALFORMED_MESSAGE',
      open: (p) => openBytes({ capability: p.capability(), sketch: new Array(257).fill(1) })
    },
    {
      name: 'symbols sent to the initiator',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.symbols(symbolsBytes(0, []))
    },
    {
      name: 'truncated symbols',
      code: 'ERR_MALFORMED_MESSAGE',
      honestInitiator: false,
      send: (p) => p.send.symbols(Buffer.concat([uint(0), uint(1), Buffer.alloc(20)]))
    },
    {
      name: '4,097 symbols in one message',
      code: 'ERR_LIMIT_EXCEEDED',
      honestInitiator: false,
      send: (p) => p.send.symbols(Buffer.concat([uint(0), uint(4097)]))
    },
    {
      name: 'symbols out of order',
      code: 'ERR_MALFORMED_MESSAGE',
      honestInitiator: false,
      send: (p) =>
        p.send.symbols(symbolsBytes(5, [{ sum: Buffer.alloc(40), hashHi: 0, hashLo: 0, count: 0 }]))
    },
    {
      name: 'symbols beyond the most a reconciliation may hold',
      code: 'ERR_MALFORMED_MESSAGE',
      honestInitiator: false,
      send: (p) => p.send.symbols(Buffer.concat([uint(2 ** 20), uint(1)]))
    },
    {
      name: 'a More asking for 0 symbols',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.more(uint(0))
    },
    {
      name: 'a More asking for 4,097 symbols',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.more(uint(4097))
    },
    {
      name: 'Mores asking for more symbols than two sets of these sizes ever need',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => {
        for (let i = 0; i < 3; i++) p.send.more(uint(4096))
      }
    },
    {
      name: 'a More sent to the responder',
      code: 'ERR_MALFORMED_MESSAGE',
      honestInitiator: false,
      send: (p) => p.send.more(uint(8))
    },
    {
      name: 'an empty Elements message',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.elements(Buffer.alloc(0))
    },
    {
      name: 'a garbage varint',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.elements(Buffer.from([0xff, 0xff]))
    },
    {
      name: 'truncated elements',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => p.send.elements(elementsBytes([{ key: key32(), length: 1 }], 0, 3))
    },
    {
      name: '4,097 elements in one message',
      code: 'ERR_LIMIT_EXCEEDED',
      send: (p) =>
        p.send.elements(
          elementsBytes(
            Array.from({ length: 4097 }, () => ({ key: key32(), length: 0 })),
            0
          )
        )
    },
    {
      name: 'an absurd element count',
      code: 'ERR_LIMIT_EXCEEDED',
      send: (p) => p.send.elements(Buffer.concat([uint(0), uint(2 ** 31)]))
    },
    {
      name: 'a length beyond 2^53',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) =>
        p.send.elements(
          Buffer.concat([uint(0), uint(1), key32(), Buffer.from([0xff]), Buffer.alloc(8, 0xff)])
        )
    },
    {
      name: 'the end of a reconciliation that never began (in sync)',
      code: 'ERR_MALFORMED_MESSAGE',
      open: (p, v) =>
        openBytes({
          capability: p.capability(),
          setProof: setProof(
            v.multi.key,
            p.hash,
            digestOf(v.multi.key, [{ key: v.w.key!, length: 1 }])
          )
        }),
      send: (p) => p.send.elements(elementsBytes([], DONE))
    },
    {
      name: 'a reconciliation ended twice',
      code: 'ERR_MALFORMED_MESSAGE',
      send: (p) => {
        p.send.elements(elementsBytes([], DONE))
        p.send.elements(elementsBytes([], DONE))
      }
    }
  ]

  for (const c of cases) {
    it(`${c.name}: ${c.code}, that channel closed, the connection and Y live on, nothing stored`, async () => {
      const v = await victim({}, c.honestInitiator ?? true)
      const errors = errorsOf(v.multi)
      const errorSeen = next<[MultifeedError]>(v.multi, 'peer-error')
      const p = await puppet(v.sa, v.multi.key, {
        with: v.yb,
        ...(c.open ? { open: (self) => c.open!(self, v) } : {})
      })
      if (c.send) {
        await p.opened
        c.send(p)
      }
      const [err] = await errorSeen
      expect(err.code).toBe(c.code)
      await p.closed
      expect(v.multi.peers()).toHaveLength(0)
      await bystanderLives(v, p, 'after-fault')
      expect(errors).toHaveLength(1)
      expect(v.multi.feeds()).toHaveLength(1)
    })
  }

  it('a fault followed by more input in the same batch: one peer-error, the rest is ignored', async () => {
    const v = await victim()
    const errors = errorsOf(v.multi)
    const p = await puppet(v.sa, v.multi.key, { with: v.yb })
    await p.opened
    const k = crypto.randomBytes(32)
    p.mux.cork()
    p.send.more(uint(0))
    p.send.more(uint(0))
    p.send.elements(elementsBytes([{ key: k, length: 0 }]))
    p.mux.uncork()
    await p.closed
    await bystanderLives(v, p, 'after-batch')
    expect(errors.map((e) => e.code)).toEqual(['ERR_MALFORMED_MESSAGE'])
    expect(v.multi.feed(k)).toBeNull()
  })

  for (const [name, bytes] of [
    ['a truncated token', () => tokensBytes([crypto.randomBytes(8)], 1)],
    ['1,025 tokens in one message', () => Buffer.concat([uint(1025)])],
    ['an absurd token count', () => Buffer.concat([uint(2 ** 31)])],
    // Minor 6: after the flags, the hints' width, then one hint of that width per token.
    [
      'state hints wider than 16 bytes',
      () =>
        Buffer.concat([
          tokensBytes([crypto.randomBytes(16)]),
          uint(0),
          uint(17),
          crypto.randomBytes(17)
        ])
    ],
    [
      'state hints cut short',
      () =>
        Buffer.concat([
          tokensBytes([crypto.randomBytes(16), crypto.randomBytes(16)]),
          uint(0),
          uint(4),
          crypto.randomBytes(6)
        ])
    ],
    ['an absurd state hint width', () => Buffer.concat([tokensBytes([]), uint(0), uint(2 ** 31)])]
  ] as const) {
    it(`pairing: ${name} closes the pairing channel only; a multifeed paired before lives on`, async () => {
      const v = await victim()
      const errors = errorsOf(v.multi)
      const p = await puppet(v.sa, v.multi.key)
      await p.opened
      const pairing = [...p.mux].find((ch) => ch.protocol === 'multifeed/2/pair')!
      p.sendTokens(bytes())
      await until(() => pairing.closed, 'the honest side closes the pairing channel')
      // X, paired before, still takes a live update from the puppet.
      const k = crypto.randomBytes(32)
      p.send.elements(elementsBytes([{ key: k, length: 0 }]))
      await until(() => v.multi.feed(k) !== null, 'the paired channel still works')
      expect(errors).toEqual([])
      expect(v.sa.destroyed).toBe(false)
    })
  }

  it('pairing: more than 16,384 tokens over several messages closes the pairing channel', async () => {
    const v = await victim()
    const p = await puppet(v.sa, v.multi.key)
    await p.opened
    const pairing = [...p.mux].find((ch) => ch.protocol === 'multifeed/2/pair')!
    for (let i = 0; i < 17; i++) {
      p.sendTokens(tokensBytes(Array.from({ length: 1024 }, () => crypto.randomBytes(16))))
    }
    await until(() => pairing.closed, 'the honest side closes the pairing channel')
    expect(ReplicationStream.of(v.sa)!.stats.tokensReceived).toBeLessThanOrEqual(16_384)
    expect(v.sa.destroyed).toBe(false)
  })
})

describe('limits', () => {
  it('a size claimed in the open buys no more symbols than our own size allows (amplification)', async () => {
    // A key holder claims a billion feeds (minor 0: no list mode) and asks
    // for more symbols after each batch, doubling as a decoder does: the
    // first batch aims at no more differences than our own size allows (the
    // claim counts for no more than it), and what we send is paid from the
    // connection's reply allowance, sized by our set, not by the claim.
    const v = await victim({ limits: { maxDifferences: 100 } })
    const errorSeen = next<[MultifeedError & { limit?: string }]>(v.multi, 'peer-error')
    const open = (self: Puppet) =>
      openBytes({ minor: 0, capability: self.capability(), count: 1e9 })
    let sentBytes = 0
    const p = await puppet(v.sa, v.multi.key, {
      with: v.yb,
      open: (self) => {
        const raw = open(self)
        sentBytes += raw.byteLength
        return raw
      }
    })
    await p.opened
    await until(() => p.received.symbols.length === 1, 'the first batch')
    const n = v.multi.feeds().length
    expect(symbolCount(p.received.symbols[0]!)).toBe(symbolsFor(2 * n))
    let refused = false
    void errorSeen.then(() => {
      refused = true
    })
    const symbols = () => p.received.symbols.reduce((k, raw) => k + symbolCount(raw), 0)
    for (let round = 0; round < 30 && !refused; round++) {
      const batches = p.received.symbols.length
      const more = uint(symbols())
      sentBytes += more.byteLength
      p.send.more(more)
      await until(
        () => refused || p.received.symbols.length > batches,
        'more symbols, or the refusal'
      )
    }
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(err.limit).toBe('replyBytes')
    // Well before the symbol limit our size sets (3·(2 + 2) + 1,024)...
    expect(symbols()).toBeLessThan(symbolLimit(n, 1e9))
    // ...and within the allowance: 128 B a feed and 4 KiB, 4 B per byte it sent.
    const bytes = p.received.symbols.reduce((k, raw) => k + raw.byteLength, 0)
    expect(bytes).toBeLessThanOrEqual(replyAllowance([n], sentBytes))
    await bystanderLives(v, p, 'after-amplification')
  })

  it('a peer pushing past maxFeeds: ERR_LIMIT_EXCEEDED, none of that batch added, writers still fit', async () => {
    const v = await victim({ limits: { maxFeeds: 5 } })
    const errorSeen = next<[MultifeedError & { limit: string; max: number }]>(v.multi, 'peer-error')
    const p = await puppet(v.sa, v.multi.key, { with: v.yb })
    await p.opened
    const two = [crypto.randomBytes(32), crypto.randomBytes(32)]
    p.send.elements(elementsBytes(two.map((key) => ({ key, length: 0 }))))
    await until(() => v.multi.feeds().length === 3, 'the first batch joins')
    const three = Array.from({ length: 3 }, () => crypto.randomBytes(32))
    p.send.elements(elementsBytes(three.map((key) => ({ key, length: 0 }))))
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(err.limit).toBe('maxFeeds')
    expect(err.max).toBe(5)
    await p.closed
    expect(v.multi.feeds()).toHaveLength(3)
    for (const key of three) expect(v.multi.feed(key)).toBeNull()
    const w = await v.multi.writer('one-more')
    await w.close()
    expect(v.multi.feeds()).toHaveLength(4)
    await bystanderLives(v, p, 'after-max-feeds')
  })

  it('maxFeeds reached exactly by honest peers is fine; one more: writer rejected, peer cut off', async () => {
    const a = await open(null, null, { limits: { maxFeeds: 5 } })
    const b = await open(null, a.key)
    await (await a.writer('mine')).close()
    for (let i = 0; i < 4; i++) await (await b.writer(`b${i}`)).close()
    const errors = errorsOf(a)
    pipe(a, b)
    await until(() => a.feeds().length === 5, 'a fills up to exactly maxFeeds')
    await expect(a.writer('one-too-many')).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' })
    expect(errors).toEqual([])
    const errorSeen = next<[MultifeedError & { limit: string }]>(a, 'peer-error')
    await (await b.writer('b-extra')).close()
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(err.limit).toBe('maxFeeds')
    expect(a.feeds()).toHaveLength(5)
  })

  it('maxFeeds holds under concurrent writer() calls', async () => {
    const multi = await open(null, null, { limits: { maxFeeds: 2 } })
    const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((n) => multi.writer(n)))
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused).toHaveLength(3)
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' })
    for (const r of results) if (r.status === 'fulfilled') await r.value.close()
    expect(multi.feeds()).toHaveLength(2)
  })

  it('limits.maxDifferences: a reconciliation with more differences than allowed is refused, the stream lives', async () => {
    const a = await open(null, null, { limits: { maxDifferences: 4 } })
    const b = await open(null, a.key)
    for (let i = 0; i < 10; i++) await b.add(crypto.randomBytes(32))
    const errorSeen = next<[MultifeedError]>(a, 'peer-error')
    const p = pipe(b, a) // a is the responder: it decodes
    const [err] = await errorSeen
    expect(['ERR_MALFORMED_MESSAGE', 'ERR_LIMIT_EXCEEDED']).toContain(err.code)
    expect(a.feeds()).toHaveLength(0)
    expect(p.a.destroyed).toBe(false)
  })
})

describe('policies', () => {
  it('accept decides which offered feeds join (peer in the context); refused ones are not stored', async () => {
    const a = await open()
    const good = await a.writer('good')
    const bad = await a.writer('bad')
    const asked: string[] = []
    let b: Multifeed | null = null
    b = await open(null, a.key, {
      policy: {
        accept: async (key, { peer }) => {
          expect(peer?.multifeed).toBe(b)
          asked.push(key.toString('hex'))
          return !key.equals(bad.key!)
        }
      }
    })
    const reconciled = next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
    pipe(a, b)
    const [, info] = await reconciled
    expect(info.added.map((f) => f.key)).toEqual([good.key])
    expect(b.feeds().map((f) => f.key)).toEqual([good.key])
    expect(asked.sort()).toEqual([good.key!.toString('hex'), bad.key!.toString('hex')].sort())
    await good.close()
    await bad.close()
  })

  it('share keeps chosen feeds from chosen peers: their key, their core, live ones too', async () => {
    const a = await open(null, null, {
      policy: { share: (feed) => feed.name === null || !feed.name.startsWith('private') }
    })
    const pub = await a.writer('public')
    const priv = await a.writer('private')
    await priv.append(Buffer.from('secret'))
    await pub.append(Buffer.from('hello'))
    const b = await open(null, a.key)
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    const seen = spy(sb)
    link(sa, sb)
    await until(() => b.feed(pub.key!)?.length === 1, 'b gets the public feed')
    // live: a new private writer and a private append; then a public append as the signal
    const priv2 = await a.writer('private-2')
    await priv2.append(Buffer.from('secret 2'))
    await priv.append(Buffer.from('secret 3'))
    await pub.append(Buffer.from('signal'))
    await until(() => b.feed(pub.key!)?.length === 2, 'b gets the later public block')
    expect(b.feeds().map((f) => f.key)).toEqual([pub.key])
    for (const secret of [priv.key!, priv2.key!, priv.discoveryKey!, priv2.discoveryKey!]) {
      expect(seen.contains(secret)).toBe(false)
    }
    // asking for the private core directly is refused
    const rejects = seen.rejects
    const probe = b.corestore.get({ key: priv.key! })
    onCleanup(() => probe.close())
    await probe.ready()
    probe.replicate(sb)
    await until(() => seen.rejects > rejects, 'a refuses the private core')
    expect(probe.length).toBe(0)
    for (const c of [pub, priv, priv2]) await c.close()
  })
})
