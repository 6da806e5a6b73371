/**
 * Which of the feeds a peer holds join our set. A key joins when it is new,
 * the accept policy takes it, the set has room, and this corestore does not
 * hold that core for something else: a peer of multifeed X cannot make X
 * adopt (and so serve and forward) a core we hold for Y or for the user.
 * A batch that would overflow `maxFeeds` adds none of its keys.
 *
 * Admission of a key is one decision per corestore: the check that a key is
 * new and its claim in the store's record (Owners) happen in one synchronous
 * step, so two connections, a writer or another multifeed offering the key
 * at once cannot both add it; whoever finds it claimed waits and checks
 * again. "Something else" is what the store's durable record says holds the
 * key (another multifeed, open or closed, with or without a core of it yet)
 * or, for a key it records for no one, a core in storage.
 *
 * An encrypted set admits a key only with its admission tag (AdmissionTags:
 * members check it, a mirror requires one): a key without, or with a wrong
 * one, is refused like a blocked key, at the cost of one keyed hash, and
 * reported (`onRefused`): the peer relaying it may be honest.
 *
 * A moderated set admits a key only once a bind record names it (an
 * identity's, verified: ModerationEffects), so that an identity block
 * cannot be escaped by a writer that never binds. Records travel before
 * feeds on every channel, so an honest peer's offer finds its bind here;
 * an unbound offer is refused and reported as a tag refusal is, and
 * admitted at its next offer once the bind arrived.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import type { Element } from '../protocol/messages.js'
import type { Feed } from './FeedSet.js'
import type { Membership } from './Membership.js'

export interface AdmissionContext {
  readonly membership: Membership
  /** The root corestore, to tell a core held for something else. */
  readonly root: Corestore
  accepts(key: Buffer): Promise<boolean>
  assertOpen(): void
  /** Called for a key this corestore holds for something else (default: skip it). */
  onHeldElsewhere?(key: Buffer): void
  /** Called for a new key refused for its admission tag (missing, or not its key's) or unbound. */
  onRefused?(key: Buffer): void
}

/** Adds the new, accepted feeds among `elements`; resolves to those that joined. */
export async function admit(context: AdmissionContext, elements: Element[]): Promise<Feed[]> {
  const { membership } = context
  const joined: Feed[] = []
  let pending = elements
  while (pending.length > 0) {
    // One synchronous pass: a key found new and unclaimed is claimed at once.
    const free: Element[] = []
    const busy: Element[] = []
    const waits = new Set<Promise<void>>()
    const seen = new Set<string>()
    for (const element of pending) {
      const { key } = element
      const id = key.toString('hex')
      // A blocked key costs one lookup, whatever the peer does.
      if (
        seen.has(id) ||
        membership.set.find(key) !== undefined ||
        membership.blocked.has(id) ||
        membership.moderated(key)
      )
        continue
      seen.add(id)
      // So does a key without its admission tag (one keyed hash), or without a bind.
      if (!membership.tags.admits(key, element.tag) || membership.unbound(key)) {
        context.onRefused?.(key)
        continue
      }
      const claim = membership.claimOf(id)
      if (claim === undefined) {
        free.push(element)
      } else {
        // Being added (or removed) on another path: wait, then check again.
        busy.push(element)
        waits.add(claim)
      }
    }
    if (free.length > 0) {
      context.assertOpen()
      if (joined.length === 0) {
        // The whole batch must fit (what is being added elsewhere counted in).
        membership.checkCapacity(free.length + busy.length)
      } else if (!membership.hasRoom(free.length)) {
        // Keys another path let go of, no longer fitting: the ones that joined are announced.
        break
      }
      const release = membership.claim(free.map(({ key }) => key.toString('hex')))
      try {
        for (const feed of await admitClaimed(context, free)) joined.push(feed)
      } finally {
        release()
      }
    }
    if (busy.length > 0) await Promise.all(waits)
    pending = busy
  }
  return joined
}

async function admitClaimed(context: AdmissionContext, fresh: Element[]): Promise<Feed[]> {
  const { membership } = context
  const accepted: Element[] = []
  const held = await heldElsewhere(
    context,
    fresh.map(({ key }) => key)
  )
  for (let i = 0; i < fresh.length; i++) {
    const element = fresh[i]!
    if (held[i]) {
      context.onHeldElsewhere?.(element.key)
      continue
    }
    if (await context.accepts(element.key)) accepted.push(element)
  }
  context.assertOpen()
  if (accepted.length === 0) return []
  return await membership.add(
    accepted.map(({ key, tag }) => ({ key, local: false, name: null, tag: tag ?? null })),
    true
  )
}

/**
 * For each key, true when the store holds it for something else: its
 * record names another multifeed, or (recording no one) the store holds a
 * core of it (the user's own, or a multifeed's from before the record). One
 * read batch of the record and one of storage per message, side by side.
 */
async function heldElsewhere(context: AdmissionContext, keys: Buffer[]): Promise<boolean[]> {
  const { membership, root } = context
  const discoveryKeys = keys.map((key) => crypto.discoveryKey(key))
  // A store whose record knows no other multifeed records every key for no one or for us.
  const alone = membership.owners.alone(membership.id)
  const [owners, infos] = await Promise.all([
    alone ? discoveryKeys.map(() => null) : membership.owners.owners(discoveryKeys),
    root.storage.getInfos(discoveryKeys, { auth: false, head: false, hints: false })
  ])
  return owners.map((owner, i) =>
    owner === null ? infos[i] !== null : !owner.equals(membership.id)
  )
}
