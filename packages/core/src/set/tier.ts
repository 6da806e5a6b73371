/**
 * One corestore holds an encrypted set as a member or as a mirror, never
 * both. The two tiers of a set share its discovery key, hence its namespace
 * (`@multifeed/<discovery key>`: the membership log), its name in the
 * store's owner record and its pairing key on a connection: a mirror
 * reopening a member's log would list the member's writers as its own, and
 * a removal by one would purge cores the other holds. A member already
 * stores and serves every feed, so a store has no use for both: the second
 * tier opened is refused with ERR_TIER_CONFLICT, whichever comes first.
 *
 * - Open together: the store's registry holds one multifeed per discovery
 *   key (lifecycle/registry.ts); the second open is refused at once.
 * - One after the other: a mirror marks the membership log it creates
 *   (hypercore user data of the local-only log core, written before the
 *   log's first block). A log with blocks and no mark is a member's (a set's
 *   first open appends a block, and members wrote logs before mirrors existed).
 *
 * Plain sets are not concerned: nothing is read or written for them.
 */
import type { Tier } from '../capabilities.js'
import { TierConflictError } from '../errors.js'

/** The user data key of the mark, and its value. */
export const TIER_MARK = 'multifeed/tier'
const MIRROR = Buffer.from('mirror')

/** What the check reads and writes of the set's membership log core. */
export interface TierRecord {
  /** Blocks in the log (0: a log no open ever wrote). */
  readonly length: number
  /** The log core's user data at TIER_MARK (null: none). */
  readonly mark: Buffer | null
  /** Writes the log core's user data at TIER_MARK. */
  setMark(value: Buffer): Promise<void>
}

/**
 * Checks that the store holds the set as `tier` (or not yet) and records a
 * mirror's tier; throws ERR_TIER_CONFLICT otherwise. Call it with what the
 * log holds, before the open writes anything.
 */
export async function claimTier(log: TierRecord, tier: Tier): Promise<void> {
  if (tier === 'plain') return
  const held: Tier | null = log.mark?.equals(MIRROR) ? 'mirror' : log.length > 0 ? 'member' : null
  if (held === null) {
    if (tier === 'mirror') await log.setMark(MIRROR)
    return
  }
  if (held !== tier) throw tierConflict(held, tier)
}

/** The error for opening `opening` where the store holds (or has open) the set as `held`. */
export function tierConflict(held: Tier, opening: Tier): TierConflictError {
  return new TierConflictError(
    `Multifeed.open(): this corestore holds the encrypted set as a ${held}; it cannot open it as a ${opening} too (both would share the set's storage). Open the ${opening} in a corestore of its own${opening === 'mirror' ? ': a member already stores and serves every feed of the set' : ''}`
  )
}
