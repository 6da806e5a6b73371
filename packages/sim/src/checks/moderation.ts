/**
 * The invariants of moderated sets (moderated runs):
 *
 * - **same records, same outcome**: two peers holding the same grant,
 *   revoke, block and unblock records (`recordIds()`) compute the same
 *   moderators and the same blocks (`moderators()`, `blocked()`), whenever
 *   they are compared; once the mesh is quiet every member holds the same
 *   records;
 * - **a blocked feed is gone**: a peer that acted on a block of F (its
 *   `moderation` event came) and whose state still blocks F neither lists
 *   nor stores F — by F's key, or by the identity its bind names, later
 *   feeds of that identity included. While events play, a removal may be
 *   under way when a snapshot is taken, so a sighting counts once it is seen
 *   again at the next check with nothing changed on that peer in between
 *   (same records, no `moderation` event); the final checks use the truth
 *   (every spam feed is the spammer's) and the same rule;
 * - **unblock restores**: once quiet, a spam feed no longer blocked is held
 *   by every member or by none, at one length (whoever held it serves it);
 * - **no block crosses**: no frame carrying a blocked feed's discovery key
 *   or one of its blocks is sent on a link whose two ends acted on the
 *   block (world/WireWatch.ts).
 */
import type { Ledger } from '../ledger.js'
import type { ModerationView, PeerSnapshot } from '../world/snapshot.js'
import type { WireHit } from '../world/WireWatch.js'
import type { Finding } from './Violation.js'

export const SAME_RECORDS = 'peers holding the same records compute the same moderators and blocks'
export const BLOCKED_GONE = 'a peer that holds a block of F neither lists nor stores F'
export const UNBLOCK_RESTORES = 'an unblock restores F on every peer that can reach a holder'
export const NO_BLOCK_CROSSES = 'no block of F crosses a link after both ends hold the record'

export function checkSameRecords(snapshots: PeerSnapshot[], final = false): Finding[] {
  const found: Finding[] = []
  const bySet = new Map<number, Array<{ peer: number; view: ModerationView }>>()
  for (const snap of snapshots) {
    if (!snap.online) continue
    for (const [set, view] of Object.entries(snap.moderation ?? {})) {
      const list = bySet.get(Number(set)) ?? []
      list.push({ peer: snap.index, view })
      bySet.set(Number(set), list)
    }
  }
  for (const [set, views] of bySet) {
    const groups = new Map<string, { peer: number; view: ModerationView }>()
    for (const { peer, view } of views) {
      const records = view.records.join()
      const first = groups.get(records)
      if (first === undefined) {
        groups.set(records, { peer, view })
        continue
      }
      const moderators = view.moderators.join() === first.view.moderators.join()
      const blocked = view.blocked.join() === first.view.blocked.join()
      if (!moderators || !blocked) {
        found.push({
          invariant: SAME_RECORDS,
          peer,
          detail: `set ${set}: the ${view.records.length} records peer ${first.peer} holds too give ${!moderators ? `${view.moderators.length} moderators against ${first.view.moderators.length}` : `${view.blocked.length} blocks against ${first.view.blocked.length}`}`
        })
      }
    }
    if (final && groups.size > 1) {
      const sizes = [...groups.values()].map((g) => `${g.view.records.length} (peer ${g.peer})`)
      found.push({
        invariant: SAME_RECORDS,
        peer: -1,
        detail: `set ${set}: once quiet the members hold ${groups.size} different record sets: ${sizes.join(', ')}`
      })
    }
  }
  return found
}

/** A target `kind:hex` from a `blocked` entry `kind:hex:signer`. */
function targetOf(entry: string): string {
  return entry.slice(0, entry.lastIndexOf(':'))
}

/**
 * Blocked feeds listed or stored, seen twice in a row with nothing changed
 * on the peer in between (see the module's comment). Keeps the last round.
 */
export class BlockedWatch {
  /** Last round's sightings: `peer|set|feed|how` → the peer's records and event count then. */
  #last = new Map<string, string>()
  /** Feed (hex) → owner (hex) a peer listed it with, per peer: what that peer knows binds it. */
  readonly #owners = new Map<number, Map<string, string>>()

  /**
   * `spam`: per set, the spammer's feeds; `spammer`: its identity (hex), the
   * truth used once `final` (every spam feed is bound to it).
   */
  check(
    snapshots: PeerSnapshot[],
    ledger: Ledger,
    discoveryKeyOf: (key: string) => string,
    spammer: string,
    final = false
  ): Finding[] {
    const found: Finding[] = []
    const round = new Map<string, string>()
    for (const snap of snapshots) {
      if (!snap.online) continue
      const known = this.#owners.get(snap.index) ?? new Map<string, string>()
      this.#owners.set(snap.index, known)
      const stored = new Set(snap.stored)
      for (const [set, view] of Object.entries(snap.moderation ?? {})) {
        const s = Number(set)
        const now = new Set(view.blocked.map(targetOf))
        const acted = new Set(view.acted)
        const blocks = (id: string) => now.has(id) && acted.has(id)
        const blocked = (key: string, owner: string | null | undefined) =>
          blocks(`feed:${key}`) || (owner != null && blocks(`identity:${owner}`))
        const stamp = `${view.records.join()}|${view.events}`
        const sight = (key: string, how: string) => {
          const id = `${snap.index}|${s}|${key}|${how}`
          round.set(id, stamp)
          if (this.#last.get(id) !== stamp) return
          found.push({
            invariant: BLOCKED_GONE,
            peer: snap.index,
            detail: `set ${s}: feed ${key.slice(0, 16)}… ${how} while blocked here (${view.blocked.length} blocks, ${view.records.length} records)`
          })
        }
        for (const feed of snap.sets[s] ?? []) {
          if (feed.owner != null) known.set(feed.key, feed.owner)
          const owner = final && ledger.spam(s).has(feed.key) ? spammer : feed.owner
          if (blocked(feed.key, owner)) sight(feed.key, 'listed')
        }
        for (const key of ledger.spam(s).keys()) {
          if (!stored.has(discoveryKeyOf(key))) continue
          const owner = final ? spammer : (known.get(key) ?? null)
          if (blocked(key, owner)) sight(key, 'stored')
        }
      }
    }
    this.#last = round
    return found
  }
}

/**
 * Once quiet: each spam feed no longer blocked is listed by every member or
 * by none, and at one length. `members(set)`: the honest members.
 */
export function checkRestored(
  snapshots: PeerSnapshot[],
  ledger: Ledger,
  members: (set: number) => number[],
  spammer: string
): Finding[] {
  const found: Finding[] = []
  const byIndex = new Map(snapshots.map((s) => [s.index, s]))
  for (let set = 0; set < ledger.sets; set++) {
    // Blocked at the end (by a member's state; the members agree, SAME_RECORDS): gone, not restored.
    const blocked = new Set(
      snapshots.flatMap((s) => (s.online ? (s.moderation?.[set]?.blocked ?? []) : [])).map(targetOf)
    )
    for (const key of ledger.spam(set).keys()) {
      if (blocked.has(`feed:${key}`) || blocked.has(`identity:${spammer}`)) continue
      const lengths = new Map<number, number | null>()
      for (const peer of members(set)) {
        const snap = byIndex.get(peer)
        if (snap === undefined || !snap.online || snap.sets[set] === undefined) continue
        lengths.set(peer, snap.sets[set]!.find((f) => f.key === key)?.length ?? null)
      }
      const holders = [...lengths].filter(([, l]) => l !== null)
      if (holders.length === 0) continue
      const missing = [...lengths].filter(([, l]) => l === null).map(([p]) => p)
      const longest = Math.max(...holders.map(([, l]) => l!))
      const short = holders.filter(([, l]) => l! < longest).map(([p]) => p)
      if (missing.length > 0 || short.length > 0) {
        found.push({
          invariant: UNBLOCK_RESTORES,
          peer: missing[0] ?? short[0]!,
          detail: `set ${set}: spam feed ${key.slice(0, 16)}… held by ${holders.length} members (longest ${longest}), missing on ${missing.length} (${missing.slice(0, 5).join(', ')}), short on ${short.length}`
        })
      }
    }
  }
  return found
}

export function checkWire(hits: WireHit[]): Finding[] {
  return hits.map((h) => ({
    invariant: NO_BLOCK_CROSSES,
    peer: h.sender,
    detail: `set ${h.set}: sent a ${h.what} of blocked feed ${h.feed.slice(0, 16)}… to peer ${h.receiver}, both ends having acted on the block`
  }))
}
