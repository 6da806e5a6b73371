/**
 * Moderated sets on one peer and two peers by hand (issue 14): writers bound
 * to identities (`FeedInfo.owner`), `multi.moderation` (block, unblock,
 * grant, revoke, moderators, blocked, the `moderation` event) and the local
 * effect: a blocked feed or identity removed, purged and refused, kept apart
 * from the member's own mute, an unblock letting it back in. Records move
 * between the two peers by hand (`recordsOf`) until the set's protocol
 * carries them.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import type { FeedInfo, ModerationEvent, Multifeed, MultifeedOptions } from '../src/index.js'
import { signRecord } from '../src/moderation/signing.js'
import { identityOf } from '../src/set/identity.js'
import { recordsOf } from '../src/set/SetModeration.js'
import { link, onCleanup, tmpStore, until } from './helpers.js'
import { open } from './srcOpen.js'

/** Gives `to` every record `from` holds (what the set's protocol will do). */
async function carry(from: Multifeed, to: Multifeed): Promise<void> {
  const records = [...recordsOf(from.moderation!).records()].map((r) => r.bytes)
  await recordsOf(to.moderation!).receive(records)
}

/** A founder and a member joined by the invite, replicating; the member has a writer with `blocks` blocks. */
async function room(blocks = 2, founderOptions: MultifeedOptions = {}) {
  const founderStore = await tmpStore()
  const memberStore = await tmpStore()
  const founder = await open(founderStore, null, { moderated: true, ...founderOptions })
  const member = await open(memberStore, founder.invite)
  const w = await member.writer('spam')
  onCleanup(() => w.close())
  for (let i = 0; i < blocks; i++) await w.append(Buffer.from(`junk ${i}`))
  link(founder.replicate(true), member.replicate(false))
  await until(
    () => founder.feed(w.key!)?.length === blocks,
    'the founder holds the member’s writer'
  )
  return { founder, member, founderStore, memberStore, F: Buffer.from(w.key!), w }
}

/** The feeds `multi` reports removed from now on (reported before the call that removed them resolves). */
const removals = (multi: Multifeed) => {
  const seen: FeedInfo[] = []
  multi.on('remove', (info) => seen.push(info))
  return seen
}

const events = (multi: Multifeed) => {
  const seen: ModerationEvent[] = []
  multi.on('moderation', (e) => seen.push(e))
  return seen
}

describe('writers bound to identities', () => {
  it('binds every writer created in a moderated set; FeedInfo.owner is its identity', async () => {
    const identity = crypto.keyPair()
    const store = await tmpStore()
    const multi = await open(store, null, { moderated: true, identity })
    const w = await multi.writer('me')
    await w.close()
    expect(multi.feed(w.key!)!.owner!.equals(identity.publicKey)).toBe(true)
    expect(multi.feeds()[0]!.owner!.equals(identity.publicKey)).toBe(true)
    const binds = [...recordsOf(multi.moderation!).records()].filter(
      (r) => r.record.type === 'bind'
    )
    expect(binds).toHaveLength(1)
    // Idempotent: the same writer is not bound twice.
    await (await multi.writer('me')).close()
    expect(recordsOf(multi.moderation!).size).toBe(1)
    // Unmoderated sets: no owner, no moderation.
    const plain = await open(store)
    const pw = await plain.writer('me')
    await pw.close()
    expect(plain.feed(pw.key!)!.owner).toBeNull()
    expect(plain.moderation).toBeNull()
  })

  it('a peer learns the owner of a remote feed from its bind record', async () => {
    const { founder, member, F } = await room(1)
    // The set's protocol carries the bind (records before feeds).
    await until(() => founder.feed(F)?.owner != null, 'the bind record arrived')
    expect(founder.feed(F)!.owner!.equals(member.moderation!.identity)).toBe(true)
  })
})

describe('multi.moderation', () => {
  it('blocks a feed: removed, purged, refused, reported; the member’s own mute untouched', async () => {
    const { founder, founderStore, member, F, w } = await room(2)
    const seen = events(founder)
    const removed = removals(founder)
    await founder.moderation!.block({ feed: F }, { reason: 'spam' })
    expect(removed.map((f) => f.key.equals(F))).toEqual([true])
    expect(founder.feed(F)).toBeNull()
    expect(await founderStore.storage.hasCore(crypto.discoveryKey(F))).toBe(false)
    expect(founder.blocked()).toEqual([]) // the mute list is the member's own
    const [block] = founder.moderation!.blocked()
    expect(block).toMatchObject({ target: { feed: F }, reason: 'spam' })
    expect(block!.signer.equals(founder.moderation!.identity)).toBe(true)
    expect(block!.time).toBeGreaterThan(0)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.blocked).toHaveLength(1)
    expect(seen[0]!.removed.map((f) => f.key.equals(F))).toEqual([true])
    // Refused from every peer: the member appends to F (unless the block reached
    // it first: records leave before the founder's own removal) and makes a new
    // writer; the new writer arrives after F's update, and F stays out.
    await w.append(Buffer.from('more junk')).catch((err) => {
      expect(err.code).toBe('SESSION_CLOSED')
    })
    const other = await member.writer('other')
    await other.close()
    await until(() => founder.feed(other.key!) !== null, 'the founder learned the other writer')
    expect(founder.feed(F)).toBeNull()
    // Nor by hand.
    await expect(founder.add(F)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('moderation')
    })
  })

  it('unblock lets the feed back in: fetched again from a peer that holds it', async () => {
    const { founder, member, F } = await room(2)
    // A member that holds F and is away while F is blocked (the block reaches
    // the writer's owner too, which purges it) and unblocked.
    const away = await open(null, founder.invite)
    const first = link(member.replicate(true), away.replicate(false))
    await until(() => away.feed(F)?.length === 2, 'the away member holds F')
    await away.downloaded({ timeout: 10_000 })
    await first.destroy()
    await founder.moderation!.block({ feed: F })
    expect(founder.feed(F)).toBeNull()
    const seen = events(founder)
    await founder.moderation!.unblock({ feed: F })
    expect(founder.moderation!.blocked()).toEqual([])
    expect(seen[0]!.unblocked).toEqual([{ feed: F }])
    link(away.replicate(true), founder.replicate(false))
    await until(() => founder.feed(F)?.length === 2, 'F fetched again from the member away')
    const session = await founder.get(F)
    expect((await session.get(1))!.toString()).toBe('junk 1')
    await session.close()
  })

  it('a moderator’s unblock never lifts a member’s mute, nor a member’s unblock a moderator’s block', async () => {
    const { founder, F } = await room(1)
    await founder.block(F) // the member's own mute
    await founder.moderation!.block({ feed: F })
    await founder.moderation!.unblock({ feed: F })
    expect(founder.blocked().map((k) => k.equals(F))).toEqual([true])
    expect(founder.feed(F)).toBeNull()
    await expect(founder.add(F)).rejects.toMatchObject({
      message: expect.stringContaining('unblock() it first')
    })

    const second = await room(1)
    await second.founder.moderation!.block({ feed: second.F })
    await second.founder.unblock(second.F) // a member's unblock: nothing of the moderation's
    await expect(second.founder.add(second.F)).rejects.toMatchObject({
      message: expect.stringContaining('moderation')
    })
  })

  it('blocks an identity: its feeds now and the ones it binds later', async () => {
    const { founder, member, memberStore, F } = await room(1)
    await until(() => founder.feed(F)?.owner != null, "F's bind arrived")
    const identity = member.moderation!.identity
    await founder.moderation!.block({ identity }, { reason: 'spammer' })
    expect(founder.feed(F)).toBeNull()
    // The blocked member learns it over the link: F gone there, its writers refused.
    await until(() => member.feed(F) === null, 'the member took the block')
    await expect(member.writer('again')).rejects.toMatchObject({ code: 'ERR_NOT_WRITABLE' })
    // Another device of that identity, away during the block, binds a writer
    // later: it reaches the founder with its bind, which refuses it.
    const device = await open(null, founder.invite, { identity: await identityOf(memberStore) })
    const later = await device.writer('later')
    await later.close()
    const reconciled = new Promise((resolve) => founder.once('reconciled', resolve))
    link(device.replicate(true), founder.replicate(false))
    await reconciled
    await until(() => device.feed(later.key!) === null, 'the device took the block')
    expect(founder.feed(later.key!)).toBeNull()
    // Unblocking the identity lets its feeds back in.
    await founder.moderation!.unblock({ identity })
    await until(() => founder.feed(F) !== null, 'F back in after the identity’s unblock')
  })

  it('a writer refused for a blocked identity leaves no bind: after the unblock, owner and members list the same feeds', async () => {
    // Found by the mesh simulator (notes/moderation-sim.md): the refused writer's bind
    // travelled, the members re-added its key at the unblock, its owner (whose store
    // holds that core outside the set) could not: the sets differed for good.
    const { founder, member, F } = await room(1)
    await until(() => founder.feed(F)?.owner != null, "F's bind arrived")
    const identity = member.moderation!.identity
    await founder.moderation!.block({ identity }, { reason: 'spammer' })
    await until(() => member.feed(F) === null, 'the member took the block')
    await expect(member.writer('refused')).rejects.toMatchObject({ code: 'ERR_NOT_WRITABLE' })
    await carry(member, founder)
    await founder.moderation!.unblock({ identity })
    await until(() => member.moderation!.blocked().length === 0, 'the member took the unblock')
    await until(() => founder.feed(F) !== null && member.feed(F) !== null, 'F back on both')
    const keys = (m: Multifeed) =>
      m
        .feeds()
        .map((f) => f.key.toString('hex'))
        .sort()
    expect(keys(founder)).toEqual(keys(member))
  })

  it('a feed of a blocked identity being admitted while the block is applied is removed once admitted', async () => {
    // Found by the demo's --spammer run: the founder blocked the spammer's identity while one
    // of its feeds was joining (admission past its checks, awaiting); the block's removal
    // skipped a key not yet in the set, the admission then listed it: blocked and listed for good.
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const founder = await open(null, null, {
      moderated: true,
      policy: {
        accept: async () => {
          await gate
          return true
        }
      }
    })
    const member = await open(null, founder.invite)
    const w = await member.writer('spam')
    await w.close()
    const F = Buffer.from(w.key!)
    await carry(member, founder) // the bind: the founder knows F's owner, not F
    const removed = new Promise<void>((resolve) =>
      founder.on('remove', (info) => info.key.equals(F) && resolve())
    )
    const adding = founder.add(F) // admission holds F, waiting on the accept policy
    await founder.moderation!.block({ identity: member.moderation!.identity })
    release()
    await adding
    await removed
    expect(founder.feed(F)).toBeNull()
  })

  it('grant and revoke: a moderator blocks; once revoked it cannot', async () => {
    const { founder, member, F } = await room(1)
    const mod = member.moderation!
    expect(mod.isModerator()).toBe(false)
    await expect(mod.block({ feed: F })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(mod.grant(mod.identity)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    const seen = events(member)
    await founder.moderation!.grant(mod.identity)
    await carry(founder, member)
    expect(seen.map((e) => e.moderators)).toEqual([true])
    expect(mod.moderators().map((k) => k.toString('hex'))).toEqual([
      founder.moderation!.identity.toString('hex'),
      mod.identity.toString('hex')
    ])
    const G = await member.writer('g')
    await G.close()
    await until(() => founder.feed(G.key!) !== null, 'the founder learned G')
    await mod.block({ feed: G.key! }, { reason: 'by a moderator' })
    await carry(member, founder)
    expect(founder.feed(G.key!)).toBeNull()
    expect(founder.moderation!.blocked()[0]!.signer.equals(mod.identity)).toBe(true)

    await founder.moderation!.revoke(mod.identity)
    await carry(founder, member)
    expect(mod.isModerator()).toBe(false)
    await expect(mod.block({ feed: F })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    // The block it made before the revoke, which the founder had seen, stands.
    expect(founder.moderation!.blocked()).toHaveLength(1)
  })

  it('recordIds(): the authority records held, binds left out; equal ids, equal outcome', async () => {
    const { founder, member, F } = await room(1)
    const hex = (m: Multifeed) => m.moderation!.recordIds().map((id) => id.toString('hex'))
    // The member's writer is bound (a bind record each side holds): not listed.
    expect(hex(founder)).toEqual([])
    await founder.moderation!.grant(member.moderation!.identity)
    await founder.moderation!.block({ feed: F }, { reason: 'spam' })
    expect(hex(founder)).toHaveLength(2)
    expect(hex(founder)).toEqual([...hex(founder)].sort())
    // The link may have carried them already: carrying them again changes nothing.
    await carry(founder, member)
    expect(hex(member)).toEqual(hex(founder))
    expect(member.moderation!.blocked()).toEqual(founder.moderation!.blocked())
    expect(member.moderation!.moderators()).toEqual(founder.moderation!.moderators())
  })

  it('a close while a block is applied: the block is done or refused ERR_CLOSED, the close completes', async () => {
    const { founder, F } = await room(1)
    const blocking = founder.moderation!.block({ feed: F }).then(
      () => 'done',
      (err) => err.code
    )
    await founder.close()
    expect(['done', 'ERR_CLOSED']).toContain(await blocking)
    await expect(founder.moderation!.block({ feed: F })).rejects.toMatchObject({
      code: 'ERR_CLOSED'
    })
  })

  it('checks its arguments, with a code', async () => {
    const multi = await open(null, null, { moderated: true })
    const m = multi.moderation!
    const F = crypto.randomBytes(32)
    const bad: Array<[() => Promise<void>, string]> = [
      [() => m.block({} as never), 'target must be'],
      [() => m.block({ feed: F, identity: F } as never), 'target must be'],
      [() => m.block({ feed: 'nope' }), 'feed must be'],
      [() => m.block({ feed: F }, { reason: 'x'.repeat(281) }), 'reason'],
      [() => m.block({ feed: F }, { why: 'x' } as never), "unknown option 'why'"],
      [() => m.block({ identity: m.founder }), 'founder cannot be blocked'],
      [() => m.revoke(m.founder), 'founder cannot be revoked'],
      [() => m.unblock({ identity: 12 } as never), 'identity must be']
    ]
    for (const [call, says] of bad) {
      await expect(call(), says).rejects.toMatchObject({
        message: expect.stringContaining(says)
      })
    }
    await expect(m.block({ feed: 'nope' })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    expect(m.blocked()).toEqual([])
  })
})

describe('policy.moderation: a member’s own choice', () => {
  it('ignores a moderator, trusts a non-moderator; a member without the policy follows the rule', async () => {
    const trusted = crypto.keyPair()
    const ignored = crypto.keyPair()
    const asked: Array<string | null> = []
    // The founder here holds the policy; the member does not.
    const { founder, member, F } = await room(1, {
      policy: {
        moderation: (record, { verdict }) => {
          asked.push(verdict)
          if (record.signer.equals(trusted.publicKey)) return true
          if (record.signer.equals(ignored.publicKey)) return false
          return undefined
        }
      }
    })
    await founder.moderation!.grant(ignored.publicKey)
    // Binds stay outside the causal graph (RecordBook.heads): the member's, which
    // the set's protocol brought here, is no dep.
    const heads = [...recordsOf(founder.moderation!).records()]
      .filter((r) => r.record.type !== 'bind')
      .map((r) => r.id)
    const byIgnored = signRecord(
      founder.key,
      ignored,
      { type: 'block', kind: 'feed', target: F, reason: 'ignored' },
      { deps: heads }
    )
    await recordsOf(founder.moderation!).receive([byIgnored.bytes])
    expect(founder.feed(F)).not.toBeNull()
    expect(founder.moderation!.blocked()).toEqual([])
    // The member, without the policy, follows the set's moderator.
    await carry(founder, member)
    expect(member.moderation!.blocked().map((b) => b.reason)).toEqual(['ignored'])

    // A block by someone the set never granted: followed here, by choice.
    const byTrusted = signRecord(founder.key, trusted, {
      type: 'block',
      kind: 'feed',
      target: F,
      reason: 'trusted'
    })
    await recordsOf(founder.moderation!).receive([byTrusted.bytes])
    expect(asked).toContain('unauthorized')
    expect(founder.feed(F)).toBeNull()
    expect(founder.moderation!.blocked()[0]!.reason).toBe('trusted')
  })

  it('a throwing policy keeps the rule’s verdict and is reported', async () => {
    const { founder, F } = await room(1, {
      policy: {
        moderation: () => {
          throw new Error('oops')
        }
      }
    })
    const reported: Error[] = []
    founder.on('callback-error', (error) => reported.push(error))
    await founder.moderation!.block({ feed: F })
    expect(founder.feed(F)).toBeNull()
    expect(reported[0]?.message).toContain('policy.moderation')
  })
})
