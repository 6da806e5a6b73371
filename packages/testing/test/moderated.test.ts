// The harness's moderated group (`peers.moderated()`) and its waiter
// (`untilModerated`): a founder, members by invite, identities, moderators
// granted and taken everywhere; a moderator's block reaching every peer.
import { createPeers, moderationReport, untilModerated, untilSynced } from '@multifeed/testing'
import { describe, expect, test } from 'vitest'

describe('peers.moderated()', () => {
  test('founds a moderated set on the first peer, opens its invite on the others, grants moderators', async () => {
    await using peers = await createPeers(3, { networker: 'in-process' })
    const { founder, multifeeds, invite, identities } = await peers.moderated({ moderators: [1] })
    expect(multifeeds).toHaveLength(3)
    expect(founder).toBe(multifeeds[0])
    expect(invite).toBe(founder.invite)
    expect(identities.map((k) => k.toString('hex'))).toEqual(
      multifeeds.map((m) => m.moderation!.identity.toString('hex'))
    )
    expect(new Set(identities.map((k) => k.toString('hex'))).size).toBe(3)
    // Every peer took the grant before it resolved.
    for (const multi of multifeeds) {
      expect(multi.moderation!.founder.equals(identities[0]!)).toBe(true)
      expect(multi.moderation!.isModerator(identities[1]!)).toBe(true)
      expect(multi.moderation!.isModerator(identities[2]!)).toBe(false)
    }
    expect(moderationReport(peers)).toEqual([])

    // The moderator blocks the third peer's identity: its feed is gone on every peer.
    const [, moderator, spammer] = multifeeds
    const junk = await spammer!.writer('junk')
    await junk.append(Buffer.from('junk'))
    await junk.close()
    await untilSynced(multifeeds, { timeout: 10_000 })
    await moderator!.moderation!.block({ identity: identities[2]! }, { reason: 'spam' })
    await untilModerated(peers, { timeout: 10_000 })
    for (const multi of multifeeds) {
      expect(multi.moderation!.blocked().map((b) => b.reason)).toEqual(['spam'])
      expect(multi.feed(junk.key!)).toBeNull()
    }
  }, 30_000)

  test('swarm: false opens only; the grants stay on the founder until the peers meet', async () => {
    await using peers = await createPeers(2, { networker: 'in-process' })
    const { multifeeds, identities } = await peers.moderated({ moderators: [1], swarm: false })
    expect(multifeeds[0]!.moderation!.isModerator(identities[1]!)).toBe(true)
    expect(multifeeds[1]!.moderation!.isModerator(identities[1]!)).toBe(false)
    expect(moderationReport(multifeeds)).toEqual([
      expect.stringMatching(/holds 0\/1 moderation records$/)
    ])
    await expect(untilModerated(multifeeds, { timeout: 200 })).rejects.toMatchObject({
      code: 'ERR_TIMEOUT'
    })
    await peers.at(0).join(multifeeds[0]!)
    await peers.at(1).join(multifeeds[1]!)
    await untilModerated(multifeeds, { timeout: 10_000 })
    expect(multifeeds[1]!.moderation!.isModerator(identities[1]!)).toBe(true)
  }, 30_000)

  test('checks its options, with a code', async () => {
    await using peers = await createPeers(2, { networker: 'in-process' })
    await expect(peers.moderated({ moderators: [0] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('0 is the founder')
    })
    await expect(peers.moderated({ moderators: [2] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    await expect(peers.moderated({ multifeed: { moderated: false } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    await expect(
      peers.moderated({ moderatrs: [1] } as unknown as Parameters<typeof peers.moderated>[0])
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })
})
