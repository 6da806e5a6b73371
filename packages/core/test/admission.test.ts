/**
 * Admission is one decision per corestore: a key offered at once on several
 * connections (and by add()) joins once; a key another multifeed of the
 * store holds is refused whether that multifeed is open or not; a removal a
 * crash interrupted is finished at re-open, so the key may join again; a log
 * that names a feed twice (written by the admission race of earlier
 * versions) re-opens with the feed once and its lengths where they were.
 * Negative claims wait for a positive signal (a later message processed).
 */
import { rm } from 'node:fs/promises'
import { Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { Multifeed as SrcMultifeed } from '../src/index.js'
import { MARK_CLOSED, MembershipLog } from '../src/set/MembershipLog.js'
import { Owners } from '../src/set/Owners.js'
import { outputOf, runFixture } from './fixtures/child.js'
import { onCleanup, pipe, tmpDir, tmpStore, until } from './helpers.js'
import { DONE, elementsBytes, puppet } from './puppet.js'
import { bytes, rng } from './seeded.js'
import { open as srcOpen } from './srcOpen.js'
import { errorsOf, hex, membershipKeys, noUnhandled, open } from './support.js'

noUnhandled()

const at = (keys: Buffer[], length = 0) => keys.map((key) => ({ key, length }))

/** A puppet holding the key on a new connection to `multi`, its first reconciliation done. */
async function keyHolder(multi: Multifeed) {
  const stream = multi.replicate(true)
  const peer = multi.attach(stream)
  const p = await puppet(stream, multi.key)
  await p.opened
  p.send.elements(elementsBytes([], DONE))
  await peer.synced
  return { p, peer }
}

describe('one key offered on many paths at once', () => {
  it('joins once: one entry, one feed event, one record; an honest peer then syncs', async () => {
    const store = await tmpStore()
    const A = crypto.randomBytes(32)
    const F = crypto.randomBytes(32)
    const accepting: string[] = []
    let letA: () => void = () => {}
    const gateA = new Promise<void>((resolve) => {
      letA = resolve
    })
    // A's admission waits on the policy (documented: it may be async).
    const multi = await open(store, null, {
      policy: {
        accept: async (key) => {
          accepting.push(hex(key))
          if (key.equals(A)) await gateA
          return true
        }
      }
    })
    const joined = new Map<string, number>()
    multi.on('feed', (info) => joined.set(hex(info.key), (joined.get(hex(info.key)) ?? 0) + 1))
    const first = await keyHolder(multi)
    const second = await keyHolder(multi)
    first.p.send.elements(elementsBytes(at([A])))
    await until(() => accepting.includes(hex(A)), 'A is being admitted for the first peer')
    // The second peer offers F, then A (being admitted): F is checked first.
    const received = second.peer.stats.messagesReceived
    second.p.send.elements(elementsBytes(at([F, A])))
    await until(() => second.peer.stats.messagesReceived > received, 'its offer arrived')
    await new Promise((resolve) => setImmediate(resolve))
    // Meanwhile F is added by hand.
    expect(await multi.add(F)).not.toBeNull()
    letA()
    const signal = crypto.randomBytes(32)
    second.p.send.elements(elementsBytes(at([signal])))
    await until(() => multi.feed(signal) !== null, "the second peer's later offer is processed")
    const listed = multi.feeds().map((info) => hex(info.key))
    expect(listed.filter((id) => id === hex(F))).toHaveLength(1)
    expect(new Set(listed).size).toBe(listed.length)
    expect(joined.get(hex(F))).toBe(1)
    // An honest empty peer learns every feed, with no error.
    const honest = await open(null, multi.key)
    const errors = errorsOf(honest)
    pipe(multi, honest)
    await until(() => honest.feeds().length === listed.length, 'the honest peer learned the set')
    expect(errors).toEqual([])
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(records.filter((id) => id === hex(F))).toHaveLength(1)
  })

  it('six connections and add() offering overlapping keys at once, with a slow policy: each joins once', async () => {
    const store = await tmpStore()
    const next = rng(13)
    const pool = Array.from({ length: 24 }, () => bytes(next, 32))
    const pick = (n: number) => Array.from({ length: n }, () => pool[next() % pool.length]!)
    // The policy takes 0 to 3 turns of the event loop per key: admissions interleave.
    const multi = await open(store, null, {
      policy: {
        accept: async () => {
          for (let turns = next() % 4; turns > 0; turns--) {
            await new Promise((resolve) => setImmediate(resolve))
          }
          return true
        }
      }
    })
    const joined = new Map<string, number>()
    multi.on('feed', (info) => joined.set(hex(info.key), (joined.get(hex(info.key)) ?? 0) + 1))
    const holders = await Promise.all(Array.from({ length: 6 }, () => keyHolder(multi)))
    const signals: Buffer[] = []
    const adding: Promise<unknown>[] = []
    for (let round = 0; round < 8; round++) {
      for (const { p } of holders) p.send.elements(elementsBytes(at(pick(1 + (next() % 6)))))
      adding.push(multi.add(pool[next() % pool.length]!))
    }
    for (const { p } of holders) {
      const signal = bytes(next, 32)
      signals.push(signal)
      p.send.elements(elementsBytes(at([signal])))
    }
    await Promise.all(adding)
    await until(() => signals.every((k) => multi.feed(k) !== null), 'every later offer processed')
    const listed = multi.feeds().map((info) => hex(info.key))
    expect(new Set(listed).size).toBe(listed.length)
    expect([...joined.values()].every((count) => count === 1)).toBe(true)
    expect(joined.size).toBe(listed.length)
    await multi.close()
    const records = await membershipKeys(store, multi.discoveryKey)
    expect(new Set(records).size).toBe(records.length)
  })

  it('a log naming a feed twice re-opens with it once and every length on its own feed', async () => {
    const store = await tmpStore()
    const key = crypto.randomBytes(32)
    const [F, G, H] = [crypto.randomBytes(32), crypto.randomBytes(32), crypto.randomBytes(32)]
    // What the race wrote: F twice (the second record took position 1), then
    // G (2) and H (3), and checkpoints by position.
    const ns = store.namespace(`@multifeed/${hex(crypto.discoveryKey(key))}`, { active: false })
    const log = new MembershipLog(ns)
    const remote = (k: Buffer) => ({ key: k, local: false, name: null })
    await log.append({ feeds: [remote(F), remote(F), remote(G), remote(H)] })
    await log.append({
      lengths: [
        { seq: 0, length: 3 },
        { seq: 2, length: 9 },
        { seq: 3, length: 4 }
      ],
      // a session that closed cleanly: open() trusts these checkpoints (no core is held here)
      mark: MARK_CLOSED
    })
    await log.close()
    await ns.close()
    const multi = await open(store, key)
    expect(multi.feeds().map((info) => [hex(info.key), info.length])).toEqual([
      [hex(F), 3],
      [hex(G), 9],
      [hex(H), 4]
    ])
    // A feed added now takes a position of its own: its length checkpoint survives a re-open.
    const I = crypto.randomBytes(32)
    await multi.add(I)
    await multi.close()
    const again = await open(store, key)
    expect(again.feeds().map((info) => hex(info.key))).toEqual([F, G, H, I].map(hex))
  })
})

describe('a legacy store whose log names a feed twice', () => {
  // Written as multifeed before d7f1fda wrote it when two connections
  // admitted F at once (checked against that build, 4765c75): F's record
  // twice in two blocks, no session marks, no owner record, checkpoints by
  // the positions that code gave at run time — and after its own re-open
  // (its loader gave the duplicate no position) X's checkpoint names X's
  // position then (3), which is the duplicate's record here.
  it('opens with each feed once, no feed event, and an honest empty peer learns each key once', async () => {
    const source = await open()
    const f = await source.writer('f')
    await f.append([Buffer.from('f0'), Buffer.from('f1')])
    const a = await source.writer('a')
    await a.append(Buffer.from('a0'))
    const x = await source.writer('x')
    await x.append(Buffer.from('x0'))
    const store = await tmpStore()
    const ns = store.namespace(`@multifeed/${hex(source.discoveryKey)}`, { active: false })
    const mine = ns.get({ name: 'writer/mine', active: false })
    await mine.ready()
    await mine.append([Buffer.from('m0'), Buffer.from('m1'), Buffer.from('m2')])
    const log = new MembershipLog(ns)
    const remote = (k: Buffer) => ({ key: k, local: false, name: null })
    await log.append({ feeds: [{ key: mine.key!, local: true, name: 'mine' }] })
    await log.append({ feeds: [remote(a.key!)] })
    await log.append({ feeds: [remote(f.key!)] })
    await log.append({ feeds: [remote(f.key!)] })
    await log.append({ lengths: [{ seq: 0, length: 3 }] })
    await log.append({ feeds: [remote(x.key!)] })
    await log.append({ lengths: [{ seq: 3, length: 9 }] })
    await log.close()
    await mine.close()
    await ns.close()

    const legacy = await open(store, source.key)
    const listed = () => legacy.feeds().map((info) => [hex(info.key), info.length, info.local])
    expect(listed()).toEqual([
      [hex(mine.key!), 3, true],
      [hex(a.key!), 0, false],
      [hex(f.key!), 0, false],
      [hex(x.key!), 0, false]
    ])
    const joined: string[] = []
    legacy.on('feed', (info) => joined.push(hex(info.key)))
    const legacyErrors = errorsOf(legacy)

    // an honest empty peer: our list names each key once (a key twice closes its channel)
    const empty = await open(null, source.key)
    const emptyErrors = errorsOf(empty)
    const learned: string[] = []
    empty.on('feed', (info) => learned.push(hex(info.key)))
    pipe(legacy, empty)
    await until(() => empty.feeds().length === 4, 'the empty peer learns the four feeds')
    await empty.synced({ timeout: 10_000 })
    expect(learned.sort()).toEqual([mine.key!, a.key!, f.key!, x.key!].map(hex).sort())
    expect(empty.feed(mine.key!)?.length).toBe(3)

    // the source offers F, A and X again: known keys, no feed event
    pipe(source, legacy)
    await legacy.synced({ minPeers: 2, timeout: 10_000 })
    expect(legacy.feed(f.key!)?.length).toBe(2)
    expect(legacy.feed(x.key!)?.length).toBe(1)
    expect(joined).toEqual([])
    expect(legacyErrors).toEqual([])
    expect(emptyErrors).toEqual([])
    expect(listed().length).toBe(4)
    await legacy.close()
    const again = await open(store, source.key)
    expect(again.feeds().map((info) => hex(info.key))).toEqual(
      [mine.key!, a.key!, f.key!, x.key!].map(hex)
    )
  })
})

describe("a key blocked while a peer's offer of it is being admitted", () => {
  // The mesh simulator's "listed although removed": every member blocks a
  // removed writer's feed while the members that have not yet blocked it
  // still offer it. block() (and remove(key, { block }) of a key not in the
  // set) must wait for the admission under way and be what holds.
  for (const how of ['block(key)', 'remove(key, { block: true })'] as const) {
    it(`${how}: the key stays out of the set, blocked, and a later offer adds nothing`, async () => {
      const store = await tmpStore()
      const A = crypto.randomBytes(32)
      let letA: () => void = () => {}
      const gateA = new Promise<void>((resolve) => {
        letA = resolve
      })
      let admitting = false
      const multi = await open(store, null, {
        policy: {
          accept: async (key) => {
            if (key.equals(A)) {
              admitting = true
              await gateA
            }
            return true
          }
        }
      })
      const holder = await keyHolder(multi)
      holder.p.send.elements(elementsBytes(at([A])))
      await until(() => admitting, "A is being admitted from the peer's offer")
      const blocking = how === 'block(key)' ? multi.block(A) : multi.remove(A, { block: true })
      letA()
      await blocking
      expect(multi.feed(A)).toBeNull()
      expect(multi.blocked().map(hex)).toEqual([hex(A)])
      // The peer offers A again, then a new key: once the new key is in, A's offer was processed.
      const signal = crypto.randomBytes(32)
      holder.p.send.elements(elementsBytes(at([A, signal])))
      await until(() => multi.feed(signal) !== null, "the peer's later offer is processed")
      expect(multi.feed(A)).toBeNull()
      expect(multi.feeds().map((info) => hex(info.key))).toEqual([hex(signal)])
    })
  }
})

describe('a key another multifeed of the store holds', () => {
  it('is refused while that multifeed is closed and holds no core of it yet; joins once it was removed there', async () => {
    const store = await tmpStore()
    const x = await open(store)
    let y = await Multifeed.open(store)
    onCleanup(() => y.close())
    // y learns F from one of its peers while F is empty: no core of it in storage (lazy).
    const writer = await open(null, y.key)
    const f = await writer.writer('f')
    const F = f.key!
    const link = pipe(writer, y)
    await until(() => y.feed(F) !== null, 'y learned F')
    await link.destroy()
    expect(await store.storage.hasCore(crypto.discoveryKey(F))).toBe(false)
    await y.close()
    // x re-opens alone in the store: only the store's record knows of y.
    await x.close()
    const x2 = await open(store, x.key)
    // A key holder of x offers F, and a feed of its own.
    const { p } = await keyHolder(x2)
    const signal = crypto.randomBytes(32)
    p.send.elements(elementsBytes(at([F, signal])))
    await until(() => x2.feed(signal) !== null, 'the offer was processed')
    expect(x2.feed(F)).toBeNull()
    // y re-opens with F; once y removes it, the store lets go of it and x may take it.
    y = await Multifeed.open(store, y.key)
    expect(y.feed(F)).not.toBeNull()
    await y.remove(F)
    p.send.elements(elementsBytes(at([F])))
    await until(() => x2.feed(F) !== null, 'x takes F once y let go of it')
  })
})

describe('a multifeed written before the store recorded owners', () => {
  it('records its feeds when first opened again, and deletes the cores its log removed', async () => {
    // x and y from the sources, as Owners below: one record of the store in
    // memory (Owners keeps it with its writes), which the test rewrites.
    const store = await tmpStore()
    const x = (await srcOpen(store)) as unknown as Multifeed
    const y = await srcOpen(store)
    // y learns L (empty: no core, lazy) and R (with a block: a core in storage).
    const peer = await open(null, y.key)
    const l = await peer.writer('l')
    const r = await peer.writer('r')
    await r.append(Buffer.from('block'))
    const link = pipe(peer, y as unknown as Multifeed)
    await until(() => y.feed(l.key!) !== null && y.feed(r.key!)?.length === 1, 'y learned L and R')
    await link.destroy()
    await y.close()
    // What an older version left: R removed in the log with its core still on
    // disk (a purge it never finished), and nothing recorded for y.
    const ns = store.namespace(`@multifeed/${hex(y.discoveryKey)}`, { active: false })
    const log = new MembershipLog(ns)
    await log.append({ removals: [{ key: r.key!, block: false }] })
    await log.close()
    await ns.close()
    const owners = await Owners.open(store)
    await owners.write([
      ...owners.disown([l.discoveryKey!, r.discoveryKey!]),
      [`s/${hex(y.discoveryKey)}`, null]
    ])
    expect(owners.indexed(y.discoveryKey)).toBe(false)
    await owners.close()
    expect(await store.storage.hasCore(r.discoveryKey!)).toBe(true)
    // y opens once, then closes: L is recorded as y's, R's core is gone.
    await (await SrcMultifeed.open(store, y.key)).close()
    expect(await store.storage.hasCore(r.discoveryKey!)).toBe(false)
    const { p } = await keyHolder(x)
    const signal = crypto.randomBytes(32)
    p.send.elements(elementsBytes(at([l.key!, r.key!, signal])))
    await until(() => x.feed(signal) !== null, 'the offer was processed')
    expect(x.feed(l.key!)).toBeNull()
    expect(x.feed(r.key!)).not.toBeNull()
  })
})

describe('a process killed during remove(), after the tombstone, before the purge', () => {
  it('re-opens without the feed and without its core; the key may join again', async () => {
    const dir = await tmpDir()
    onCleanup(() => rm(`${dir}-peer`, { recursive: true, force: true }))
    const child = runFixture('crash-remove.mjs', [dir, 'purge'])
    const out = await outputOf(child)
    expect(out).toMatch(/^purging out of the set$/m)
    const [keyHex, feedHex] = out.match(/^removing (\S+) (\S+)$/m)!.slice(1) as [string, string]
    const F = Buffer.from(feedHex, 'hex')
    const store = new CorestoreClass(dir, { wait: true })
    onCleanup(() => store.close())
    const multi = await open(store, Buffer.from(keyHex, 'hex'))
    expect(multi.feed(F)).toBeNull()
    expect(await store.storage.hasCore(crypto.discoveryKey(F))).toBe(false)
    // The key is no longer "held for something else": it joins again, by hand and from a peer.
    expect(await multi.add(F)).not.toBeNull()
    await multi.remove(F)
    const peer = await open(new CorestoreClass(`${dir}-peer`, { wait: true }), multi.key)
    onCleanup(() => peer.corestore.close())
    pipe(multi, peer)
    await until(() => multi.feed(F) !== null, 'the peer that holds F offered it again')
  })
})
