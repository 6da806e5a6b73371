/**
 * Moderated encrypted sets (issues 14 and 15 where they meet): the invite
 * carries what a member needs (founder, secret: the member key derives from
 * both), the mirror invite what a mirror needs (founder, mirror key: the
 * pairing key binds both). A mirror receives, verifies, relays and applies
 * the set's records: a blocked feed is purged from it and refused, identity
 * blocks included, while it still cannot decrypt, nor sign a record or add
 * a feed that members accept.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { tierOf } from '../src/capabilities.js'
import { Multifeed, type MultifeedPeer, NotWritableError } from '../src/index.js'
import { signRecord } from '../src/moderation/signing.js'
import { MODERATED_TAGS_MINOR } from '../src/protocol/messages.js'
import { recordsOf } from '../src/set/SetModeration.js'
import {
  filesContaining,
  link,
  next,
  onCleanup,
  type Pipe,
  tmpDir,
  tmpStore,
  until
} from './helpers.js'
import { open } from './srcOpen.js'

type Store = Awaited<ReturnType<typeof tmpStore>>

/** 32 bytes in every entry: never to be found in a mirror's storage. */
const MARKER = Buffer.from('moderated mirror marker 0123456!')

async function writer(multi: Multifeed, name: string, blocks = 2): Promise<Hypercore<Buffer>> {
  const w = (await multi.writer(name)) as Hypercore<Buffer>
  onCleanup(() => w.close())
  for (let i = 0; i < blocks; i++) await w.append(Buffer.concat([MARKER, Buffer.from(` ${i}`)]))
  return w
}

function holds(store: Store, key: Buffer): Promise<boolean> {
  return store.storage.hasCore(crypto.discoveryKey(key))
}

/** A founder, a member with a writer, and a mirror synced with both. */
async function world() {
  const founder = await open(null, null, { moderated: true, encrypted: true })
  const member = await open(null, founder.invite)
  const mirrorDir = await tmpDir()
  const mirrorStore = await tmpStore(mirrorDir)
  const mirror = await open(mirrorStore, founder.mirrorInvite)
  const spam = await writer(member, 'spam')
  const links: Pipe[] = [
    link(member.replicate(true), mirror.replicate(false)),
    link(founder.replicate(true), mirror.replicate(false))
  ]
  await until(
    () => mirror.feed(spam.key!)?.length === 2 && founder.feed(spam.key!)?.length === 2,
    'the mirror and the founder hold the member’s writer'
  )
  await until(() => holds(mirrorStore, spam.key!), 'the mirror stores it')
  return { founder, member, mirror, mirrorStore, mirrorDir, spam, F: Buffer.from(spam.key!), links }
}

describe('a moderated encrypted set', () => {
  it('opens with { moderated, encrypted }; the invite and the mirror invite say what each tier holds', async () => {
    const founder = await open(null, null, { moderated: true, encrypted: true })
    expect(founder.tier).toBe('member')
    expect(founder.encrypted).toBe(true)
    expect(founder.moderation).not.toBeNull()
    expect(founder.invite).toHaveLength(104)
    expect(founder.mirrorInvite).toHaveLength(104)
    expect(founder.invite).not.toBe(founder.mirrorInvite)
    const member = await open(null, founder.invite)
    expect(member.key).toEqual(founder.key)
    expect(member.tier).toBe('member')
    expect(member.moderation!.founder).toEqual(founder.moderation!.founder)
    const mirror = await open(null, founder.mirrorInvite)
    expect(mirror.tier).toBe('mirror')
    expect(mirror.key).toEqual(founder.mirrorKey)
    expect(tierOf(mirror.key)).toBe('mirror')
    expect(mirror.invite).toBeNull()
    expect(mirror.mirrorInvite).toBe(founder.mirrorInvite)
    expect(mirror.discoveryKey).toEqual(founder.discoveryKey)
    // Other set types have no mirror invite.
    expect((await open(null, null, { moderated: true })).mirrorInvite).toBeNull()
    expect((await open(null, null, { encrypted: true })).mirrorInvite).toBeNull()
  })

  it('re-opens by its key, and a mirror by its mirror key, where the store holds it', async () => {
    const founderStore = await tmpStore()
    const founder = await open(founderStore, null, { moderated: true, encrypted: true })
    const { key, mirrorKey, invite, mirrorInvite } = founder
    await founder.close()
    const again = await open(founderStore, key)
    expect(again.moderation).not.toBeNull()
    expect(again.invite).toBe(invite)
    const mirrorStore = await tmpStore()
    const mirror = await open(mirrorStore, mirrorInvite)
    await mirror.close()
    const mirrorAgain = await open(mirrorStore, mirrorKey)
    expect(mirrorAgain.tier).toBe('mirror')
    expect(mirrorAgain.mirrorInvite).toBe(mirrorInvite)
    expect(mirrorAgain.moderation).not.toBeNull()
  })

  it('reads an invite without opening anything: its tier, its mirror invite, its discovery key', async () => {
    const founder = await open(null, null, { moderated: true, encrypted: true })
    const invite = founder.invite!
    const mirrorInvite = founder.mirrorInvite!
    expect(Multifeed.tierOf(invite)).toBe('member')
    expect(Multifeed.tierOf(mirrorInvite)).toBe('mirror')
    expect(Multifeed.mirrorInviteOf(invite)).toBe(mirrorInvite)
    expect(Multifeed.mirrorInviteOf(mirrorInvite)).toBe(mirrorInvite)
    for (const capability of [invite, mirrorInvite, founder.key, founder.mirrorKey!]) {
      expect(Multifeed.discoveryKeyOf(capability)).toEqual(founder.discoveryKey)
    }
    // A moderated set that is not encrypted: a plain tier, no mirror invite.
    const moderated = await open(null, null, { moderated: true })
    expect(Multifeed.tierOf(moderated.invite!)).toBe('plain')
    expect(Multifeed.discoveryKeyOf(moderated.invite!)).toEqual(moderated.discoveryKey)
    expect(Multifeed.discoveryKeyOf(moderated.key)).toEqual(moderated.discoveryKey)
    expect(() => Multifeed.mirrorInviteOf(moderated.invite!)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    // Neither a key nor an invite.
    for (const bad of ['x'.repeat(104), 'y'.repeat(60)]) {
      expect(() => Multifeed.tierOf(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_KEY' })
      )
    }
    expect(() => Multifeed.mirrorInviteOf(founder.mirrorKey!.toString('hex'))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_KEY' })
    )
  })

  it('announces minor 5 on its channels; members and the mirror reconcile records, then feeds', async () => {
    const { founder, mirror } = await world()
    const [peer] = mirror.peers()
    expect(peer).toBeDefined()
    expect(MODERATED_TAGS_MINOR).toBe(5)
    // The member's bind reached the mirror and the founder through it.
    expect(founder.peers()[0]!.stats.recordsAdded).toBeGreaterThan(0)
  })
})

/**
 * A mirror that applied a block of F, connected to a member that holds F: the member follows
 * no moderator (its policy ignores every block and unblock), so it keeps F through the block.
 * The mirror and the founder each reach it, never each other, so no peer that applies an
 * unblock offers F to the mirror: on an unblock the mirror must fetch F itself.
 */
async function blockedOnMirror() {
  const founder = await open(null, null, { moderated: true, encrypted: true })
  const holder = await open(null, founder.invite, { policy: { moderation: () => false } })
  const mirrorStore = await tmpStore(await tmpDir())
  const mirror = await open(mirrorStore, founder.mirrorInvite)
  const spam = await writer(holder, 'spam', 3)
  const F = Buffer.from(spam.key!)
  const links = [
    link(founder.replicate(true), holder.replicate(false)),
    link(holder.replicate(true), mirror.replicate(false))
  ]
  await until(
    () => mirror.feed(F)?.length === 3 && founder.feed(F)?.length === 3,
    'the mirror and the founder hold F'
  )
  await founder.moderation!.block({ feed: F }, { reason: 'spam' })
  await until(() => mirror.feed(F) === null, 'the mirror applied the block')
  await until(async () => !(await holds(mirrorStore, F)), 'the mirror purged F')
  expect(holder.feed(F)?.length).toBe(3)
  return { founder, holder, mirror, mirrorStore, F, links }
}

describe('a mirror of a moderated encrypted set', () => {
  it('applies a block record and purges: the feed is removed, its storage deleted, refused after', async () => {
    const { founder, member, mirror, mirrorStore, F } = await world()
    const removed = next(mirror, 'remove')
    await founder.moderation!.block({ feed: F }, { reason: 'spam' })
    await removed
    expect(mirror.feed(F)).toBeNull()
    expect(await holds(mirrorStore, F)).toBe(false)
    expect(mirror.moderation!.blocked().map((b) => b.reason)).toEqual(['spam'])
    // Refused from now on (the set's moderation), and the member took the block through the mirror.
    await expect(mirror.add(F)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await until(() => member.feed(F) === null, 'the member took the block (its own writer removed)')
    expect(member.moderation!.blocked()).toHaveLength(1)
  })

  it('applies an identity block: every feed bound to it, and one it makes later', async () => {
    const { founder, member, mirror, mirrorStore, F } = await world()
    const second = await writer(member, 'second')
    await until(() => mirror.feed(second.key!) !== null, 'the mirror holds the second writer')
    const removed: Buffer[] = []
    mirror.on('remove', (info) => removed.push(info.key))
    await founder.moderation!.block(
      { identity: member.moderation!.identity },
      { reason: 'spammer' }
    )
    await until(() => removed.length === 2, 'both feeds removed on the mirror')
    expect(await holds(mirrorStore, F)).toBe(false)
    expect(await holds(mirrorStore, second.key!)).toBe(false)
    // The member's writers are refused from now on; a later one never reaches the mirror.
    await expect(member.writer('third')).rejects.toBeInstanceOf(NotWritableError)
    expect(mirror.feeds()).toEqual([])
  })

  it('a member that reconnects only via the mirror gets the record before the blocked feed’s offer', async () => {
    const { founder, mirror, F, links } = await world()
    // A stale member: it holds F, and is away when the block is made.
    const stale = await open(null, founder.invite)
    const toMirror = link(stale.replicate(true), mirror.replicate(false))
    await until(() => stale.feed(F)?.length === 2, 'the stale member holds F')
    toMirror.destroy()
    await founder.moderation!.block({ feed: F }, { reason: 'spam' })
    await until(() => mirror.feed(F) === null, 'the mirror applied the block')
    for (const l of links) l.destroy()
    // Back, via the mirror alone: the block arrives first, F is removed before any feed is named.
    const reconciled = next<[MultifeedPeer]>(stale, 'reconciled')
    const removed = next(stale, 'remove')
    link(stale.replicate(true), mirror.replicate(false))
    await removed
    expect(stale.feed(F)).toBeNull()
    const [peerOfMirror] = await reconciled
    expect(stale.feed(F)).toBeNull()
    expect(peerOfMirror.stats.recordsAdded).toBeGreaterThanOrEqual(1)
  })

  it('takes an unblocked feed back from a member that holds it, while connected, with its blocks', async () => {
    const { founder, mirror, mirrorStore, F, links } = await blockedOnMirror()
    const received = mirror.progress().received.blocks
    await founder.moderation!.unblock({ feed: F })
    await until(() => mirror.moderation!.blocked().length === 0, 'the mirror took the unblock')
    await until(() => mirror.feed(F)?.length === 3, 'F is back on the mirror, at its length')
    await until(
      () => mirror.progress().received.blocks === received + 3,
      'its 3 blocks fetched again'
    )
    expect(await holds(mirrorStore, F)).toBe(true)

    // Everyone else gone, a new member gets F's entries from the mirror alone.
    await Promise.all(links.map((l) => l.destroy()))
    const reader = await open(null, founder.invite)
    link(reader.replicate(true), mirror.replicate(false))
    await until(() => reader.feed(F)?.length === 3, 'the reader learned F from the mirror')
    const core = await reader.get(F)
    onCleanup(() => core.close())
    const values = await Promise.all([0, 1, 2].map((i) => core.get(i, { timeout: 10_000 })))
    expect(values.map((v) => (v as Buffer).subarray(MARKER.length).toString())).toEqual([
      ' 0',
      ' 1',
      ' 2'
    ])
  })

  it('takes an unblocked feed back after it was re-opened (the tag it kept is read from its log)', async () => {
    const { founder, holder, mirror, mirrorStore, F, links } = await blockedOnMirror()
    await links[1]!.destroy()
    await mirror.close()
    const again = await open(mirrorStore, founder.mirrorKey)
    link(holder.replicate(true), again.replicate(false))
    await until(() => again.peers()[0]?.reconciled === true, 'the re-opened mirror reconciled')
    expect(again.feed(F)).toBeNull()

    await founder.moderation!.unblock({ feed: F })
    await until(() => again.moderation!.blocked().length === 0, 'the mirror took the unblock')
    await until(() => again.feed(F)?.length === 3, 'F is back on the mirror, at its length')
    await until(() => again.progress().received.blocks === 3, 'its 3 blocks fetched again')
    expect(await holds(mirrorStore, F)).toBe(true)
  })

  it('cannot sign a record, nor make members accept a record or a feed of its own', async () => {
    const { founder, member, mirror, mirrorDir } = await world()
    // Its API signs nothing.
    await expect(mirror.moderation!.block({ feed: crypto.randomBytes(32) })).rejects.toBeInstanceOf(
      NotWritableError
    )
    await expect(mirror.moderation!.grant(crypto.randomBytes(32))).rejects.toBeInstanceOf(
      NotWritableError
    )
    // A mirror-key holder signs with its own key pair, under the key it holds: verified, but
    // refused by the rule (never granted) — counted, not kept, not relayed.
    const holder = crypto.keyPair()
    const signingKey = recordsOf(mirror.moderation!).id.signingKey
    const forged = signRecord(signingKey, holder, {
      type: 'block',
      kind: 'feed',
      target: Buffer.from(member.feeds()[0]!.key),
      reason: 'forged'
    })
    const change = await recordsOf(founder.moderation!).receive([forged.bytes])
    expect(change.added).toEqual([])
    expect(change.refused.unauthorized).toBe(1)
    // A founder's record claimed by the holder: the signature does not verify.
    const claimed = Buffer.from(forged.bytes)
    founder.moderation!.founder.copy(claimed, 2)
    expect((await recordsOf(member.moderation!).receive([claimed])).refused.signature).toBe(1)
    expect(member.feeds()).toHaveLength(1)
    // A feed of its own: it has no writer, and its add() of a key is refused (no tag, no bind).
    await expect(mirror.writer('mine')).rejects.toBeInstanceOf(NotWritableError)
    await expect(mirror.add(crypto.randomBytes(32))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    // And it cannot read: no byte of any entry in its storage.
    expect(await filesContaining(mirrorDir, MARKER)).toEqual([])
  })

  it('a mirror told another founder pairs with no one', async () => {
    const founder = await open(null, null, { moderated: true, encrypted: true })
    const real = founder.mirrorInvite!
    const other = await open(null, null, { moderated: true, encrypted: true })
    // The same mirror key, another founder: another pairing key, another set.
    const { formatMirrorInvite } = await import('../src/moderation/invite.js')
    const id = recordsOf(founder.moderation!).id
    const lie = formatMirrorInvite({ ...id, founder: other.moderation!.founder })!
    expect(lie).not.toBe(real)
    const liarStore = await tmpStore()
    const liar = await open(liarStore, lie)
    expect(liar.discoveryKey).toEqual(founder.discoveryKey) // the same topic …
    const memberStore = await tmpStore()
    const member = await open(memberStore, founder.invite)
    // A plain set on the same connection: once it reconciled, both sides saw every token.
    const plain = await open(memberStore)
    const plainThere = await open(liarStore, plain.key)
    const a = member.replicate(true)
    const b = liar.replicate(false)
    plain.attach(a)
    plainThere.attach(b)
    const reconciled = next(plain, 'reconciled')
    link(a, b)
    await reconciled
    // … but no channel of the moderated set: the liar's pairing key is another set's.
    expect(liar.peers()).toEqual([])
    expect(member.peers()).toEqual([])
  })
})
