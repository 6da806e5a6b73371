/**
 * The multifeeds open per root corestore, by key: one instance per key and
 * store (a second open of one key is refused), and whether another open
 * multifeed of the store lists a feed (a removal keeps the core of a feed
 * two sets listed before the store recorded owners). Which multifeed holds
 * a feed, open or not, is the store's own record: set/Owners.ts.
 */
import type { Corestore } from '@multifeed/holepunch-types'

/** What the registry asks of an open multifeed. */
export interface Registered {
  /** True when the multifeed's set holds the feed. */
  holds(key: Buffer): boolean
}

/** Multifeeds open per root corestore, by key: one instance per key and store. */
const instances = new WeakMap<Corestore, Map<string, Registered>>()

/** Records `multi` as the open multifeed `key` of `root`; false when one is open already. */
export function register(root: Corestore, key: Buffer, multi: Registered): boolean {
  let open = instances.get(root)
  if (open === undefined) {
    open = new Map()
    instances.set(root, open)
  }
  const id = key.toString('hex')
  if (open.has(id)) return false
  open.set(id, multi)
  return true
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
