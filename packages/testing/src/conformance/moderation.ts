/**
 * Conformance cases on moderated sets: a networker carries a moderated
 * set's records with its feeds, so a block made on one peer removes the
 * feed on the others, and a grant lets a moderator's block reach the
 * founder. Only the public API of `@multifeed/core` (Bare-safe).
 */
import assert from './assert.js'
import { type ConformanceCase, conformanceCase } from './context.js'

/** The cases of this group (registered in the order `conformanceCases` gives). */
export const moderationCases: readonly ConformanceCase[] = [
  conformanceCase(
    'moderated: a block travels and the feed is gone on the other peer',
    2,
    async (ctx) => {
      const a = await ctx.found(0)
      const b = await ctx.open(1, a.invite!)
      const writer = await b.writer('spam')
      await writer.append([Buffer.from('junk 0'), Buffer.from('junk 1')])
      await writer.close()
      await ctx.nets[0]!.swarm(a)
      await ctx.nets[1]!.swarm(b)
      await ctx.synced([a, b])
      assert.ok(
        a.feed(writer.key!)?.owner?.equals(b.moderation!.identity),
        'the feed is bound to its writer'
      )
      await a.moderation!.block({ feed: writer.key! }, { reason: 'spam' })
      assert.equal(a.feed(writer.key!), null, 'removed where the block was made')
      await ctx.until(
        () => b.moderation!.blocked().length === 1 && b.feed(writer.key!) === null,
        'the other peer took the block and removed the feed'
      )
      assert.equal(b.moderation!.blocked()[0]!.reason, 'spam')
    }
  ),
  conformanceCase(
    "moderated: a grant travels; the moderator's block of an identity reaches every peer",
    3,
    async (ctx) => {
      const founder = await ctx.found(0)
      const moderator = await ctx.open(1, founder.invite!)
      const member = await ctx.open(2, founder.invite!)
      const all = [founder, moderator, member]
      for (const [i, multi] of all.entries()) await ctx.nets[i]!.swarm(multi)
      await founder.moderation!.grant(moderator.moderation!.identity)
      await ctx.until(() => moderator.moderation!.isModerator(), 'the moderator took its grant')
      const writer = await member.writer('spam')
      await writer.append(Buffer.from('junk'))
      await writer.close()
      await ctx.synced(all)
      await moderator.moderation!.block({ identity: member.moderation!.identity })
      await ctx.until(
        () =>
          all.every((m) => m.moderation!.blocked().length === 1 && m.feed(writer.key!) === null),
        'every peer took the block and removed the feed'
      )
      assert.ok(founder.moderation!.blocked()[0]!.signer.equals(moderator.moderation!.identity))
    }
  )
]
