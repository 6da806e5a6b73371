/**
 * The multifeeds open per root corestore, by key: one instance per key and
 * store (a second open of one key is refused), and whether another open
 * multifeed of the store holds a feed or is adding it right now (a core
 * joins one multifeed). With lazy cores a feed may have no core in storage
 * yet, so storage alone cannot tell.
 */
import type { Corestore } from '@multifeed/holepunch-types'

/** What the registry asks of an open multifeed. */
export interface Registered {
  /** True when the multifeed's set holds the feed. */
  holds(key: Buffer): boolean
}

/** Multifeeds open per root corestore, by key: one instance per key and store. */
const instances = new WeakMap<Corestore, Map<string, Registered>>()
/** Feed keys (hex) being added right now per root corestore, and by which multifeed. */
const adding = new WeakMap<Corestore, Map<string, Registered>>()

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

/**
 * Claims for `self`, while it adds them, the feeds among `keys` that no other
 * open multifeed of `root` holds or is adding (`claimed`); the others are
 * `taken`. Check and claim happen at once, so two multifeeds admitting one
 * key concurrently cannot both get it.
 */
export function claimFeeds(
  root: Corestore,
  self: Registered,
  keys: Buffer[]
): { claimed: Buffer[]; taken: Buffer[]; release(): void } {
  let claims = adding.get(root)
  if (claims === undefined) {
    claims = new Map()
    adding.set(root, claims)
  }
  const claimed: Buffer[] = []
  const taken: Buffer[] = []
  const mine: string[] = []
  for (const key of keys) {
    const id = key.toString('hex')
    const by = claims.get(id)
    if ((by !== undefined && by !== self) || heldElsewhere(root, self, key)) {
      taken.push(key)
      continue
    }
    if (by === undefined) {
      claims.set(id, self)
      mine.push(id)
    }
    claimed.push(key)
  }
  const release = (): void => {
    for (const id of mine) if (claims.get(id) === self) claims.delete(id)
  }
  return { claimed, taken, release }
}
