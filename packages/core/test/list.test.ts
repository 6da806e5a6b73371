/**
 * List mode (protocol/list.ts): a first sync sends the initiator's set as
 * a list, not coded symbols. The crossover in bytes, the messages and round
 * trips of a first sync (2,000 vs 0 and 1,000 vs 1,000 disjoint), convergence,
 * and a peer that breaks the rules (a puppet holding the key): every fault
 * is an ERR_MALFORMED_MESSAGE on that channel, and nothing of ours is lost.
 */
import type { MultifeedError, MultifeedPeer, SyncInfo } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { elementOf } from '../src/protocol/elements.js'
import { DifferenceSketch } from '../src/protocol/estimator.js'
import { LIST_MINOR, ListReceiver, listMessages, listPays } from '../src/protocol/list.js'
import {
  decodeElements,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  encodeElements,
  MAX_ELEMENTS_PER_MESSAGE
} from '../src/protocol/messages.js'
import { next, onCleanup, pipe, until } from './helpers.js'
import { DONE, elementsBytes, openBytes, puppet, symbolsBytes } from './puppet.js'
import { hex, noUnhandled, open } from './support.js'

noUnhandled()

const LIST = ELEMENTS_LIST
const END = ELEMENTS_LIST | ELEMENTS_LIST_END
const randomKeys = (n: number): Buffer[] => Array.from({ length: n }, () => crypto.randomBytes(32))
const at = (keys: Buffer[], length = 0) => keys.map((key) => ({ key, length }))
const withIds = (keys: Buffer[], length = 0) => keys.map((key) => ({ id: hex(key), key, length }))

function summary(keys: Buffer[], minor = LIST_MINOR) {
  const sketch = new DifferenceSketch(Buffer.alloc(16, 7))
  for (const key of keys) sketch.add(elementOf(key, 0))
  return { minor, count: keys.length, sketch: Array.from(sketch.counters) }
}

describe('list mode: the protocol units', () => {
  it('a list pays when the difference is most of the set, not for a few changes', () => {
    const shared = randomKeys(1000)
    const a = randomKeys(1000)
    const b = randomKeys(1000)
    expect(listPays(summary(randomKeys(2000)), summary([]))).toBe(true)
    expect(listPays(summary([]), summary(randomKeys(2000)))).toBe(true)
    expect(listPays(summary(a), summary(b))).toBe(true)
    expect(listPays(summary([...shared, ...randomKeys(10)]), summary(shared))).toBe(false)
    expect(listPays(summary([...shared, ...a]), summary([...shared, ...b]))).toBe(true)
    const [a100, b100] = [a.slice(0, 100), b.slice(0, 100)]
    expect(listPays(summary([...shared, ...a100]), summary([...shared, ...b100]))).toBe(false)
    // either side of minor 0 never lists
    expect(listPays(summary(randomKeys(2000), 0), summary([]))).toBe(false)
    expect(listPays(summary(randomKeys(2000)), summary([], 0))).toBe(false)
  })

  it('2,000 feeds: one message of 33 bytes a feed; 10,000: three within the message limit; empty: one', () => {
    const [one] = listMessages(at(randomKeys(2000), 1), 2000)
    expect(one!.flags).toBe(END)
    expect(encodeElements(one!).byteLength).toBe(1 + 3 + 2000 * 33)
    const many = listMessages(at(randomKeys(10_000), 1), 10_000)
    expect(many.map((m) => [m.flags, m.elements.length])).toEqual([
      [LIST, MAX_ELEMENTS_PER_MESSAGE],
      [LIST, MAX_ELEMENTS_PER_MESSAGE],
      [END, 10_000 - 2 * MAX_ELEMENTS_PER_MESSAGE]
    ])
    expect(listMessages([], 0)).toEqual([{ flags: END, elements: [] }])
    // never more than announced: feeds that joined since go as updates
    expect(listMessages(at(randomKeys(10)), 4)[0]!.elements).toHaveLength(4)
  })

  it('the receiver diffs the list against our set', () => {
    const common = randomKeys(5)
    const grown = randomKeys(1)
    const theirs = randomKeys(3)
    const ours = randomKeys(2)
    const receiver = new ListReceiver(9, 100)
    const local = () => [...withIds(common), ...withIds(grown, 1), ...withIds(ours)]
    expect(receiver.receive({ flags: LIST, elements: at(common) }, local)).toBeNull()
    const difference = receiver.receive(
      { flags: END, elements: [...at(grown, 2), ...at(theirs)] },
      local
    )
    expect(difference!.remoteOnly.map((e) => [hex(e.key), e.length])).toEqual(
      [...at(grown, 2), ...at(theirs)].map((e) => [hex(e.key), e.length])
    )
    expect(difference!.localOnly.map((e) => [hex(e.key), e.length]).sort()).toEqual(
      [...at(grown, 1), ...at(ours)].map((e) => [hex(e.key), e.length]).sort()
    )
  })

  it('refuses a list longer than announced, a feed twice, more differences than allowed, anything after the end', () => {
    const local = () => withIds(randomKeys(2))
    const keys = randomKeys(4)
    expect(() =>
      new ListReceiver(3, 100).receive({ flags: END, elements: at(keys) }, local)
    ).toThrow(/longer than the 3 feeds/)
    const twice = new ListReceiver(4, 100)
    expect(() => twice.receive({ flags: END, elements: at([keys[0]!, keys[0]!]) }, local)).toThrow(
      /twice/
    )
    expect(() => new ListReceiver(4, 3).receive({ flags: END, elements: at(keys) }, local)).toThrow(
      /more than 3/
    )
    // 2 of theirs + 2 of ours differ: 4 > 3
    expect(() =>
      new ListReceiver(4, 3).receive({ flags: END, elements: at(keys.slice(0, 2)) }, local)
    ).toThrow(/more than 3/)
    const ended = new ListReceiver(4, 100)
    ended.receive({ flags: END, elements: at(keys.slice(0, 1)) }, local)
    expect(() => ended.receive({ flags: END, elements: [] }, local)).toThrow(/after its end/)
    expect(() => ended.receive({ flags: LIST, elements: [] }, local)).toThrow(
      expect.objectContaining({ code: 'ERR_MALFORMED_MESSAGE' })
    )
  })
})

/** Elements messages a multifeed sent, as seen by its peer's counters. */
async function firstSync(aKeys: number, bKeys: number) {
  const a = await open()
  const b = await open(null, a.key)
  const keysA = randomKeys(aKeys)
  const keysB = randomKeys(bKeys)
  await Promise.all(keysA.map((k) => a.add(k)))
  await Promise.all(keysB.map((k) => b.add(k)))
  const synced = Promise.all([
    next<[MultifeedPeer, SyncInfo]>(a, 'reconciled'),
    next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
  ])
  pipe(a, b)
  const [[peerA, infoA], [peerB, infoB]] = await synced
  return { a, b, keysA, keysB, peerA, peerB, infoA, infoB }
}

describe('list mode: a first sync', () => {
  it('2,000 feeds against none: the initiator lists them in one message; 2 round trips; no symbol', async () => {
    const { a, b, peerA, peerB, infoB, infoA } = await firstSync(2000, 0)
    expect(infoB.added).toHaveLength(2000)
    expect(infoA.inSync).toBe(false)
    expect(b.feeds()).toHaveLength(2000)
    expect(a.feeds()).toHaveLength(2000)
    // Each: its open, with its sketch (the tokens' state hints differ, minor 6);
    // A (initiator): its list after B's open (round trip 1); B: DONE after the
    // list (round trip 1.5). Nothing else.
    for (const peer of [peerA, peerB]) {
      expect(peer.stats.symbolsSent + peer.stats.symbolsReceived).toBe(0)
      expect(peer.stats.messagesSent).toBe(2)
      expect(peer.stats.messagesReceived).toBe(2)
    }
    const list = 1 + 3 + 2000 * 33
    // B answers with its length (0) of every feed it lacked: both know the difference.
    const done = 1 + 3 + 2000 * 33
    // The open and the sketches.
    const openBytesA = peerA.stats.bytesSent - list
    const openBytesB = peerB.stats.bytesSent - done
    expect(openBytesA).toBeGreaterThan(0)
    expect(openBytesA).toBeLessThan(250)
    expect(openBytesB).toBeGreaterThan(0)
    expect(openBytesB).toBeLessThan(250)
    // Coded symbols would have cost at least 1.35 symbols of ≥ 49 bytes a difference.
    expect(list).toBeLessThan(2000 * 1.35 * 49)
  })

  it('1,000 against 1,000 disjoint: one list, one DONE with B’s 1,000 and its 0 for A’s 1,000', async () => {
    const { a, b, keysA, keysB, peerA, peerB } = await firstSync(1000, 1000)
    // The open (its sketch with it: the tokens' state hints differ), then the list or DONE.
    expect(peerA.stats.messagesSent).toBe(2)
    expect(peerB.stats.messagesSent).toBe(2)
    expect(peerA.stats.symbolsSent + peerB.stats.symbolsSent).toBe(0)
    const openA = peerA.stats.bytesSent - (1 + 3 + 1000 * 33)
    const openB = peerB.stats.bytesSent - (1 + 3 + 2000 * 33)
    expect(openA).toBeGreaterThan(0)
    expect(openA).toBeLessThan(250)
    expect(openB).toBeGreaterThan(0)
    expect(openB).toBeLessThan(250)
    const all = [...keysA, ...keysB].map(hex).sort()
    expect(
      a
        .feeds()
        .map((f) => hex(f.key))
        .sort()
    ).toEqual(all)
    expect(
      b
        .feeds()
        .map((f) => hex(f.key))
        .sort()
    ).toEqual(all)
  })

  it('converges with blocks both ways, the empty side initiating as well as responding', async () => {
    for (const emptyInitiates of [true, false]) {
      const full = await open()
      const empty = await open(null, full.key)
      const writers = await Promise.all([full.writer('w0'), full.writer('w1'), full.writer('w2')])
      for (const [i, w] of writers.entries()) {
        await w.append([Buffer.from(`${i}a`), Buffer.from(`${i}b`)])
        onCleanup(() => w.close())
      }
      const [initiator, responder] = emptyInitiates ? [empty, full] : [full, empty]
      const reconciled = next<[MultifeedPeer, SyncInfo]>(initiator, 'reconciled')
      pipe(initiator, responder)
      const [peer] = await reconciled
      expect(peer.stats.symbolsSent + peer.stats.symbolsReceived).toBe(0)
      await empty.downloaded({ timeout: 10_000 })
      for (const [i, w] of writers.entries()) {
        const session = await empty.get(w.key!)
        expect((await session.get(1))?.toString()).toBe(`${i}b`)
        await session.close()
      }
    }
  })
})

/**
 * A multifeed holding one feed of ours, and a puppet announcing `count`
 * feeds; the puppet is the stream's initiator unless `weInitiate`.
 */
async function listener(
  count: number,
  options: { minor?: number; maxDifferences?: number; weInitiate?: boolean } = {}
) {
  const multi = await open(null, null, {
    limits: options.maxDifferences ? { maxDifferences: options.maxDifferences } : {}
  })
  const w = await multi.writer('mine')
  await w.append(Buffer.from('mine'))
  onCleanup(() => w.close())
  const stream = multi.replicate(options.weInitiate === true)
  multi.attach(stream)
  const p = await puppet(stream, multi.key, {
    open: (self) =>
      openBytes({ minor: options.minor ?? LIST_MINOR, capability: self.capability(), count })
  })
  await p.opened
  return { multi, w, p }
}

/** The fault is a malformed message on this channel; our feed is still ours, and served again. */
async function refused(
  multi: Awaited<ReturnType<typeof listener>>,
  pattern: RegExp,
  received: Buffer[] = []
) {
  const { multi: m, w, p } = multi
  const [error] = await next<[MultifeedError, MultifeedPeer]>(m, 'peer-error')
  expect(error.code).toBe('ERR_MALFORMED_MESSAGE')
  expect(error.message).toMatch(pattern)
  await p.closed
  expect(m.feeds().map((f) => hex(f.key))).toEqual([w.key!, ...received].map(hex))
  const other = await open(null, m.key)
  pipe(m, other)
  await until(() => other.feed(w.key!)?.length === 1, 'our feed still syncs to an honest peer')
}

describe('list mode: a peer breaking the rules', () => {
  it('an honest list from a puppet: we answer DONE with our feed and our 0 of its feeds', async () => {
    const { multi, w, p } = await listener(3)
    const keys = randomKeys(3)
    const reconciled = next<[MultifeedPeer, SyncInfo]>(multi, 'reconciled')
    p.send.elements(elementsBytes(at(keys), END))
    const [, info] = await reconciled
    expect(info.added.map((f) => hex(f.key)).sort()).toEqual(keys.map(hex).sort())
    await until(() => p.received.elements.length > 0, 'our DONE')
    const done = decodeElements(p.received.elements[0]!)
    expect(done.flags).toBe(ELEMENTS_DONE)
    expect(done.elements.map((e) => [hex(e.key), e.length]).sort()).toEqual(
      [[hex(w.key!), 1], ...keys.map((k) => [hex(k), 0])].sort()
    )
    expect(p.received.symbols).toHaveLength(0)
  })

  it('a list longer than its open message announced', async () => {
    const l = await listener(2)
    l.p.send.elements(elementsBytes(at(randomKeys(3)), LIST))
    await refused(l, /longer than the 2 feeds/)
  })

  it('a list naming a feed twice', async () => {
    const l = await listener(3)
    const [k] = randomKeys(1)
    l.p.send.elements(elementsBytes(at([k!, k!]), END))
    await refused(l, /twice/)
  })

  it('a list over two messages naming a feed twice', async () => {
    const l = await listener(3)
    const [k] = randomKeys(1)
    l.p.send.elements(elementsBytes(at([k!]), LIST))
    l.p.send.elements(elementsBytes(at([k!]), END))
    await refused(l, /twice/)
  })

  it('more differences than maxDifferences', async () => {
    const l = await listener(10, { maxDifferences: 4 })
    l.p.send.elements(elementsBytes(at(randomKeys(10)), END))
    await refused(l, /more than 4/)
  })

  it('LIST_END twice', async () => {
    const l = await listener(2)
    const first = randomKeys(1)
    const reconciled = next<[MultifeedPeer, SyncInfo]>(l.multi, 'reconciled')
    l.p.send.elements(elementsBytes(at(first), END))
    await reconciled
    l.p.send.elements(elementsBytes(at(randomKeys(1)), END))
    await refused(l, /after its end/, first)
  })

  it('coded symbols where a list is due', async () => {
    const l = await listener(2)
    const sum = Buffer.alloc(40, 1)
    l.p.send.symbols(symbolsBytes(0, [{ sum, hashLo: 1, hashHi: 2, count: 1 }]))
    await refused(l, /coded symbols/)
  })

  it('a list flagged DONE as well', async () => {
    const l = await listener(2)
    l.p.send.elements(elementsBytes(at(randomKeys(1)), END | DONE))
    await refused(l, /flagged done/)
  })

  it('a list when none is expected (the puppet announced minor 0: symbols are due)', async () => {
    const l = await listener(2, { minor: 0 })
    l.p.send.elements(elementsBytes(at(randomKeys(1)), END))
    await refused(l, /Unexpected feed list/)
  })

  it('DONE twice to our list', async () => {
    const l = await listener(1, { weInitiate: true })
    await until(() => l.p.received.elements.length > 0, 'our own list')
    const reconciled = next<[MultifeedPeer, SyncInfo]>(l.multi, 'reconciled')
    l.p.send.elements(elementsBytes([], DONE))
    const [, info] = await reconciled
    expect(info.inSync).toBe(false)
    l.p.send.elements(elementsBytes([], DONE))
    await refused(l, /Unexpected end of reconciliation/)
  })

  it('a list sent to the initiator (only the initiator lists)', async () => {
    const l = await listener(1, { weInitiate: true })
    await until(() => l.p.received.elements.length > 0, 'our own list')
    expect(decodeElements(l.p.received.elements[0]!).flags).toBe(END)
    l.p.send.elements(elementsBytes(at(randomKeys(1)), END))
    await refused(l, /Unexpected feed list/)
  })
})
