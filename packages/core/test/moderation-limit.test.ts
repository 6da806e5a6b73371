/**
 * A moderated set's record limit (`limits.maxRecords`, issue 14): a member
 * binding writers until the limit gets `ERR_LIMIT_EXCEEDED` at the
 * `writer()` call past it, and that writer is not in the set; a peer whose
 * limit is lower refuses the binds past it (counted `full` in the peer's
 * stats); binds and the moderators' records are counted apart, so that a
 * bind flood never leaves the founder unable to block the flooder.
 */
import { describe, expect, it } from 'vitest'
import type { Multifeed, MultifeedError, MultifeedPeer } from '../src/index.js'
import { recordsOf } from '../src/set/SetModeration.js'
import { link, next, until } from './helpers.js'
import { open } from './srcOpen.js'

function moderated(invite: string | null, maxRecords: number): Promise<Multifeed> {
  return open(null, invite, { limits: { maxRecords }, ...(invite ? {} : { moderated: true }) })
}

/** Makes writers `name0`, `name1`, … until one is refused; returns the keys made and the error. */
async function writersUntilRefused(multi: Multifeed, name: string, most: number) {
  const keys: Buffer[] = []
  for (let i = 0; i < most; i++) {
    try {
      const w = await multi.writer(`${name}${i}`)
      keys.push(w.key!)
      await w.close()
    } catch (err) {
      return { keys, error: err as MultifeedError & { limit?: string; max?: number } }
    }
  }
  return { keys, error: null }
}

describe('a moderated set at its record limit', () => {
  it('the writer past the limit rejects ERR_LIMIT_EXCEEDED and joins nothing; the founder still blocks', async () => {
    const founder = await moderated(null, 4)
    const member = await moderated(founder.invite, 4)
    const { keys, error } = await writersUntilRefused(member, 'flood', 10)
    expect(keys).toHaveLength(4)
    expect(error?.code).toBe('ERR_LIMIT_EXCEEDED')
    expect(error?.limit).toBe('maxRecords')
    expect(error?.max).toBe(4)
    // Nothing of the refused writer: not listed, no bind kept, the set as it was.
    expect(
      member
        .feeds()
        .map((f) => f.key.toString('hex'))
        .sort()
    ).toEqual(keys.map((k) => k.toString('hex')).sort())
    expect(recordsOf(member.moderation!).size).toBe(4)
    // Again: the same error, nothing made.
    await expect(member.writer('flood-again')).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' })
    expect(member.feeds()).toHaveLength(4)

    // The founder holds the member's 4 binds (its limit) and still blocks the member.
    link(founder.replicate(true), member.replicate(false))
    await until(() => founder.feeds().length === 4, 'the founder lists the member’s writers')
    const removed = next(member, 'moderation')
    await founder.moderation!.block({ identity: member.moderation!.identity })
    await removed
    await until(() => founder.feeds().length === 0, 'the founder removes them')
    await until(() => member.feeds().length === 0, 'the member removes its own')
  })

  it('a peer with a lower limit refuses the binds past it, counted `full`; a moderator’s records past theirs reject', async () => {
    const founder = await moderated(null, 3)
    const member = await moderated(founder.invite, 10)
    const { keys, error } = await writersUntilRefused(member, 'w', 5)
    expect(error).toBe(null)
    expect(keys).toHaveLength(5)
    const peer = next<[MultifeedPeer]>(founder, 'peer-add')
    link(founder.replicate(true), member.replicate(false))
    const [ofMember] = await peer
    await until(
      () => ofMember.stats.recordsAdded + ofMember.stats.recordsRefused.full === 5,
      'the founder took the 5 binds'
    )
    expect(ofMember.stats.recordsAdded).toBe(3)
    expect(ofMember.stats.recordsRefused.full).toBe(2)
    expect(recordsOf(founder.moderation!).size).toBe(3)
    // A moderated set admits bound feeds only: the 2 writers whose binds it refused stay out.
    await until(
      () => founder.feeds().length === 3 && ofMember.stats.feedsRefused >= 2,
      'the founder lists the 3 bound writers and refused the 2 others'
    )
    expect(
      founder.feeds().every((f) => f.owner?.equals(member.moderation!.identity) === true)
    ).toBe(true)
    // The founder's own records are counted apart from binds: up to 3 of them.
    const targets = [1, 2, 3, 4].map((i) => ({ feed: Buffer.alloc(32, i) }))
    for (const target of targets.slice(0, 3)) await founder.moderation!.block(target)
    await expect(founder.moderation!.block(targets[3]!)).rejects.toMatchObject({
      code: 'ERR_LIMIT_EXCEEDED',
      limit: 'maxRecords'
    })
    expect(founder.moderation!.blocked()).toHaveLength(3)
    // The member holds all three blocks (its limit is higher): nothing else broke.
    await until(() => member.moderation!.blocked().length === 3, 'the member takes the blocks')
  })
})
