/**
 * A mesh of six, two away while a moderator is granted, F blocked, a
 * moderator revoked and an identity blocked: they come back to different
 * peers and converge (second describe).
 *
 * A block in a mesh of five moderated peers, one of them away during the
 * block: it reaches every peer through the set's protocol (relayed, not only
 * from the founder), the feed is removed everywhere, and once both ends of a
 * connection hold the record no byte of the feed's core crosses it; the
 * peer that comes back takes the block before anything of the feed moves.
 * Every connection's plaintext is spied on and counted.
 */
import { Multifeed } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { link, onCleanup, type Pipe, tmpStore, until } from './helpers.js'
import { type Received, spy } from './spy.js'

async function moderated(invite?: string | null): Promise<Multifeed> {
  const options = invite ? {} : { moderated: true }
  const multi = (await Multifeed.open(await tmpStore(), invite ?? null, options)) as Multifeed
  onCleanup(() => multi.close())
  return multi
}

interface Watched {
  pipe: Pipe
  /** What each end received, and how much of it there was when `mark()` was last called. */
  ends: Array<{ received: Received; mark: number }>
}

function watched(x: Multifeed, y: Multifeed): Watched {
  const sx = x.replicate(true)
  const sy = y.replicate(false)
  const ends = [
    { received: spy(sx), mark: 0 },
    { received: spy(sy), mark: 0 }
  ]
  return { pipe: link(sx, sy), ends }
}

/** Occurrences of `bytes` in what either end received since its mark. */
function since(w: Watched, bytes: Buffer): number {
  let n = 0
  for (const end of w.ends) {
    const all = Buffer.concat(end.received.plaintext.slice(end.mark))
    for (let at = all.indexOf(bytes); at !== -1; at = all.indexOf(bytes, at + 1)) n++
  }
  return n
}

describe('a block in a mesh of five', () => {
  it('reaches every peer, the one away included; no byte of the feed crosses a link once both ends hold it', async () => {
    const founder = await moderated()
    const spammer = await moderated(founder.invite)
    const members = [await moderated(founder.invite), await moderated(founder.invite)]
    const away = await moderated(founder.invite)
    const all = [founder, spammer, ...members, away]
    const w = await spammer.writer('spam')
    onCleanup(() => w.close())
    await w.append([Buffer.from('spam-block-0'), Buffer.from('spam-block-1')])
    const F = Buffer.from(w.key!)
    const discoveryKey = Buffer.from(w.discoveryKey!)
    const links: Watched[] = []
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) links.push(watched(all[i]!, all[j]!))
    }
    await until(() => all.every((m) => m.feed(F)?.length === 2), 'every peer holds the spam')
    await Promise.all(all.map((m) => m.downloaded({ timeout: 10_000 })))
    // One member goes away.
    const awayLinks = links.filter((_, k) => linkHas(all, k, away))
    await Promise.all(awayLinks.map((l) => l.pipe.destroy()))

    await founder.moderation!.block({ feed: F }, { reason: 'spam' })
    const online = all.filter((m) => m !== away)
    await until(() => online.every((m) => m.feed(F) === null), 'every peer online removed F')
    for (const m of online) expect(m.moderation!.blocked().map((b) => b.reason)).toEqual(['spam'])
    // From here both ends of every live link hold the record.
    for (const l of links) for (const end of l.ends) end.mark = end.received.plaintext.length

    // The member comes back, to two members (not the founder): the record is relayed.
    const back = [watched(away, members[0]!), watched(members[1]!, away)]
    await until(() => away.feed(F) === null, 'the member back took the block')
    await until(
      () => back.every((l) => l.ends.every((e) => e.received.plaintext.length > 0)),
      'both links carried the exchange'
    )
    await Promise.all([members[0]!, members[1]!].map((m) => m.synced({ timeout: 10_000 })))
    await away.synced({ timeout: 10_000, minPeers: 2 })
    expect(away.moderation!.blocked().map((b) => b.reason)).toEqual(['spam'])
    expect(away.feed(F)).toBeNull()

    // Counted: no block, no core of F on any link since both ends held the
    // record; on the links of the one back, its key crossed only inside the
    // block record (once per link at most: it took the record from the first).
    const liveLinks = links.filter((l) => !awayLinks.includes(l))
    for (const l of [...liveLinks, ...back]) {
      expect(since(l, Buffer.from('spam-block-'))).toBe(0)
      expect(since(l, discoveryKey)).toBe(0)
    }
    for (const l of back) expect(since(l, F)).toBeLessThanOrEqual(1)
    expect(back.reduce((n, l) => n + since(l, F), 0)).toBeGreaterThanOrEqual(1)
    for (const m of all) expect(m.feeds().some((f) => f.key.equals(F))).toBe(false)
  })
})

describe('a mesh of six, two away while the moderation changes', () => {
  it('the two come back to different peers and converge: same moderators, same blocks, F purged, F never offered to them', async () => {
    const stores: Array<Awaited<ReturnType<typeof tmpStore>>> = []
    const open = async (invite?: string | null) => {
      const store = await tmpStore()
      stores.push(store)
      const options = invite ? {} : { moderated: true }
      const multi = (await Multifeed.open(store, invite ?? null, options)) as Multifeed
      onCleanup(() => multi.close())
      return multi
    }
    const founder = await open()
    const spammer = await open(founder.invite)
    const mod = await open(founder.invite)
    const member = await open(founder.invite)
    const away = [await open(founder.invite), await open(founder.invite)] as const
    const all = [founder, spammer, mod, member, ...away]
    const w = await spammer.writer('spam')
    onCleanup(() => w.close())
    await w.append([Buffer.from('spam-block-0'), Buffer.from('spam-block-1')])
    const F = Buffer.from(w.key!)
    const discoveryKey = Buffer.from(w.discoveryKey!)
    // `mod` is a moderator before the two go away: they hold its grant.
    await founder.moderation!.grant(mod.moderation!.identity)
    const links: Watched[] = []
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) links.push(watched(all[i]!, all[j]!))
    }
    await until(() => all.every((m) => m.feed(F)?.length === 2), 'every peer holds the spam')
    await until(
      () => all.every((m) => m.moderation!.moderators().length === 2),
      'every peer holds the grant'
    )
    await Promise.all(all.map((m) => m.downloaded({ timeout: 10_000 })))
    const awayLinks = links.filter((_, k) => away.some((a) => linkHas(all, k, a)))
    await Promise.all(awayLinks.map((l) => l.pipe.destroy()))

    // While they are away: the founder grants `member`, `mod` blocks F,
    // the founder revokes `mod` (having seen its block: the block stays),
    // and `member` blocks the spammer's identity.
    const online = all.filter((m) => !away.includes(m as never))
    await founder.moderation!.grant(member.moderation!.identity)
    await until(
      () => mod.moderation!.moderators().length === 3,
      'the moderator holds the second grant'
    )
    await mod.moderation!.block({ feed: F }, { reason: 'spam' })
    await until(() => founder.moderation!.blocked().length === 1, 'the founder holds the block')
    await founder.moderation!.revoke(mod.moderation!.identity)
    await until(() => member.moderation!.moderators().length === 2, 'the member holds the revoke')
    await member.moderation!.block(
      { identity: spammer.moderation!.identity },
      { reason: 'spammer' }
    )
    const target = (m: Multifeed) =>
      m
        .moderation!.blocked()
        .map((b) => `${'feed' in b.target ? 'feed' : 'identity'}:${b.reason}`)
        .sort()
        .join()
    const hex = (keys: Buffer[]) => keys.map((k) => k.toString('hex')).join()
    const expected = {
      moderators: hex(founder.moderation!.moderators()),
      blocked: 'feed:spam,identity:spammer'
    }
    await until(
      () =>
        online.every(
          (m) =>
            m.feed(F) === null &&
            target(m) === expected.blocked &&
            hex(m.moderation!.moderators()) === expected.moderators
        ),
      'every peer online converged',
      30_000
    )
    expect(founder.moderation!.moderators()).toHaveLength(2) // the founder and `member`
    for (const l of links) for (const end of l.ends) end.mark = end.received.plaintext.length

    // They come back, each to a different peer: the revoked moderator, and the member.
    const back = [watched(away[0], mod), watched(member, away[1])]
    await until(
      () =>
        away.every(
          (m) =>
            m.feed(F) === null &&
            target(m) === expected.blocked &&
            hex(m.moderation!.moderators()) === expected.moderators
        ),
      'both peers back converged',
      30_000
    )
    await Promise.all(away.map((m) => m.synced({ timeout: 10_000 })))
    // The same records everywhere, so the same outcome.
    const ids = hex(founder.moderation!.recordIds())
    for (const m of all) expect(hex(m.moderation!.recordIds())).toBe(ids)
    for (const m of all) expect(m.feeds().some((f) => f.key.equals(F))).toBe(false)
    for (const store of stores) expect(await store.storage.hasCore(discoveryKey)).toBe(false)
    // F was never offered on the links of the two back: no block, no core of F
    // crossed them, and its key only inside the block record; nor any live link since.
    for (const l of back) {
      expect(since(l, Buffer.from('spam-block-'))).toBe(0)
      expect(since(l, discoveryKey)).toBe(0)
      expect(since(l, F)).toBeLessThanOrEqual(1)
    }
    for (const l of links.filter((x) => !awayLinks.includes(x))) {
      expect(since(l, Buffer.from('spam-block-'))).toBe(0)
      expect(since(l, discoveryKey)).toBe(0)
    }
  })
})

/** True when link number `k` of the full mesh over `all` (pairs in order) has `m` at an end. */
function linkHas(all: Multifeed[], k: number, m: Multifeed): boolean {
  let n = 0
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (n++ === k) return all[i] === m || all[j] === m
    }
  }
  return false
}
