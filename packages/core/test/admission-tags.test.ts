/**
 * Admission tags (issue 15, item 2): a holder of an encrypted set's mirror
 * key cannot make members accept a feed of its own. Every feed carries a
 * 16-byte tag of its key under a key only members derive; members refuse a
 * feed whose tag is missing or wrong (counted in `peer.stats.feedsRefused`,
 * the channel left open), mirrors keep and relay the tag they got.
 *
 * Attackers: a puppet speaking the wire with the mirror key (forged, moved
 * and missing tags, an old client sending none), and a mirror whose log was
 * written by hand (a modified client) offering its feeds through each way a
 * reconciliation goes (list, symbols either role, relayed by an honest
 * mirror). Negative claims wait for a later message processed or for the
 * reconciliation's end.
 */
import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { setKeysOf } from '../src/capabilities.js'
import { AdmissionTags } from '../src/set/AdmissionTags.js'
import { FeedSet } from '../src/set/FeedSet.js'
import { decodeBatch, encodeBatch, MARK_CLOSED, MembershipLog } from '../src/set/MembershipLog.js'
import { pipe, tmpStore, until } from './helpers.js'
import { DONE, elementsBytes, openBytes, puppet, setSalt, uint } from './puppet.js'
import { hex, noUnhandled, open } from './support.js'

noUnhandled()

/** The tag a member of the set `memberKey` computes for `feedKey` (from the derivation). */
function tagOf(memberKey: Buffer, feedKey: Buffer): Buffer {
  return new AdmissionTags(true, setKeysOf(memberKey, undefined).admissionKey).tagOf(feedKey)!
}

interface Tagged {
  key: Buffer
  length: number
  tag: Buffer | null
}

/** An Elements message of minor 4: flags, count, then key, uint length, 16-byte tag (zeros: none). */
function taggedBytes(elements: Tagged[], flags = 0): Buffer {
  return Buffer.concat([
    uint(flags),
    uint(elements.length),
    ...elements.flatMap((e) => [e.key, uint(e.length), e.tag ?? Buffer.alloc(16)])
  ])
}

/** A puppet holding the mirror key alone (announcing `minor`), its first reconciliation done. */
async function mirrorKeyHolder(member: Multifeed, minor = 4) {
  const stream = member.replicate(true)
  const peer = member.attach(stream)
  const p = await puppet(stream, member.mirrorKey!, {
    open: (q) => openBytes({ minor, capability: q.capability() })
  })
  const open = await p.opened
  p.send.elements(elementsBytes([], DONE))
  await peer.synced
  return { p, peer, open }
}

/** The peer of `multi` on its only connection, once reconciled. */
async function reconciledPeer(multi: Multifeed): Promise<MultifeedPeer> {
  await until(() => multi.peers().length === 1, 'one peer verified')
  const peer = multi.peers()[0]!
  expect(await peer.synced).not.toBeNull()
  return peer
}

const keys = (multi: Multifeed): string[] =>
  multi
    .feeds()
    .map((f) => hex(f.key))
    .sort()

describe('a puppet holding the mirror key offers feeds of its own', () => {
  it('forged, moved and missing tags are refused and counted, the channel stays; a genuine relay joins', async () => {
    const member = await open(null, null, { encrypted: true })
    const w = await member.writer()
    await w.append(Buffer.from('ours'))
    // A feed another member wrote: its tag is what a relaying mirror got with it.
    const other = await open(null, member.key)
    const G = (await other.writer()).key!
    const { p, peer } = await mirrorKeyHolder(member)
    const own = crypto.randomBytes(32)
    p.send.elements(
      taggedBytes([
        { key: own, length: 3, tag: crypto.randomBytes(16) },
        { key: crypto.randomBytes(32), length: 1, tag: tagOf(member.key, G) },
        { key: crypto.randomBytes(32), length: 1, tag: null }
      ])
    )
    // The positive signal: a later message of the same peer, processed.
    p.send.elements(taggedBytes([{ key: G, length: 0, tag: tagOf(member.key, G) }]))
    await until(() => member.feed(G) !== null, 'the genuine feed relayed by the key holder joined')
    expect(keys(member)).toEqual([hex(w.key!), hex(G)].sort())
    expect(peer.stats.feedsRefused).toBe(3)
    expect(peer.closed).toBe(false)
    // Offered again, still refused (nothing was stored), and counted again.
    p.send.elements(taggedBytes([{ key: own, length: 4, tag: crypto.randomBytes(16) }]))
    await until(() => peer.stats.feedsRefused === 4, 'the second offer refused')
    expect(member.feed(own)).toBeNull()
    await w.close()
  })

  it('a client sending no tags (minor 2) on an encrypted set gets none of its feeds in', async () => {
    const member = await open(null, null, { encrypted: true })
    const { p, peer } = await mirrorKeyHolder(member, 2)
    const own = crypto.randomBytes(32)
    p.send.elements(elementsBytes([{ key: own, length: 1 }]))
    await until(() => peer.stats.feedsRefused === 1, 'the untagged offer refused')
    expect(member.feeds()).toEqual([])
    expect(peer.closed).toBe(false)
  })

  it('the wire: a plain set announces minor 2 and sends 33-byte feeds; an encrypted set minor 4, tags after', async () => {
    const plain = await open()
    const plainHolder = await (async () => {
      const stream = plain.replicate(true)
      const peer = plain.attach(stream)
      const p = await puppet(stream, plain.key)
      const opened = await p.opened
      p.send.elements(elementsBytes([], DONE))
      await peer.synced
      return { p, opened }
    })()
    expect(plainHolder.opened.subarray(0, 2)).toEqual(Buffer.from([2, 2]))
    const pw = await plain.writer()
    await pw.append(Buffer.from('x'))
    await until(() => plainHolder.p.received.elements.length > 0, 'the plain update')
    expect(plainHolder.p.received.elements.at(-1)).toEqual(
      elementsBytes([{ key: pw.key!, length: 1 }])
    )

    const member = await open(null, null, { encrypted: true })
    const { p, open: opened } = await mirrorKeyHolder(member)
    expect(opened.subarray(0, 2)).toEqual(Buffer.from([2, 4]))
    const w = await member.writer()
    await w.append(Buffer.from('x'))
    await until(
      () => p.received.elements.some((m) => m.byteLength === 2 + 32 + 1 + 16),
      'the tagged update'
    )
    expect(p.received.elements.at(-1)).toEqual(
      taggedBytes([{ key: w.key!, length: 1, tag: tagOf(member.key, w.key!) }])
    )
    await pw.close()
    await w.close()
  })
})

/**
 * A mirror of `member`'s set (synced from it), whose log a modified client
 * then appends `forged` feeds to, re-opened: it offers them like its own.
 */
async function forgedMirror(member: Multifeed, forged: Tagged[]): Promise<Multifeed> {
  const store = await tmpStore()
  const mirror = await Multifeed.open(store, member.mirrorKey)
  const link = pipe(member, mirror)
  await until(
    () => member.feeds().every((f) => mirror.feed(f.key)?.length === f.length),
    'the mirror holds every feed and block'
  )
  await link.destroy()
  await mirror.close()
  const ns = store.namespace(`@multifeed/${hex(member.discoveryKey)}`, { active: false })
  const log = new MembershipLog(ns)
  await log.append({
    feeds: forged.map(({ key, tag }) => ({ key, local: false, name: null, tag })),
    mark: MARK_CLOSED
  })
  await log.close()
  await ns.close()
  return open(store, member.mirrorKey)
}

/** A member holding `n` feeds (added by key: no core needed to reconcile them). */
async function memberOf(n: number): Promise<Multifeed> {
  const member = await open(null, null, { encrypted: true })
  for (let i = 0; i < n; i++) await member.add(crypto.randomBytes(32))
  return member
}

function forgeries(memberKey: Buffer, genuine: Buffer): Tagged[] {
  return [
    { key: crypto.randomBytes(32), length: 0, tag: crypto.randomBytes(16) },
    { key: crypto.randomBytes(32), length: 0, tag: tagOf(memberKey, genuine) },
    { key: crypto.randomBytes(32), length: 0, tag: null }
  ]
}

describe('a modified mirror offers feeds of its own through reconciliation', () => {
  for (const [way, evilInitiates] of [
    ['symbols, the mirror initiating (the member decodes keys, the tags come in TAGS)', true],
    ['symbols, the member initiating (the tags come in DONE)', false]
  ] as const) {
    it(`${way}: no member lists them, the count says so`, async () => {
      const alice = await memberOf(30)
      const forged = forgeries(alice.key, alice.feeds()[0]!.key)
      const evil = await forgedMirror(alice, forged)
      expect(evil.feeds().length).toBe(33)
      const before = keys(alice)
      if (evilInitiates) pipe(evil, alice)
      else pipe(alice, evil)
      const peer = await reconciledPeer(alice)
      expect(peer.stats.symbolsSent + peer.stats.symbolsReceived).toBeGreaterThan(0)
      expect(keys(alice)).toEqual(before)
      expect(peer.stats.feedsRefused).toBe(3)
      expect(peer.closed).toBe(false)
    })
  }

  it('list: a fresh member gets the genuine feeds from the mirror alone, none of its own', async () => {
    const alice = await open(null, null, { encrypted: true })
    const w = await alice.writer()
    await w.append([Buffer.from('a'), Buffer.from('b')])
    await alice.add(crypto.randomBytes(32))
    const evil = await forgedMirror(alice, forgeries(alice.key, w.key!))
    const genuine = keys(alice)
    const bob = await open(null, alice.key)
    pipe(evil, bob)
    const peer = await reconciledPeer(bob)
    expect(keys(bob)).toEqual(genuine)
    expect(peer.stats.feedsRefused).toBe(3)
    await until(() => bob.feed(w.key!)?.length === 2, "alice's blocks, from the mirror")
    await w.close()
  })

  it('relayed by an honest mirror (which cannot tell a wrong tag, only a missing one): members still refuse them, and take the genuine ones', async () => {
    const alice = await memberOf(3)
    const evil = await forgedMirror(alice, forgeries(alice.key, alice.feeds()[0]!.key))
    const honest = await open(null, alice.mirrorKey)
    const first = pipe(evil, honest)
    const relay = await reconciledPeer(honest)
    await until(() => honest.feeds().length === 5, 'the honest mirror took every tagged feed')
    expect(relay.stats.feedsRefused).toBe(1)
    await first.destroy()
    const bob = await open(null, alice.key)
    pipe(honest, bob)
    const peer = await reconciledPeer(bob)
    expect(keys(bob)).toEqual(keys(alice))
    expect(peer.stats.feedsRefused).toBe(2)
  })
})

describe('what a mirror can add', () => {
  it("a mirror's add(key) is ERR_INVALID_ARGUMENT (it cannot tag the key); a member's add(key) tags it", async () => {
    const member = await open(null, null, { encrypted: true })
    const mirror = await open(null, member.mirrorKey)
    const F = crypto.randomBytes(32)
    await expect(mirror.add(F)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(mirror.add(F)).rejects.toThrow(/admission tag/)
    expect(mirror.feeds()).toEqual([])
    // The member's added key reaches another member through the mirror, tag and all.
    await member.add(F)
    const first = pipe(member, mirror)
    await until(() => mirror.feed(F) !== null, 'the mirror took F')
    await first.destroy()
    const bob = await open(null, member.key)
    pipe(mirror, bob)
    const peer = await reconciledPeer(bob)
    expect(keys(bob)).toEqual([hex(F)])
    expect(peer.stats.feedsRefused).toBe(0)
  })
})

describe('members between themselves', () => {
  it('symbols with new feeds on both sides: every feed joins, nothing refused, both ways', async () => {
    const a = await memberOf(30)
    const b = await open(null, a.key)
    const link = pipe(a, b)
    await until(() => b.feeds().length === 30, 'b has the 30 feeds')
    await link.destroy()
    const wa = await a.writer()
    const wb = await b.writer()
    await b.add(crypto.randomBytes(32))
    pipe(a, b)
    const [pa, pb] = [await reconciledPeer(a), await reconciledPeer(b)]
    await until(() => keys(a).length === 33 && keys(b).length === 33, 'both hold 33 feeds')
    expect(keys(a)).toEqual(keys(b))
    expect(pa.stats.symbolsSent + pb.stats.symbolsSent).toBeGreaterThan(0)
    expect([pa.stats.feedsRefused, pb.stats.feedsRefused]).toEqual([0, 0])
    await wa.close()
    await wb.close()
  })
})

describe('storage', () => {
  it('an encrypted store written before tags opens; its tags are computed and its feeds still reach members', async () => {
    const alice = await open(null, null, { encrypted: true })
    const store = await tmpStore()
    const F = crypto.randomBytes(32)
    // What the previous version wrote: the log alone, version 2, no tag.
    const ns = store.namespace(`@multifeed/${hex(alice.discoveryKey)}`, { active: false })
    const log = new MembershipLog(ns)
    await log.append({ feeds: [{ key: F, local: false, name: null }], mark: MARK_CLOSED })
    await log.close()
    await ns.close()
    const old = await open(store, alice.key)
    expect(keys(old)).toEqual([hex(F)])
    pipe(old, alice)
    const peer = await reconciledPeer(alice)
    expect(keys(alice)).toEqual([hex(F)])
    expect(peer.stats.feedsRefused).toBe(0)
  })

  it('the log: a tagged record is version 3 and reads back; an untagged block is version 2 as before, byte for byte', () => {
    const key = crypto.randomBytes(32)
    const tag = crypto.randomBytes(16)
    const empty = { lengths: [], removals: [], unblocks: [], mark: 0 }
    const tagged = encodeBatch({ ...empty, feeds: [{ key, local: true, name: 'w', tag }] })
    expect(tagged[0]).toBe(3)
    expect(decodeBatch(tagged, 0).feeds).toEqual([{ key, local: true, name: 'w', tag }])
    const plain = encodeBatch({ ...empty, feeds: [{ key, local: true, name: 'w' }] })
    // version, count, flags (local | named), key, name, then no checkpoint, removal or unblock.
    expect(plain).toEqual(
      Buffer.concat([
        Buffer.from([2, 1, 3]),
        key,
        Buffer.from([1]),
        Buffer.from('w'),
        uint(0),
        uint(0),
        uint(0)
      ])
    )
    expect(decodeBatch(plain, 0).feeds).toEqual([{ key, local: true, name: 'w', tag: null }])
  })

  it('the feed table keeps each tag through growth, compaction and removal', () => {
    const set = new FeedSet(setSalt(crypto.randomBytes(32)))
    const feeds = Array.from({ length: 3000 }, () => {
      const feed = set.add(crypto.randomBytes(32), false, null)
      set.tag(feed, feed.key.subarray(0, 16))
      return feed
    })
    const removed = feeds.slice(0, 2000)
    for (const feed of removed) set.remove(feed)
    for (const feed of [...feeds.slice(2000), ...removed]) {
      expect(feed.tag).toEqual(feed.key.subarray(0, 16))
    }
    // A feed keeps the first tag it was given.
    set.tag(feeds[2999]!, Buffer.alloc(16))
    expect(feeds[2999]!.tag).toEqual(feeds[2999]!.key.subarray(0, 16))
  })
})
