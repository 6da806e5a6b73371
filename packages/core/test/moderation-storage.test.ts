import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { blockOf, ownerOf } from '../src/moderation/evaluate.js'
import { createModeratedSet } from '../src/moderation/invite.js'
import { signRecord } from '../src/moderation/signing.js'
import { identityOf } from '../src/set/identity.js'
import { Moderation } from '../src/set/Moderation.js'
import { ModerationLog } from '../src/set/ModerationLog.js'
import { onCleanup, tmpDir, tmpStore } from './helpers.js'

const founder = crypto.keyPair(Buffer.alloc(32, 1))
const alice = crypto.keyPair(Buffer.alloc(32, 2))
const set = createModeratedSet(founder.publicKey)
const F = Buffer.alloc(32, 0xf1)

async function open(identity = founder, dir?: string) {
  const store = await tmpStore(dir)
  const moderation = await Moderation.open(store, set, identity)
  onCleanup(() => moderation.close())
  return { store, moderation }
}

describe('moderation on a peer', () => {
  it('keeps its records across a re-open: the same state from the log alone', async () => {
    const dir = await tmpDir()
    const { store, moderation } = await open(founder, dir)
    await moderation.grant(alice.publicKey)
    const change = await moderation.block('feed', F, 'spam')
    expect(change.blocked.map((e) => e.reason)).toEqual(['spam'])
    await moderation.close()
    await store.close()

    // By its key alone: the log holds the set's id.
    const store2 = await tmpStore(dir)
    const again = { moderation: await Moderation.open(store2, set.key, founder) }
    onCleanup(() => again.moderation.close())
    expect(again.moderation.id.founder.equals(founder.publicKey)).toBe(true)
    expect(again.moderation.id.secret!.equals(set.secret!)).toBe(true)
    expect(again.moderation.size).toBe(2)
    expect(blockOf(again.moderation.state, F)?.reason).toBe('spam')
    expect(again.moderation.isModerator(alice.publicKey)).toBe(true)
  })

  it("takes a peer's records in any order, stores them once, reports what changed", async () => {
    const a = (await open(founder)).moderation
    const b = (await open(alice)).moderation
    expect(() => b.block('feed', F)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    const granted = await a.grant(alice.publicKey)
    expect(granted.moderators).toBe(true)
    const taken = await b.receive([...a.records()].map((r) => r.bytes))
    expect(taken.moderators).toBe(true)
    expect(b.isModerator(alice.publicKey)).toBe(true)

    const blocked = await b.block('feed', F, 'flood')
    const [grant] = [...a.records()]
    // A third peer gets the block before the grant it follows: pending, then in force.
    const c = (await open(founder)).moderation
    const first = await c.receive([blocked.added[0]!.bytes])
    expect(first.blocked).toEqual([])
    expect(c.state.pending).toHaveLength(1)
    const second = await c.receive([grant!.bytes, blocked.added[0]!.bytes])
    expect(second.refused).toEqual({ duplicate: 1 })
    expect(second.blocked.map((e) => e.signer.equals(alice.publicKey))).toEqual([true])
    expect(c.size).toBe(2)

    const lifted = await a.receive([...b.records()].map((r) => r.bytes))
    expect(lifted.blocked).toHaveLength(1)
    const unblocked = await a.unblock('feed', F)
    expect(unblocked.unblocked).toEqual([`feed:${F.toString('hex')}`])
  })

  it('counts forged and foreign records and stores none of them', async () => {
    const { moderation } = await open(founder)
    const forged = signRecord(set.key, alice, { type: 'grant', target: alice.publicKey })
    const bytes = Buffer.from(forged.bytes)
    founder.publicKey.copy(bytes, 2) // claims the founder signed it
    const other = createModeratedSet(founder.publicKey)
    const foreign = signRecord(other.key, founder, { type: 'grant', target: alice.publicKey })
    const change = await moderation.receive([bytes, foreign.bytes, Buffer.from('junk')])
    expect(change.refused).toEqual({ signature: 2, malformed: 1 })
    await moderation.receive([bytes])
    expect(moderation.refusals).toMatchObject({ signature: 3, malformed: 1, duplicate: 0 })
    expect(change.added).toEqual([])
    expect(moderation.size).toBe(0)
  })

  it("binds our writers to our identity, and an identity's block reaches them", async () => {
    const { moderation } = await open(founder)
    const b = (await open(alice)).moderation
    const store = await tmpStore()
    const writer = store.get({ name: 'w' })
    await writer.ready()
    onCleanup(() => writer.close())
    expect(Hypercore.key(writer.keyPair!.publicKey).equals(writer.key!)).toBe(true)
    const { publicKey, secretKey } = writer.keyPair!
    const bound = await b.bind({ key: writer.key!, keyPair: { publicKey, secretKey: secretKey! } })
    await moderation.receive(bound.added.map((r) => r.bytes))
    expect(ownerOf(moderation.state, writer.key!)?.equals(alice.publicKey)).toBe(true)
    await moderation.block('identity', alice.publicKey, 'spammer')
    expect(blockOf(moderation.state, writer.key!)?.reason).toBe('spammer')
  })

  it('tells whether a namespace holds a moderation log, without making one', async () => {
    const root = await tmpStore()
    const ns = root.namespace('@multifeed/a', { active: false })
    const other = root.namespace('@multifeed/b', { active: false })
    expect(await ModerationLog.exists(ns, root)).toBe(false)
    expect(await ModerationLog.exists(ns, root)).toBe(false)
    const moderation = await Moderation.open(ns, set, founder)
    await moderation.close()
    expect(await ModerationLog.exists(ns, root)).toBe(true)
    expect(await ModerationLog.exists(other, root)).toBe(false)
  })

  it('opens by key only a set the store holds; a log of another set is refused', async () => {
    const store = await tmpStore()
    await expect(Moderation.open(store, set.key, founder)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    const moderation = await Moderation.open(store, set, founder)
    await moderation.close()
    const other = createModeratedSet(founder.publicKey)
    await expect(Moderation.open(store, other, founder)).rejects.toMatchObject({
      code: 'ERR_STORAGE_CORRUPT',
      message: expect.stringMatching(/another set/)
    })
  })

  it('refuses to open a log holding a record that does not verify', async () => {
    const dir = await tmpDir()
    const { store, moderation } = await open(founder, dir)
    await moderation.grant(alice.publicKey)
    await moderation.close()
    const ns = store.get({ name: 'multifeed/moderation' })
    await ns.append(Buffer.from('not a record'))
    await ns.close()
    await store.close()
    const again = await tmpStore(dir)
    await expect(Moderation.open(again, set, founder)).rejects.toMatchObject({
      code: 'ERR_STORAGE_CORRUPT'
    })
  })
})

describe('identities', () => {
  it("is the corestore's own by default: the same after a re-open, another for another store", async () => {
    const dir = await tmpDir()
    const store = await tmpStore(dir)
    const first = await identityOf(store)
    expect((await identityOf(store)).publicKey.equals(first.publicKey)).toBe(true)
    await store.close()
    const again = await identityOf(await tmpStore(dir))
    expect(again.publicKey.equals(first.publicKey)).toBe(true)
    expect((await identityOf(await tmpStore())).publicKey.equals(first.publicKey)).toBe(false)
    // It signs: a record of it verifies.
    const record = signRecord(set.key, again, { type: 'grant', target: alice.publicKey })
    expect(record.record.signer.equals(first.publicKey)).toBe(true)
  })

  it('takes a given key pair (devices sharing one) and refuses one whose halves disagree', async () => {
    const store = await tmpStore()
    expect((await identityOf(store, alice)).publicKey.equals(alice.publicKey)).toBe(true)
    const code = { code: 'ERR_INVALID_ARGUMENT' }
    await expect(
      identityOf(store, { publicKey: founder.publicKey, secretKey: alice.secretKey })
    ).rejects.toMatchObject(code)
    await expect(
      identityOf(store, { publicKey: alice.publicKey, secretKey: Buffer.alloc(12) })
    ).rejects.toMatchObject(code)
  })
})
