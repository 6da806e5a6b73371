/**
 * What a key holder never granted can make a member store (issue 14): the
 * records it signs verify, but the rule refuses them `unauthorized`; those
 * that no held record names are neither stored nor relayed, so a flood of
 * them leaves the log as it was. A record a held one names stays (the
 * graph's pasts stay complete), and a member whose policy follows the
 * signer keeps what it follows.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { createModeratedSet } from '../src/moderation/invite.js'
import { signRecord, type VerifiedRecord } from '../src/moderation/signing.js'
import { Moderation } from '../src/set/Moderation.js'
import { ModerationLog } from '../src/set/ModerationLog.js'
import { onCleanup, tmpStore } from './helpers.js'

const founder = crypto.keyPair(Buffer.alloc(32, 1))
const mallory = crypto.keyPair(Buffer.alloc(32, 3))
const set = createModeratedSet(founder.publicKey)

type Store = Awaited<ReturnType<typeof tmpStore>>

async function open(options: Parameters<typeof Moderation.open>[3] = {}) {
  const store = await tmpStore()
  const moderation = await Moderation.open(store, set, founder, options)
  onCleanup(() => moderation.close())
  return { store, moderation }
}

/** Blocks of random feeds signed by mallory, each naming the one before (`chain`) or `deps()`. */
function flood(
  n: number,
  { chain, deps = () => [] }: { chain: boolean; deps?: () => Buffer[] }
): VerifiedRecord[] {
  const records: VerifiedRecord[] = []
  for (let i = 0; i < n; i++) {
    const past = chain && i > 0 ? [records[i - 1]!.id] : deps()
    const body = {
      type: 'block',
      kind: 'feed',
      target: crypto.randomBytes(32),
      reason: 'x'
    } as const
    records.push(signRecord(set.key, mallory, body, { deps: past, time: i + 1 }))
  }
  return records
}

/** Blocks the set's moderation log holds on disk (its header included). */
async function logLength(store: Store): Promise<number> {
  let n = 0
  const log = new ModerationLog(store)
  for await (const _ of log.load()) n++
  await log.close()
  return n
}

describe('records of a key holder never granted', () => {
  it('a flood of them leaves the log as it was; records waiting for a past that never comes are bounded', async () => {
    const maxPending = 16
    const { store, moderation } = await open({ maxPending })
    await moderation.block('feed', Buffer.alloc(32, 0xf1), 'spam')
    const before = await logLength(store)
    expect(before).toBe(2) // the set's id, the founder's block
    const send = async (records: VerifiedRecord[]) => {
      const refused = { unauthorized: 0, full: 0 }
      for (let i = 0; i < records.length; i += 64) {
        const change = await moderation.receive(records.slice(i, i + 64).map((r) => r.bytes))
        refused.unauthorized += change.refused.unauthorized ?? 0
        refused.full += change.refused.full ?? 0
      }
      return refused
    }
    // Loose: every one refused unauthorized, none kept.
    expect(await send(flood(300, { chain: false }))).toEqual({ unauthorized: 300, full: 0 })
    expect(await logLength(store)).toBe(before)
    // Chained: a batch's records name each other (let go in turn); the next batch's
    // first names one let go, so it waits for it, and so do those naming it: at most maxPending.
    const chained = await send(flood(300, { chain: true }))
    expect(chained.unauthorized).toBe(64)
    expect(chained.unauthorized + chained.full + moderation.state.pending.length).toBe(300)
    // Naming ids that never come.
    const orphans = await send(flood(300, { chain: false, deps: () => [crypto.randomBytes(32)] }))
    expect(orphans.full).toBe(300)
    expect(moderation.state.pending).toHaveLength(maxPending)
    expect(moderation.state.refused.size).toBe(0)
    expect(moderation.size).toBe(1 + maxPending)
    expect(await logLength(store)).toBe(before + maxPending)
  })

  it('keeps one that a held record names, and what a member’s policy follows', async () => {
    const { moderation } = await open()
    const [loose] = flood(1, { chain: false })
    // The founder had it when it signed (an older build kept it): it names it.
    const founders = signRecord(
      set.key,
      founder,
      { type: 'block', kind: 'feed', target: Buffer.alloc(32, 0xf2), reason: '' },
      { deps: [loose!.id] }
    )
    const change = await moderation.receive([loose!.bytes, founders.bytes])
    expect(change.added.map((r) => r.hex).sort()).toEqual([loose!.hex, founders.hex].sort())
    expect(moderation.state.refused.get(loose!.hex)).toBe('unauthorized')

    const trusting = (
      await open({ policy: (r) => (r.record.signer.equals(mallory.publicKey) ? true : undefined) })
    ).moderation
    const followed = await trusting.receive(flood(3, { chain: false }).map((r) => r.bytes))
    expect(followed.added).toHaveLength(3)
    expect(followed.blocked).toHaveLength(3)
  })
})
