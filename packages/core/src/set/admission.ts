/**
 * Which of the feeds a peer holds join our set. A key joins when it is new,
 * the accept policy takes it, the set has room, and this corestore does not
 * hold that core for something else: a peer of multifeed X cannot make X
 * adopt (and so serve and forward) a core we hold for Y or for the user.
 * A batch that would overflow `maxFeeds` adds none of its keys. "Something
 * else" is another open multifeed of the store (holding the feed, or adding
 * it right now) or a core in storage.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { claimFeeds, type Registered } from '../lifecycle/registry.js'
import type { Element } from '../protocol/messages.js'
import type { Feed } from './FeedSet.js'
import type { Membership } from './Membership.js'

export interface AdmissionContext {
  readonly membership: Membership
  /** The root corestore, to tell a core held for something else. */
  readonly root: Corestore
  /** This multifeed as the store's registry knows it (another open one may hold a feed). */
  readonly self: Registered
  accepts(key: Buffer): Promise<boolean>
  assertOpen(): void
  /** Called for a key this corestore holds for something else (default: skip it). */
  onHeldElsewhere?(key: Buffer): void
}

/** Adds the new, accepted feeds among `elements`; resolves to those that joined. */
export async function admit(context: AdmissionContext, elements: Element[]): Promise<Feed[]> {
  const { membership } = context
  const fresh: Buffer[] = []
  const seen = new Set<string>()
  for (const { key } of elements) {
    const id = key.toString('hex')
    // A blocked key costs one lookup, whatever the peer does.
    if (seen.has(id) || membership.set.find(key) !== undefined || membership.blocked.has(id))
      continue
    seen.add(id)
    // Being added on another path (a writer, another peer): wait for it.
    const claim = membership.claimOf(id)
    if (claim !== undefined) {
      await claim
      if (membership.set.find(key) !== undefined) continue
    }
    fresh.push(key)
  }
  if (fresh.length === 0) return []
  context.assertOpen()
  // Another open multifeed of this store holds or is adding some of them
  // (its feeds need not have a core in storage yet: lazy cores).
  const across = claimFeeds(context.root, context.self, fresh)
  try {
    for (const key of across.taken) context.onHeldElsewhere?.(key)
    return await admitClaimed(context, across.claimed)
  } finally {
    across.release()
  }
}

async function admitClaimed(context: AdmissionContext, fresh: Buffer[]): Promise<Feed[]> {
  const { membership } = context
  if (fresh.length === 0) return []
  membership.checkCapacity(fresh.length)
  const release = membership.claim(fresh.map((key) => key.toString('hex')))
  try {
    const accepted: Buffer[] = []
    const held = await heldElsewhere(context.root, fresh)
    for (let i = 0; i < fresh.length; i++) {
      const key = fresh[i]!
      if (held[i]) {
        context.onHeldElsewhere?.(key)
        continue
      }
      if (await context.accepts(key)) accepted.push(key)
    }
    context.assertOpen()
    if (accepted.length === 0) return []
    return await membership.add(accepted.map((key) => ({ key, local: false, name: null })))
  } finally {
    release()
  }
}

/**
 * For each key, true when the store holds its core already (for another
 * multifeed or the user): one storage read batch for the whole message.
 */
async function heldElsewhere(root: Corestore, keys: Buffer[]): Promise<boolean[]> {
  const infos = await root.storage.getInfos(
    keys.map((key) => crypto.discoveryKey(key)),
    { auth: false, head: false, hints: false }
  )
  return infos.map((info) => info !== null)
}
