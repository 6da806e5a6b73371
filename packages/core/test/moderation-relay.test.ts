/**
 * A record leaves for the peers as soon as it is on disk, before this
 * peer's own effect of it (removing and purging the blocked feed, which
 * may wait behind the feed's writes) is done: a block of a feed still
 * spreading no longer reaches the members only after the founder's purge
 * (bench scenario 17, notes/moderation-hardening.md).
 */
import { describe, expect, it } from 'vitest'
import { recordsOf } from '../src/set/SetModeration.js'
import { link, next, until } from './helpers.js'
import { open } from './srcOpen.js'

describe('a record new here', () => {
  it('reaches the peers while this peer still applies it', async () => {
    const founder = await open(null, null, { moderated: true })
    const member = await open(null, founder.invite)
    const w = await member.writer('spam')
    await w.append(Buffer.from('spam'))
    const F = Buffer.from(w.key!)
    await w.close()
    // Holds the founder's effects of the next change (as a slow purge would).
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let holding = false
    recordsOf(founder.moderation!).onChange(async (change) => {
      if (change.blocked.length === 0) return
      holding = true
      await held
    })
    link(founder.replicate(true), member.replicate(false))
    await until(() => founder.feed(F)?.length === 1, 'the founder holds the spam')
    const removed = next(member, 'moderation')
    const blocking = founder.moderation!.block({ feed: F })
    try {
      await until(() => holding, 'the founder applies the block')
      await until(() => member.feed(F) === null, 'the member took the block meanwhile', 15_000)
      await removed
      expect(holding).toBe(true)
    } finally {
      release()
    }
    await blocking
    expect(founder.feed(F)).toBeNull()
  })
})
