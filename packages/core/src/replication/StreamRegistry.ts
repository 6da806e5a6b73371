/**
 * What is attached to each replication stream, across every Multifeed of the
 * process. Two multifeeds can share a stream (the networker's case) and even
 * a core (one key pair writing in two multifeeds): a core stays attached to a
 * stream until the last multifeed using it there lets go, and a multifeed key
 * has at most one live channel per stream (Protomux pairs on protocol + id).
 */
import type { Protomux } from '@multifeed/holepunch-types'

const channelOwners = new WeakMap<Protomux, Map<string, object>>()
const coreUsers = new WeakMap<Protomux, Map<string, number>>()

/**
 * Claims the channel `id` on `mux` for `owner`. Returns the current owner when
 * another one holds it (the caller must not open a second channel), else null.
 */
export function claimChannel(mux: Protomux, id: string, owner: object): object | null {
  let owners = channelOwners.get(mux)
  if (owners === undefined) {
    owners = new Map()
    channelOwners.set(mux, owners)
  }
  const current = owners.get(id)
  if (current !== undefined && current !== owner) return current
  owners.set(id, owner)
  return null
}

/** Releases a claim made by `owner` (a no-op for anyone else). */
export function releaseChannel(mux: Protomux, id: string, owner: object): void {
  const owners = channelOwners.get(mux)
  if (owners?.get(id) === owner) owners.delete(id)
}

/** One more multifeed uses the core with discovery key `id` on `mux`. */
export function retainCore(mux: Protomux, id: string): void {
  let users = coreUsers.get(mux)
  if (users === undefined) {
    users = new Map()
    coreUsers.set(mux, users)
  }
  users.set(id, (users.get(id) ?? 0) + 1)
}

/** One multifeed less uses it; true when it was the last (detach it then). */
export function releaseCore(mux: Protomux, id: string): boolean {
  const users = coreUsers.get(mux)
  const count = users?.get(id) ?? 0
  if (count <= 1) {
    users?.delete(id)
    return true
  }
  users!.set(id, count - 1)
  return false
}
