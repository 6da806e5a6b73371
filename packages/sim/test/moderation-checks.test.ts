// The moderated world's checkers have teeth: each one, fed a state that
// breaks its invariant, reports it, and stays silent on the same state
// without the fault.
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import {
  BLOCKED_GONE,
  BlockedWatch,
  checkRestored,
  checkSameRecords,
  checkWire,
  NO_BLOCK_CROSSES,
  SAME_RECORDS,
  UNBLOCK_RESTORES
} from '../src/checks/moderation.js'
import { Ledger } from '../src/ledger.js'
import type { LinkEnd } from '../src/world/LinkEnd.js'
import type { Acted } from '../src/world/Moderated.js'
import { spamMarker } from '../src/world/Moderated.js'
import type { FeedView, ModerationView, PeerSnapshot } from '../src/world/snapshot.js'
import { WireWatch } from '../src/world/WireWatch.js'

const F = 'f0'.repeat(32)
const G = 'f1'.repeat(32)
const SPAMMER = '5a'.repeat(32)
const FOUNDER = '0f'.repeat(32)

function view(extra: Partial<ModerationView> = {}): ModerationView {
  return { records: ['r1'], moderators: [FOUNDER], blocked: [], acted: [], events: 0, ...extra }
}

function snap(
  index: number,
  feeds: FeedView[],
  moderation: ModerationView,
  stored: string[] = []
): PeerSnapshot {
  return {
    index,
    online: true,
    sets: { 0: feeds },
    stored,
    received: {},
    moderation: { 0: moderation }
  }
}

const blockedF = { blocked: [`feed:${F}:${FOUNDER}`], acted: [`feed:${F}`] }

describe('moderation checkers', () => {
  it('same records, same outcome: a peer with the records of another but other blocks is caught', () => {
    const a = snap(0, [], view(blockedF))
    const b = snap(1, [], view(blockedF))
    expect(checkSameRecords([a, b])).toEqual([])
    const odd = snap(1, [], view())
    const found = checkSameRecords([a, odd])
    expect(found.map((f) => [f.invariant, f.peer])).toEqual([[SAME_RECORDS, 1]])
    // Different records may differ while events play; once quiet they must not.
    const behind = snap(1, [], view({ records: [] }))
    expect(checkSameRecords([a, behind])).toEqual([])
    expect(checkSameRecords([a, behind], true)).toHaveLength(1)
  })

  it('a blocked feed listed or stored counts once seen twice with nothing changed on the peer', () => {
    const ledger = new Ledger(1)
    ledger.spammed(0, F, 3)
    const dk = (key: string) => `dk-${key}`
    const listed = snap(0, [{ key: F, length: 3, owner: SPAMMER }], view(blockedF))
    const watch = new BlockedWatch()
    expect(watch.check([listed], ledger, dk, SPAMMER)).toEqual([])
    const found = watch.check([listed], ledger, dk, SPAMMER)
    expect(found.map((f) => [f.invariant, f.peer])).toEqual([[BLOCKED_GONE, 0]])
    // A removal under way: the peer's moderation moved on between the two rounds.
    const fresh = new BlockedWatch()
    fresh.check([listed], ledger, dk, SPAMMER)
    const moved = snap(0, [{ key: F, length: 3 }], view({ ...blockedF, events: 1 }))
    expect(fresh.check([moved], ledger, dk, SPAMMER)).toEqual([])
    // Stored, not listed, blocked by the identity the peer saw bound to it.
    const byIdentity = {
      blocked: [`identity:${SPAMMER}:${FOUNDER}`],
      acted: [`identity:${SPAMMER}`]
    }
    const stored = new BlockedWatch()
    stored.check([snap(0, [{ key: F, length: 3, owner: SPAMMER }], view())], ledger, dk, SPAMMER)
    const kept = snap(0, [], view(byIdentity), [dk(F)])
    expect(stored.check([kept], ledger, dk, SPAMMER)).toEqual([])
    expect(stored.check([kept], ledger, dk, SPAMMER).map((f) => f.detail)).toEqual([
      expect.stringContaining('stored while blocked')
    ])
    // Not blocked: nothing.
    const free = new BlockedWatch()
    const plain = snap(0, [{ key: F, length: 3, owner: SPAMMER }], view())
    free.check([plain], ledger, dk, SPAMMER)
    expect(free.check([plain], ledger, dk, SPAMMER)).toEqual([])
  })

  it('unblock restores: a spam feed no longer blocked that one member holds and another lacks is caught', () => {
    const ledger = new Ledger(1)
    ledger.spammed(0, F, 3)
    ledger.spammed(0, G, 2)
    const members = () => [0, 1]
    const held = snap(0, [{ key: F, length: 3 }], view())
    expect(
      checkRestored([held, snap(1, [{ key: F, length: 3 }], view())], ledger, members, SPAMMER)
    ).toEqual([])
    const found = checkRestored([held, snap(1, [], view())], ledger, members, SPAMMER)
    expect(found.map((f) => [f.invariant, f.peer])).toEqual([[UNBLOCK_RESTORES, 1]])
    const short = checkRestored(
      [held, snap(1, [{ key: F, length: 1 }], view())],
      ledger,
      members,
      SPAMMER
    )
    expect(short).toHaveLength(1)
    // Still blocked (by its identity): gone everywhere is right, not a restore missed.
    const byIdentity = view({ blocked: [`identity:${SPAMMER}:${FOUNDER}`] })
    expect(
      checkRestored(
        [snap(0, [{ key: F, length: 3 }], byIdentity), snap(1, [], byIdentity)],
        ledger,
        members,
        SPAMMER
      )
    ).toEqual([])
  })

  it('the wire watch: a frame of a blocked feed sent between two ends that acted is a hit, else not', () => {
    const acted = new Map<string, Acted>()
    const act = (peer: number, targets: string[], removed: Acted['removed']) =>
      acted.set(`${peer}:0`, { peer, set: 0, targets, removed })
    let blocksNow = true
    const watch = new WireWatch({
      sets: 1,
      acted: (peer, set) => acted.get(`${peer}:${set}`) ?? null,
      blocksNow: () => blocksNow
    })
    const sent: Buffer[] = []
    const stream = { write: (chunk: Buffer) => sent.push(chunk) > 0 }
    watch.attach(0, 1, { stream } as unknown as LinkEnd)
    const junk = Buffer.from(`xx${spamMarker(F)}block 0`)
    const channel = Buffer.concat([Buffer.from([1, 2]), crypto.discoveryKey(Buffer.from(F, 'hex'))])
    act(0, [`identity:${SPAMMER}`], [{ key: F, owner: SPAMMER }])
    // The receiver has not acted yet: the sender may be refused, no hit.
    stream.write(junk)
    expect(watch.hits).toEqual([])
    act(1, [`identity:${SPAMMER}`], [])
    stream.write(channel)
    stream.write(junk)
    stream.write(Buffer.from('unrelated'))
    expect(watch.hits.map((h) => h.what)).toEqual(['discovery key', 'junk block'])
    expect(sent).toHaveLength(4)
    expect(checkWire(watch.hits).map((f) => f.invariant)).toEqual([
      NO_BLOCK_CROSSES,
      NO_BLOCK_CROSSES
    ])
    // An unblock under way at the sender (its state no longer blocks): no hit.
    blocksNow = false
    stream.write(junk)
    expect(watch.hits).toHaveLength(2)
  })
})
