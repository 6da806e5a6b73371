/**
 * How a multifeed's parts open and close (the façade's `_open`/`_close`):
 * registered in the store, the moderation found, the membership read and an
 * interrupted removal finished; at close, each part in its order. And the
 * sets a corestore holds (`Multifeed.stored()`).
 */
import type { Corestore } from '@multifeed/holepunch-types'
import type { Tier } from '../capabilities.js'
import { AlreadyOpenError } from '../errors.js'
import { register, unregister } from '../lifecycle/registry.js'
import type { MultifeedRef } from '../replication/PeerHost.js'
import { rootOf } from '../replication/ReplicationStream.js'
import { Owners } from '../set/Owners.js'
import { moderationAt } from '../set/opening.js'
import { tierConflict } from '../set/tier.js'
import type { Parts } from './parts.js'

/** What opening and closing read of the multifeed. */
export type Opened = Pick<MultifeedRef, 'key' | 'discoveryKey' | 'corestore'> & {
  readonly tier: Tier
}

/** Opens the parts: rejects (everything it took released) when the set is open already here. */
export async function openParts(parts: Parts, multi: Opened): Promise<void> {
  const root = rootOf(multi.corestore)
  const other = register(root, multi.discoveryKey, parts.registration)
  if (other !== null) {
    await parts.store.close().catch(() => {})
    if (other.tier !== multi.tier) throw tierConflict(other.tier, multi.tier)
    throw new AlreadyOpenError(
      'This multifeed is open already in this corestore: share that instance (or close it first)'
    )
  }
  let owners: Owners | null = null
  try {
    await parts.store.ready()
    parts.moderation = await moderationAt(
      { store: parts.store, root, key: multi.key, source: parts.source, settings: parts.settings },
      {
        membership: parts.membership,
        callbacks: parts.callbacks,
        management: parts.management,
        assertOpen: parts.assertOpen,
        seek: (feed) => parts.peers.seek(feed)
      }
    )
    owners = await Owners.open(root)
    await parts.management.recover(await parts.membership.load(owners, multi.tier))
    await parts.moderation?.settle()
  } catch (err) {
    await owners?.close()
    await parts.moderation?.close()
    parts.moderation = null
    unregister(root, multi.discoveryKey, parts.registration)
    throw err
  }
  parts.owners = owners
  // Built after open() resolved, in slices: the first connection finds it ready.
  parts.membership.set.prepareSketch()
  parts.peers.startSweeping()
}

/**
 * Closes the parts in order: background sketch stopped, peers closed,
 * records being taken finished (their effects need the set), writers
 * settled, pool closed (it waits for appends in flight), membership closed
 * (the clean-close mark), owners, namespace, unregistered; then the change
 * subscribers woken and the `close` event.
 */
export async function closeParts(parts: Parts, multi: Opened): Promise<void> {
  parts.membership.set.stopBackground()
  parts.peers.close()
  await parts.moderation?.close()
  await parts.writers.settle()
  await parts.pool.close()
  await parts.membership.close()
  await parts.owners?.close()
  await parts.store.close().catch(() => {})
  unregister(rootOf(multi.corestore), multi.discoveryKey, parts.registration)
  parts.changes.wake()
  parts.callbacks.emit('close')
}

/** The discovery keys of the multifeeds stored in `corestore`, sorted (set/Owners.ts). */
export async function storedSets(corestore: Corestore): Promise<Buffer[]> {
  const owners = await Owners.open(rootOf(corestore))
  try {
    return owners.sets()
  } finally {
    await owners.close()
  }
}
