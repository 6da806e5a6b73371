/**
 * Every peer converges to the union of what was written: once the mesh is
 * quiet, each online honest member of a set holds every feed written to it,
 * at least as long as written, none that its members removed, and the members of a set agree on its feeds
 * (keys a hostile member got admitted included: they reach everyone or no one).
 */
import type { Ledger } from '../ledger.js'
import type { PeerSnapshot } from '../world/snapshot.js'
import type { Finding } from './Violation.js'

export const CONVERGENCE = 'every peer converges to the union of what was written and not removed'

export function checkConvergence(
  snapshots: PeerSnapshot[],
  ledger: Ledger,
  members: (set: number) => number[]
): Finding[] {
  const found: Finding[] = []
  const byIndex = new Map(snapshots.map((s) => [s.index, s]))
  for (let set = 0; set < ledger.sets; set++) {
    const written = ledger.feeds(set)
    let reference: { peer: number; keys: Set<string> } | null = null
    for (const peer of members(set)) {
      const snap = byIndex.get(peer)
      const feeds = snap?.sets[set]
      if (snap === undefined || !snap.online || feeds === undefined) {
        found.push({ invariant: CONVERGENCE, peer, detail: `set ${set} is not open here` })
        continue
      }
      const held = new Map(feeds.map((f) => [f.key, f.length]))
      const short: string[] = []
      for (const [key, length] of written) {
        const have = held.get(key)
        if (have === undefined) short.push(`${key.slice(0, 8)}… missing (written ${length})`)
        else if (have < length) short.push(`${key.slice(0, 8)}… at ${have} of ${length}`)
      }
      // A removed feed listed by a peer that also blocks it is the library
      // contradicting itself (a blocked key back in the set); one it does not
      // block is a removal that never reached this peer.
      const blocks = new Set(snap.blocked?.[set] ?? [])
      for (const key of ledger.removedFrom(set)) {
        if (!held.has(key)) continue
        const here = blocks.has(key) ? 'blocked here too' : 'not blocked here'
        short.push(`${key.slice(0, 8)}… listed although removed (${here})`)
      }
      if (short.length > 0) {
        found.push({
          invariant: CONVERGENCE,
          peer,
          detail: `set ${set}: ${short.length} feed(s) differ: ${short.slice(0, 3).join(', ')}`
        })
        continue
      }
      const keys = new Set(held.keys())
      if (reference === null) reference = { peer, keys }
      else if (!sameKeys(reference.keys, keys)) {
        const only = [...keys].filter((k) => !reference!.keys.has(k)).map((k) => k.slice(0, 8))
        const lacks = [...reference.keys].filter((k) => !keys.has(k)).map((k) => k.slice(0, 8))
        found.push({
          invariant: CONVERGENCE,
          peer,
          detail: `set ${set}: lists ${keys.size} feeds, peer ${reference.peer} lists ${reference.keys.size} (not the same keys: only here ${only.slice(0, 3).join(', ') || 'none'}; only there ${lacks.slice(0, 3).join(', ') || 'none'})`
        })
      }
    }
  }
  return found
}

function sameKeys(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false
  for (const key of a) if (!b.has(key)) return false
  return true
}
