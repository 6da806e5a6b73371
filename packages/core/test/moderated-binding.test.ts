/**
 * A moderated set admits only feeds bound to an identity (issue 14): an
 * identity block must not be escaped by a writer that never binds. The
 * attacker here is a member running modified code: its writers skip the
 * bind record (its Moderation's `bind` replaced), so it holds and offers
 * unbound feeds as an honest peer offers bound ones.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { Multifeed, type MultifeedPeer } from '../src/index.js'
import { signRecord } from '../src/moderation/signing.js'
import { setSalt } from '../src/protocol/pairing.js'
import { Membership } from '../src/set/Membership.js'
import type { Moderation, ModerationChange } from '../src/set/Moderation.js'
import { Owners } from '../src/set/Owners.js'
import { recordsOf } from '../src/set/SetModeration.js'
import { link, next, onCleanup, tmpStore, until } from './helpers.js'
import { open } from './srcOpen.js'

/** signRecord signs any body; its type leaves binds to bindFeed, which an attacker does not use. */
type Body = Parameters<typeof signRecord>[2]
type Store = Awaited<ReturnType<typeof tmpStore>>

const nothing: ModerationChange = {
  added: [],
  blocked: [],
  unblocked: [],
  moderators: false,
  refused: {}
}

/** Makes `multi`'s next writers skip their bind record (a modified client); returns the honest bind. */
function skipBinds(multi: Multifeed): Moderation['bind'] {
  const moderation = recordsOf(multi.moderation!)
  const honest = moderation.bind.bind(moderation)
  moderation.bind = async () => nothing
  return honest
}

async function writer(multi: Multifeed, name: string, blocks = 1): Promise<Hypercore<Buffer>> {
  const w = (await multi.writer(name)) as Hypercore<Buffer>
  onCleanup(() => w.close())
  for (let i = 0; i < blocks; i++) await w.append(Buffer.from(`${name} ${i}`))
  return w
}

/** True when `store` holds a core of `key`. */
function holds(store: Store, key: Buffer): Promise<boolean> {
  return store.storage.hasCore(crypto.discoveryKey(key))
}

describe('a moderated set admits only bound feeds', () => {
  it('refuses a puppet’s unbound writers (counted), takes its bound one; an identity block then leaves nothing of it', async () => {
    const founderStore = await tmpStore()
    const founder = await open(founderStore, null, { moderated: true })
    const puppet = await open(null, founder.invite)
    const bind = skipBinds(puppet)
    const unbound = [await writer(puppet, 'u1'), await writer(puppet, 'u2')]
    recordsOf(puppet.moderation!).bind = bind
    const bound = await writer(puppet, 'bound')
    expect(puppet.feeds()).toHaveLength(3)

    const peer = next<[MultifeedPeer]>(founder, 'reconciled')
    link(founder.replicate(true), puppet.replicate(false))
    const [peerOfPuppet] = await peer
    // The bound writer joined in the same reconciliation that refused the others.
    await until(() => founder.feed(bound.key!) !== null, 'the bound writer joined')
    for (const w of unbound) {
      expect(founder.feed(w.key!)).toBeNull()
      expect(await holds(founderStore, w.key!)).toBe(false)
    }
    expect(peerOfPuppet.stats.feedsRefused).toBe(2)

    // Blocking the puppet's identity leaves no feed of it: nothing escaped.
    await founder.moderation!.block({ identity: puppet.moderation!.identity })
    expect(founder.feeds().map((f) => f.key.toString('hex'))).toEqual([])
    // Grown unbound writers are offered again: still refused.
    await unbound[0]!.append(Buffer.from('more'))
    await until(() => peerOfPuppet.stats.feedsRefused >= 3, 'the grown writer was refused again')
    expect(founder.feed(unbound[0]!.key!)).toBeNull()
  })

  it('a bind record for someone else’s feed is refused, and the feed keeps its owner', async () => {
    const founder = await open(null, null, { moderated: true })
    const alice = await open(null, founder.invite)
    const F = (await writer(alice, 'alice')).key!
    link(founder.replicate(true), alice.replicate(false))
    await until(() => founder.feed(F)?.owner != null, 'alice’s writer joined, bound')
    // Mallory signs a bind of alice's feed to her identity, with no signature of the feed's key.
    const mallory = crypto.keyPair()
    const moderation = recordsOf(founder.moderation!)
    const forged = signRecord(moderation.id.key, mallory, {
      type: 'bind',
      feed: F,
      feedSigner: crypto.keyPair().publicKey,
      feedSignature: Buffer.alloc(64, 7)
    } as unknown as Body)
    // And a bind of her own puppet feed that reuses alice's feed half.
    const honest = [...moderation.records()].find(
      (r) => r.record.type === 'bind' && r.record.feed.equals(F)
    )!.record
    if (honest.type !== 'bind') throw new Error('not a bind')
    const reused = signRecord(moderation.id.key, mallory, {
      type: 'bind',
      feed: crypto.randomBytes(32),
      feedSigner: honest.feedSigner,
      feedSignature: honest.feedSignature
    } as unknown as Body)
    const change = await moderation.receive([forged.bytes, reused.bytes])
    expect(change.added).toEqual([])
    expect((change.refused['feed-key'] ?? 0) + (change.refused.signature ?? 0)).toBe(2)
    expect(founder.feed(F)!.owner!.equals(alice.moderation!.identity)).toBe(true)
  })

  it('a bind arriving after the offer: refused first, admitted at the next offer', async () => {
    const founder = await open(null, null, { moderated: true })
    const puppet = await open(null, founder.invite)
    const bind = skipBinds(puppet)
    const g = await writer(puppet, 'late')
    const peer = next<[MultifeedPeer]>(founder, 'reconciled')
    link(founder.replicate(true), puppet.replicate(false))
    const [peerOfPuppet] = await peer
    expect(peerOfPuppet.stats.feedsRefused).toBe(1)
    expect(founder.feed(g.key!)).toBeNull()
    // The puppet binds it now (pushed live), then offers it again by growing it.
    const { publicKey, secretKey } = g.keyPair!
    await bind({ key: g.key!, keyPair: { publicKey, secretKey: secretKey! } })
    await g.append(Buffer.from('bound now'))
    await until(() => founder.feed(g.key!) !== null, 'the bound feed joined')
    expect(founder.feed(g.key!)!.owner!.equals(puppet.moderation!.identity)).toBe(true)
    await until(() => founder.feed(g.key!)!.length === 2, 'its blocks came')
  })

  it('a writer made while connected joins: its bind is taken before its offer is acted on', async () => {
    const founder = await open(null, null, { moderated: true })
    const member = await open(null, founder.invite)
    const peer = next<[MultifeedPeer]>(founder, 'reconciled')
    link(founder.replicate(true), member.replicate(false))
    const [peerOfMember] = await peer
    // The founder takes the bind slowly: until the member's next message (the offer) arrived.
    const moderation = recordsOf(founder.moderation!)
    const receive = moderation.receive.bind(moderation)
    moderation.receive = async (records) => {
      const before = peerOfMember.stats.bytesReceived
      await until(() => peerOfMember.stats.bytesReceived > before, 'the offer arrived')
      return receive(records)
    }
    const w = await writer(member, 'live')
    await until(() => founder.feed(w.key!) !== null, 'the live writer joined')
    expect(founder.feed(w.key!)!.owner!.equals(member.moderation!.identity)).toBe(true)
    expect(peerOfMember.stats.feedsRefused).toBe(0)
  })

  it('add() of an unbound key is refused with a code', async () => {
    const founder = await open(null, null, { moderated: true })
    await expect(founder.add(crypto.randomBytes(32))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
  })

  it('an unbound feed a store listed before is removed at open; bound feeds stay', async () => {
    const store = await tmpStore()
    const founder = await Multifeed.open(store, null, { moderated: true })
    const own = await founder.writer('own')
    await own.append(Buffer.from('x'))
    await own.close()
    const { key, discoveryKey } = founder
    await founder.close()
    // What an earlier build admitted: a peer's feed with no bind.
    const G = crypto.randomBytes(32)
    const ns = store.namespace(`@multifeed/${discoveryKey.toString('hex')}`, { active: false })
    const owners = await Owners.open(store)
    const membership = new Membership(ns, discoveryKey, setSalt(key), 1000)
    await membership.load(owners)
    await membership.add([{ key: G, local: false, name: null, tag: null }], true)
    await membership.close()
    await owners.close()
    await ns.close()

    const reopened = await open(store, key)
    expect(reopened.moderation).not.toBeNull()
    expect(reopened.feed(G)).toBeNull()
    expect(reopened.feed(own.key!)).not.toBeNull()
  })
})
