/**
 * The multifeeds open per root corestore, by discovery key: one instance
 * per set and store (a second open of one key is refused, and so is the
 * other tier of an encrypted set: set/tier.ts), and whether another open
 * multifeed of the store lists a feed (a removal keeps the core of a feed
 * two sets listed before the store recorded owners). Which multifeed holds
 * a feed, open or not, is the store's own record: set/Owners.ts.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import type { Tier } from '../capabilities.js'

/** What the registry asks of an open multifeed. */
export interface Registered {
  /** The tier the set is open as (capabilities.ts). */
  readonly tier: Tier
  /** True when the multifeed's set holds the feed. */
  holds(key: Buffer): boolean
}

/** Multifeeds open per root corestore, by discovery key: one instance per set and store. */
const instances = new WeakMap<Corestore, Map<string, Registered>>()

/**
 * Records `multi` as the open multifeed `key` (its discovery key) of
 * `root`; null when done, else the multifeed open already.
 */
export function register(root: Corestore, key: Buffer, multi: Registered): Registered | null {
  let open = instances.get(root)
  if (open === undefined) {
    open = new Map()
    instances.set(root, open)
  }
  const id = key.toString('hex')
  const other = open.get(id)
  if (other !== undefined) return other
  open.set(id, multi)
  return null
}

/** Forgets `multi`, if it is the one recorded for `key` in `root`. */
export function unregister(root: Corestore, key: Buffer, multi: Registered): void {
  const open = instances.get(root)
  if (open?.get(key.toString('hex')) === multi) {
    open.delete(key.toString('hex'))
  }
}

/** True when another open multifeed of `root` than `self` holds the feed `key`. */
export function heldElsewhere(root: Corestore, self: Registered, key: Buffer): boolean {
  for (const other of instances.get(root)?.values() ?? []) {
    if (other !== self && other.holds(key)) return true
  }
  return false
}
