/**
 * The promises of "Replication owned per stream" and "Private pairing",
 * tried the way an attacker or a careless user would: cores opened after the
 * stream exists, keys of another multifeed offered through this one, a
 * stranger inspecting everything it receives.
 */
import { Multifeed, PAIRING_PROTOCOL, PROTOCOL_NAME } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { HINT_BYTES, SECRET_BYTES } from '../src/protocol/pairing.js'
import { link, onCleanup, pipe, tmpStore, until } from './helpers.js'
import { spy } from './spy.js'

async function openIn(store: Awaited<ReturnType<typeof tmpStore>>, key?: Buffer) {
  const multi = await Multifeed.open(store, key)
  onCleanup(() => multi.close())
  return multi
}

/** Waits until `b` holds `length` blocks of `a`'s writer: a positive signal that earlier traffic was processed. */
async function roundTrip(
  a: Multifeed,
  b: Multifeed,
  length: number,
  name = 'signal'
): Promise<void> {
  const w = await a.writer(name)
  while (w.length < length) await w.append(Buffer.from(`s${w.length}`))
  const key = w.key!
  await w.close()
  await until(() => (b.feed(key)?.length ?? 0) >= length, `the peer holds ${length} signal blocks`)
}

describe('replication owned per stream', () => {
  it('cores opened after the stream exists are never offered on it', async () => {
    const storeA = await tmpStore()
    const a = await openIn(storeA)
    const b = await openIn(await tmpStore(), a.key)
    const y = await openIn(storeA) // another multifeed of the same store
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    const seen = spy(sb)
    link(sa, sb)
    await roundTrip(a, b, 1)

    // After the stream exists: a user core in the root store (active session),
    // a writer of another multifeed, a core opened through a user key pair.
    const userCore = storeA.get({ name: 'user-core' })
    await userCore.ready()
    await userCore.append(Buffer.from('private'))
    const yWriter = await y.writer('y')
    await yWriter.append(Buffer.from('y-data'))
    const keyPairCore = storeA.get({ keyPair: crypto.keyPair() })
    await keyPairCore.ready()
    await keyPairCore.append(Buffer.from('kp'))
    onCleanup(async () => {
      await userCore.close()
      await yWriter.close()
      await keyPairCore.close()
    })

    await roundTrip(a, b, 2)
    const offered = seen.opens.filter((o) => o.protocol === 'hypercore/alpha').map((o) => o.id!)
    for (const core of [userCore, yWriter, keyPairCore]) {
      expect(offered.some((id) => id.equals(core.discoveryKey!))).toBe(false)
      expect(seen.contains(core.key!)).toBe(false)
    }
    // What was offered is exactly the set's signal writer.
    expect(offered.length).toBe(1)
  })

  it('a member of X cannot make X adopt a core this store holds for Y', async () => {
    const storeA = await tmpStore()
    const x = await openIn(storeA)
    const y = await openIn(storeA)
    const yWriter = await y.writer()
    await yWriter.append(Buffer.from('secret of y'))
    const stolen = yWriter.key!
    await yWriter.close()

    // The attacker is a member of X who learned Y's writer key elsewhere.
    const attacker = await openIn(await tmpStore(), x.key)
    await attacker.add(stolen)
    const sa = x.replicate(true)
    const sm = attacker.replicate(false)
    const seen = spy(sm)
    link(sa, sm)
    await roundTrip(attacker, x, 1, 'attacker-signal')
    await roundTrip(x, attacker, 1, 'x-signal')

    expect(x.feed(stolen)).toBeNull()
    const yDiscoveryKey = crypto.discoveryKey(stolen)
    expect(seen.opens.some((o) => o.id?.equals(yDiscoveryKey))).toBe(false)

    // Asking for the core directly on the stream is refused too.
    const rejectsBefore = seen.rejects
    const session = await attacker.get(stolen)
    onCleanup(() => session.close())
    session.replicate(sm)
    await until(() => seen.rejects > rejectsBefore, 'x refuses the core')
    expect(session.length).toBe(0)
    expect(x.feeds().some((f) => f.key.equals(stolen))).toBe(false)
  })

  it('nor a feed Y only knows by key (no core in storage yet: lazy cores)', async () => {
    // Found by the fuzzer: storage alone cannot tell, since Y opens the
    // core of a feed it learned only when something needs it.
    const storeA = await tmpStore()
    const x = await openIn(storeA)
    const y = await openIn(storeA)
    const known = crypto.randomBytes(32)
    await y.add(known)
    const attacker = await openIn(await tmpStore(), x.key)
    await attacker.add(known)
    link(x.replicate(true), attacker.replicate(false))
    await roundTrip(attacker, x, 1, 'attacker-signal')
    expect(x.feed(known)).toBeNull()
    expect(y.feed(known)).not.toBeNull()
  })

  it('two multifeeds of one store offered the same new key at once: one of them takes it', async () => {
    const storeA = await tmpStore()
    const x = await openIn(storeA)
    const y = await openIn(storeA)
    const key = crypto.randomBytes(32)
    const results = await Promise.allSettled([x.add(key), y.add(key)])
    const holders = [x, y].filter((m) => m.feed(key) !== null)
    expect(holders).toHaveLength(1)
    // The other was told at the call.
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused).toHaveLength(1)
    expect((refused[0] as PromiseRejectedResult).reason.code).toBe('ERR_INVALID_ARGUMENT')
  })

  it('a stranger on the connection learns nothing of our multifeeds', async () => {
    const storeA = await tmpStore()
    const x = await openIn(storeA)
    const y = await openIn(storeA)
    const yWriter = await y.writer()
    await yWriter.append(Buffer.from('y'))
    const xWriter = await x.writer()
    await xWriter.append(Buffer.from('x'))
    onCleanup(async () => {
      await yWriter.close()
      await xWriter.close()
    })
    // The stranger holds X's key: it must still learn nothing of Y.
    const stranger = await openIn(await tmpStore(), x.key)
    const sa = x.replicate(true)
    y.attach(sa)
    const ss = stranger.replicate(false)
    const seen = spy(ss)
    link(sa, ss)
    await roundTrip(x, stranger, 2)

    for (const secret of [y.key, y.discoveryKey, yWriter.key!, yWriter.discoveryKey!]) {
      expect(seen.contains(secret)).toBe(false)
      expect(seen.opens.some((o) => o.id?.equals(secret))).toBe(false)
    }
    // Not even X's discovery key travels: the channel id is bound to the connection.
    expect(seen.contains(x.discoveryKey)).toBe(false)
    expect(seen.opensOf(PROTOCOL_NAME)).toBe(1)
  })

  it('two peers sharing 1 of 100 multifeeds open one multifeed channel', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const shared = await openIn(storeA)
    const others = await Promise.all(Array.from({ length: 99 }, () => openIn(storeA)))
    const sharedB = await openIn(storeB, shared.key)
    const othersB = await Promise.all(Array.from({ length: 99 }, () => openIn(storeB)))
    const sa = shared.replicate(true)
    for (const m of others) m.attach(sa)
    const sb = sharedB.replicate(false)
    for (const m of othersB) m.attach(sb)
    const seenB = spy(sb)
    const seenA = spy(sa)
    link(sa, sb)
    await roundTrip(shared, sharedB, 1)
    expect(seenB.opensOf(PROTOCOL_NAME)).toBe(1)
    expect(seenA.opensOf(PROTOCOL_NAME)).toBe(1)
    expect(seenB.opensOf(PAIRING_PROTOCOL)).toBe(1)
    const pairing = shared.peers()[0]!.replication.stats
    expect(pairing.tokensSent).toBe(100)
    // A 16-byte token and a state hint per multifeed, plus the message's count, flags and hint width.
    expect(pairing.bytesSent).toBeLessThanOrEqual(100 * (SECRET_BYTES + HINT_BYTES) + 16)
  })
})

describe('sessions', () => {
  it("closing a session from get() or writer() does not stop the feed's replication", async () => {
    const a = await openIn(await tmpStore())
    const b = await openIn(await tmpStore(), a.key)
    const w = await a.writer()
    await w.append(Buffer.from('1'))
    pipe(a, b)
    await until(() => b.feed(w.key!)?.length === 1, 'b has block 1')
    const session = await b.get(w.key!)
    await session.close()
    await w.close()
    const again = await a.writer()
    await again.append(Buffer.from('2'))
    await until(() => b.feed(w.key!)?.length === 2, 'b still gets blocks')
    await again.close()
  })

  it('open() opens no feed core and a closed connection leaves none open', async () => {
    const store = await tmpStore()
    let multi = await Multifeed.open(store)
    const key = multi.key
    for (let i = 0; i < 5; i++) {
      const w = await multi.writer(`w${i}`)
      await w.append(Buffer.from('x'))
      await w.close()
    }
    for (let i = 0; i < 20; i++) await multi.add(crypto.randomBytes(32))
    await multi.close()
    multi = await Multifeed.open(store, key)
    onCleanup(() => multi.close())
    expect(multi.feeds().length).toBe(25)
    expect(
      multi
        .feeds()
        .filter((f) => f.local)
        .every((f) => f.length === 1)
    ).toBe(true)
    expect(multi.openCores).toBe(0)

    const b = await openIn(await tmpStore(), key)
    const p = pipe(multi, b)
    await until(() => b.feeds().filter((f) => f.length === 1).length === 5, 'b gets every block')
    expect(multi.openCores).toBeGreaterThan(0)
    await p.destroy()
    await until(() => multi.openCores === 0 && b.openCores === 0, 'cores close with the connection')
  })
})

describe('shared cores', () => {
  it('a core in two multifeeds keeps replicating when one of them detaches', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const keyPair = crypto.keyPair()
    const ax = await openIn(storeA)
    const ay = await openIn(storeA)
    const bx = await openIn(storeB, ax.key)
    const by = await openIn(storeB, ay.key)
    const wx = await ax.writer('shared', { keyPair })
    const wy = await ay.writer('shared', { keyPair })
    expect(wx.key!.equals(wy.key!)).toBe(true)
    const key = wx.key!
    await wx.append(Buffer.from('0'))
    await wx.close()
    await wy.close()
    // B holds the key in Y only: a core joins one multifeed per store (X's
    // offer of it is refused on B). The shared core is A's, on one stream.
    await by.add(key)
    const sa = ax.replicate(true)
    ay.attach(sa)
    const sb = bx.replicate(false)
    by.attach(sb)
    link(sa, sb)
    await until(() => by.feed(key)?.length === 1, 'b holds block 0')
    const watch = await by.get(key)
    onCleanup(() => watch.close())
    await until(() => watch.peers.length === 1, "b's core has its peer")
    let removed = 0
    watch.on('peer-remove', () => removed++)

    ax.detach(sa)
    await until(() => bx.peers().length === 0, 'x is detached on both sides')
    const w = await ay.writer('shared', { keyPair })
    await w.append(Buffer.from('1'))
    await w.close()
    await until(() => by.feed(key)?.length === 2, 'y still replicates the core')
    // The core stayed attached: its hypercore channel never closed.
    expect(removed).toBe(0)
  })
})
