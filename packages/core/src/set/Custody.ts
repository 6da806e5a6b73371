/**
 * What a multifeed holds in its corestore, kept in agreement with the
 * store's owner record (Owners) across crashes:
 *
 * - Letting go of a removed feed: its core is deleted unless something else
 *   of the store holds it (the record names another multifeed, or another
 *   open multifeed lists it), then its removal mark and owner record go.
 * - At open, removals a crash interrupted are finished (marked, tombstone
 *   written, core maybe still on disk): without that the core would stay
 *   behind and admission would refuse the key for good ("held for something
 *   else"). A mark whose feed is still in the set was a removal that never
 *   wrote its tombstone: only the mark goes.
 * - At open, a set the record does not know yet (written before the record
 *   existed) records its feeds, and the cores of feeds its log removed that
 *   no one holds are deleted (removals an older version left half done).
 */
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import type { CorePool } from './CorePool.js'
import type { Membership } from './Membership.js'
import type { Change } from './Owners.js'

export interface CustodyHost {
  readonly membership: Membership
  readonly pool: CorePool
  /** The root corestore (whose storage tells which cores exist). */
  readonly root: Corestore
  /** True when another open multifeed of the store lists the feed. */
  heldElsewhere(key: Buffer): boolean
}

/**
 * Whether this set may delete the core of a feed it let go of: the store
 * records no other multifeed for it and no other open one lists it. Also
 * tells whether the record names this set (to be cleared).
 */
async function mayPurge(
  host: CustodyHost,
  key: Buffer
): Promise<{ purge: boolean; ours: boolean }> {
  const { membership } = host
  const [owner] = await membership.owners.owners([crypto.discoveryKey(key)])
  const ours = owner?.equals(membership.id) === true
  const free = (ours || !owner) && !host.heldElsewhere(key)
  return { purge: free, ours }
}

/** The feed `key` left the set (tombstone written, sessions closed): its core, then its record, go. */
export async function letGo(host: CustodyHost, key: Buffer): Promise<boolean> {
  const { purge, ours } = await mayPurge(host, key)
  if (purge && (await host.root.storage.hasCore(crypto.discoveryKey(key)))) {
    await host.pool.purge(key)
  }
  await host.membership.released(key, ours)
  return purge
}

/**
 * At open, after the log was read: records a set the store does not know
 * yet, and finishes the removals a crash interrupted. `removed`: the keys
 * the log removed that are not in the set.
 */
export async function recover(host: CustodyHost, removed: Buffer[]): Promise<void> {
  const { membership } = host
  const owners = membership.owners
  owners.join(membership.id)
  if (!owners.indexed(membership.id)) await index(host, removed)
  for (const key of owners.removing(membership.id)) {
    if (membership.set.find(key) !== undefined) {
      // Killed before its tombstone: the feed stays, its mark goes.
      await owners.write([owners.removal(membership.id, key, false)])
    } else {
      await letGo(host, key)
    }
  }
}

/** Records every feed of the set that the store records for no one, in one batch. */
async function index(host: CustodyHost, removed: Buffer[]): Promise<void> {
  const { membership, root } = host
  const owners = membership.owners
  const feeds = membership.set.all()
  const discoveryKeys = feeds.map((feed) => feed.discoveryKey)
  const recorded = await owners.owners(discoveryKeys)
  const changes: Change[] = owners.own(
    membership.id,
    discoveryKeys.filter((_, i) => recorded[i] === null)
  )
  // Removals an older version left with the core on disk.
  const removedOwners = await owners.owners(removed.map((key) => crypto.discoveryKey(key)))
  const stored = await root.storage.getInfos(
    removed.map((key) => crypto.discoveryKey(key)),
    { auth: false, head: false, hints: false }
  )
  for (let i = 0; i < removed.length; i++) {
    const key = removed[i]!
    if (stored[i] === null || removedOwners[i] !== null || host.heldElsewhere(key)) continue
    await host.pool.purge(key)
  }
  changes.push(owners.markIndexed(membership.id))
  await owners.write(changes)
}
