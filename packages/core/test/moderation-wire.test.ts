/**
 * The records of a moderated set between two peers' real Moderation
 * instances, over PeerRecords as a channel runs them (no stream: messages
 * are handed across in order, every byte counted): in sync costs the open's
 * summary alone, d new records cost O(d), forged, mutated and replayed
 * records change nothing and are counted, and a peer that breaks the
 * exchange is malformed.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { MalformedMessageError } from '../src/errors.js'
import { blockOf } from '../src/moderation/evaluate.js'
import { createModeratedSet } from '../src/moderation/invite.js'
import { MAX_RECORD_BYTES } from '../src/moderation/records.js'
import { signRecord, type VerifiedRecord } from '../src/moderation/signing.js'
import { elementOf } from '../src/protocol/elements.js'
import { DifferenceSketch } from '../src/protocol/estimator.js'
import {
  encodeElements,
  encodeOpen,
  encodeRecords,
  MAX_RECORD_WIRE_BYTES,
  MODERATION_MINOR,
  PROTOCOL_MAJOR,
  RECORDS_END
} from '../src/protocol/messages.js'
import { emptyPeerStats } from '../src/replication/PeerHost.js'
import { PeerRecords, type RecordMessage } from '../src/replication/PeerRecords.js'
import { RecordIndex } from '../src/replication/RecordIndex.js'
import {
  REPLY_BYTES_PER_RECORD,
  REPLY_BYTES_PER_SET,
  ReplyBudget
} from '../src/replication/ReplyBudget.js'
import { Moderation } from '../src/set/Moderation.js'
import { onCleanup, tmpStore, until as untilTimed } from './helpers.js'
import { bytes, rng } from './seeded.js'

const founder = crypto.keyPair(Buffer.alloc(32, 1))
const member = crypto.keyPair(Buffer.alloc(32, 2))
const set = createModeratedSet(founder.publicKey)

async function moderation(identity = founder): Promise<Moderation> {
  const store = await tmpStore()
  const m = await Moderation.open(store, set, identity)
  onCleanup(() => m.close())
  return m
}

/** `n` blocks of random feeds signed by the founder (one signature each). */
function blocks(n: number, from = 0): VerifiedRecord[] {
  return Array.from({ length: n }, (_, i) =>
    signRecord(
      set.key,
      founder,
      { type: 'block', kind: 'feed', target: crypto.randomBytes(32), reason: '' },
      { time: from + i + 1 }
    )
  )
}

interface Side {
  moderation: Moderation
  records: PeerRecords
  stats: ReturnType<typeof emptyPeerStats>
  budget: ReplyBudget
  /** Bytes of record messages sent (the open's summary aside). */
  sent: number
  faults: unknown[]
}

/**
 * Two peers' records on one channel: `a` the initiator. Messages cross in
 * order (a macrotask each way, as a stream delivers them).
 */
function channel(a: Moderation, b: Moderation) {
  const hash = crypto.randomBytes(32)
  const sides: Side[] = []
  const make = (m: Moderation, other: () => Side): Side => {
    const index = new RecordIndex(set.key, m)
    const side = {
      moderation: m,
      stats: emptyPeerStats(),
      budget: new ReplyBudget(),
      sent: 0,
      faults: []
    } as unknown as Side
    side.records = new PeerRecords({
      host: {
        index,
        receive: (records) => m.receive(records),
        refusal: (hex) => m.state.refused.get(hex) ?? null
      },
      stats: side.stats,
      maxDifferences: 100_000,
      send: (name, raw, paid = 0) => {
        if (paid > 0 && !side.budget.spend(paid)) throw new Error('over budget')
        side.sent += raw.byteLength
        setImmediate(() => other().records.message(name, raw))
      },
      queue: (producer) => {
        while (!producer()) {}
      },
      live: () => side.faults.length === 0,
      fail: (err) => side.faults.push(err),
      localError: (err) => side.faults.push(err)
    })
    return side
  }
  sides.push(
    make(a, () => sides[1]!),
    make(b, () => sides[0]!)
  )
  const [A, B] = sides as [Side, Side]
  const summaryA = A.records.announce(hash)
  const summaryB = B.records.announce(hash)
  for (const [side, summary] of [
    [A, summaryA],
    [B, summaryB]
  ] as const) {
    side.budget.announce('k', 0)
    side.budget.announceRecords('k', summary.count)
  }
  A.records.opened(hash, true, 3, summaryB)
  B.records.opened(hash, false, 3, summaryA)
  return { A, B, summaryA, summaryB, ready: Promise.all([A.records.ready, B.records.ready]) }
}

const ids = (m: Moderation) => new Set([...m.records()].map((r) => r.hex))

describe('what records cost', () => {
  it('an in-sync reconnect at 10,000 feeds and 1,000 records fits 1 KiB on the wire', () => {
    const next = rng(14)
    const salt = bytes(next, 16)
    const sketch = new DifferenceSketch(salt)
    for (let i = 0; i < 10_000; i++) sketch.add(elementOf(bytes(next, 32), next() % 1000))
    const index = new RecordIndex(set.key, {
      size: 1000,
      records: () => blocks(1000).values()
    })
    const records = index.summary(Buffer.alloc(32), index.shared())
    const open = encodeOpen({
      major: PROTOCOL_MAJOR,
      minor: MODERATION_MINOR,
      capability: Buffer.alloc(16),
      setProof: Buffer.alloc(16),
      count: 10_000,
      sketch: Array.from(sketch.counters),
      records
    }).byteLength
    // Pairing (38 B) and framing (230 B) as measured for plain sets (sizing.test.ts).
    const wire = 2 * open + 38 + 230
    console.log(
      `in-sync reconnect, 10,000 feeds and 1,000 records: ${wire} B (records: ${records.sketch.length} counters)`
    )
    expect(wire).toBeLessThanOrEqual(1024)
  })

  it('the reply budget pays each record of ours once per connection, then what the peer sends', () => {
    const budget = new ReplyBudget()
    budget.announce('k', 0)
    budget.announceRecords('k', 10)
    expect(budget.allowance).toBe(REPLY_BYTES_PER_SET + 10 * REPLY_BYTES_PER_RECORD)
    // Re-opens announce again: the largest count, once.
    budget.announceRecords('k', 10)
    expect(budget.allowance).toBe(REPLY_BYTES_PER_SET + 10 * REPLY_BYTES_PER_RECORD)
    expect(MAX_RECORD_WIRE_BYTES).toBe(MAX_RECORD_BYTES)
    expect(REPLY_BYTES_PER_RECORD).toBeGreaterThan(MAX_RECORD_BYTES + 2)
    expect(budget.spend(budget.allowance + 1)).toBe(false)
  })
})

describe('moderation records between two peers', () => {
  it('in sync: the open carries ~50 bytes of summary and nothing else travels', async () => {
    const records = blocks(1000)
    const a = await moderation()
    const b = await moderation(member)
    await a.receive(records.map((r) => r.bytes))
    await b.receive([...records].reverse().map((r) => r.bytes))
    const { A, B, summaryA, ready } = channel(a, b)
    await ready
    expect(A.sent + B.sent).toBe(0)
    const open = { major: 2, minor: 3, capability: Buffer.alloc(16), setProof: Buffer.alloc(16) }
    const plain = encodeOpen({ ...open, count: 0, sketch: [0] }).byteLength
    const withRecords = encodeOpen({ ...open, count: 0, sketch: [0], records: summaryA })
    expect(withRecords.byteLength - plain).toBeLessThanOrEqual(64)
  })

  it('d new records on either side cost O(d), whatever the records held', async () => {
    const costs: number[] = []
    for (const d of [4, 40]) {
      const common = blocks(300)
      const a = await moderation()
      const b = await moderation(member)
      await a.receive(common.map((r) => r.bytes))
      await b.receive(common.map((r) => r.bytes))
      const onlyA = blocks(d / 2, 1000)
      const onlyB = blocks(d / 2, 2000)
      await a.receive(onlyA.map((r) => r.bytes))
      await b.receive(onlyB.map((r) => r.bytes))
      const { A, B, ready } = channel(a, b)
      await ready
      expect(ids(a)).toEqual(ids(b))
      expect(a.size).toBe(300 + d)
      expect(A.faults).toEqual([])
      expect(B.faults).toEqual([])
      // Each side sent the other its own, once, and took the other's.
      expect(A.stats.recordsSent).toBe(d / 2)
      expect(B.stats.recordsSent).toBe(d / 2)
      expect(A.stats.recordsAdded).toBe(d / 2)
      expect(B.stats.recordsAdded).toBe(d / 2)
      const recordBytes = [...onlyA, ...onlyB].reduce((n, r) => n + r.bytes.byteLength, 0)
      costs.push(A.sent + B.sent - recordBytes)
    }
    console.log(
      `ids' reconciliation beyond the records, 300 held: d = 4: ${costs[0]} B, d = 40: ${costs[1]} B`
    )
    // What the ids' reconciliation cost beyond the records themselves: ~linear in d.
    expect(costs[0]!).toBeLessThan(2000)
    expect(costs[1]!).toBeLessThan(12 * costs[0]!)
    expect(costs[1]!).toBeGreaterThan(costs[0]!)
  })

  it('a block reaches the stale side and takes effect there', async () => {
    const a = await moderation()
    const b = await moderation(member)
    const F = crypto.randomBytes(32)
    await a.block('feed', F, 'spam')
    const { ready } = channel(a, b)
    await ready
    expect(blockOf(b.state, F)?.reason).toBe('spam')
  })

  it('an empty side gets everything (list mode), and records added later are pushed once', async () => {
    const a = await moderation()
    const b = await moderation(member)
    await a.receive(blocks(50).map((r) => r.bytes))
    const { A, B, ready } = channel(a, b)
    await ready
    expect(b.size).toBe(50)
    // Later: a record signed here goes to the peer, once.
    await a.grant(member.publicKey)
    A.records.changed()
    A.records.changed()
    await until(() => b.size === 51)
    expect(b.isModerator(member.publicKey)).toBe(true)
    // And b does not send it back.
    B.records.changed()
    await new Promise((resolve) => setImmediate(resolve))
    expect(A.stats.recordsReceived).toBe(0)
    expect(B.stats.recordsRefused.duplicate).toBe(0)
  })

  it('forged, mutated and replayed records change nothing and are counted', async () => {
    const a = await moderation()
    const b = await moderation(member)
    const F = crypto.randomBytes(32)
    const { A, B, ready } = channel(a, b)
    await ready
    const real = signRecord(set.key, founder, {
      type: 'block',
      kind: 'feed',
      target: F,
      reason: ''
    })
    const forged = signRecord(set.key, member, { type: 'grant', target: member.publicKey })
    const otherSet = signRecord(createModeratedSet(founder.publicKey).key, founder, {
      type: 'block',
      kind: 'feed',
      target: F,
      reason: ''
    })
    const mutated = Buffer.from(real.bytes)
    mutated[mutated.byteLength - 1]! ^= 1
    const cut = real.bytes.subarray(0, 40)
    A.records.message(
      'records',
      encodeRecords({ flags: 0, records: [mutated, cut, otherSet.bytes] })
    )
    await until(() => A.stats.recordsRefused.malformed === 1)
    expect(A.stats.recordsReceived).toBe(3)
    expect(a.size).toBe(0)
    expect(A.stats.recordsRefused.signature).toBe(2)
    expect(A.stats.recordsRefused.malformed).toBe(1)
    // A member's grant: refused by the rule and named by no record: counted, not stored.
    A.records.message('records', encodeRecords({ flags: 0, records: [forged.bytes] }))
    await until(() => A.stats.recordsRefused.unauthorized === 1)
    expect(A.stats.recordsAdded).toBe(0)
    expect(a.isModerator(member.publicKey)).toBe(false)
    expect(a.size).toBe(0)
    // The founder's block, then replayed: a duplicate.
    A.records.message('records', encodeRecords({ flags: 0, records: [real.bytes] }))
    await until(() => A.stats.recordsAdded === 1)
    A.records.message('records', encodeRecords({ flags: 0, records: [real.bytes] }))
    await until(() => A.stats.recordsRefused.duplicate === 1)
    expect(a.size).toBe(1)
    expect(A.faults).toEqual([])
    expect(B.stats.recordsReceived).toBe(0)
  })

  it('a flood of distinct refused records is counted and forgotten: the channel remembers only what the set keeps', async () => {
    const a = await moderation()
    const b = await moderation(member)
    const { A, ready } = channel(a, b)
    await ready
    const held = A.records.remembered
    const stranger = crypto.keyPair()
    const flood = Array.from({ length: 256 }, (_, i) => {
      const body = { type: 'block', kind: 'feed', target: crypto.randomBytes(32), reason: '' }
      return signRecord(set.key, i % 2 ? stranger : crypto.keyPair(), body as never).bytes
    })
    for (let i = 0; i < flood.length; i += 64) {
      A.records.message('records', encodeRecords({ flags: 0, records: flood.slice(i, i + 64) }))
    }
    const forged = flood.slice(0, 64).map((bytes) => {
      const copy = Buffer.from(bytes)
      copy[copy.byteLength - 1]! ^= 1
      return copy
    })
    A.records.message('records', encodeRecords({ flags: 0, records: forged }))
    await until(() => A.stats.recordsRefused.signature === 64)
    await until(() => !A.records.busy)
    expect(A.stats.recordsReceived).toBe(320)
    expect(A.stats.recordsRefused.unauthorized).toBe(256)
    expect(a.size).toBe(0)
    expect(A.records.remembered).toBe(held)
    expect(A.faults).toEqual([])
  })

  it('records taken while the channel closes are counted, each added or refused', async () => {
    const a = await moderation()
    const b = await moderation(member)
    const { A, ready } = channel(a, b)
    await ready
    const real = blocks(2)
    const forged = Buffer.from(real[1]!.bytes)
    forged[forged.byteLength - 1]! ^= 1
    // The set takes them; the channel faults meanwhile (another message of the peer's).
    const taking = a.receive([])
    A.records.message('records', encodeRecords({ flags: 0, records: [real[0]!.bytes, forged] }))
    A.faults.push(new Error('the channel closed'))
    await taking
    await until(() => !A.records.busy)
    const refused = Object.values(A.stats.recordsRefused).reduce((x, y) => x + y, 0)
    expect(A.stats.recordsReceived).toBe(A.stats.recordsAdded + refused)
  })

  it('a peer that asks for a record never announced, or ends what it did not start, is malformed', async () => {
    const a = await moderation()
    const b = await moderation(member)
    await b.receive(blocks(3).map((r) => r.bytes))
    const { A, ready } = channel(a, b)
    await ready
    A.records.message(
      'record-elements',
      encodeElements({ flags: 1, elements: [{ key: crypto.randomBytes(32), length: 0 }] })
    )
    expect(A.faults[0]).toBeInstanceOf(MalformedMessageError)

    const c = await moderation()
    const d = await moderation(member)
    const second = channel(c, d)
    await second.ready
    second.A.records.message('records', encodeRecords({ flags: RECORDS_END, records: [] }))
    expect(second.A.faults[0]).toBeInstanceOf(MalformedMessageError)
    const raw: RecordMessage = 'record-more'
    second.B.records.message(raw, Buffer.from([4]))
    expect(second.B.faults[0]).toBeInstanceOf(MalformedMessageError)
  })
})

/** Waits for `ok` (bounded in time: 1,000 turns of the event loop were too few under load). */
function until(ok: () => boolean): Promise<void> {
  return untilTimed(ok, 'the records were taken')
}
