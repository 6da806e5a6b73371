/** No feed listed twice: every peer's `feeds()` of a set names each key once. */
import type { PeerSnapshot } from '../world/snapshot.js'
import type { Finding } from './Violation.js'

export const NO_DUPLICATE_FEEDS = 'no feed listed twice'

export function checkDuplicates(snapshots: PeerSnapshot[]): Finding[] {
  const found: Finding[] = []
  for (const snap of snapshots) {
    for (const [set, feeds] of Object.entries(snap.sets)) {
      const seen = new Set<string>()
      for (const feed of feeds) {
        if (seen.has(feed.key)) {
          found.push({
            invariant: NO_DUPLICATE_FEEDS,
            peer: snap.index,
            detail: `set ${set} lists feed ${feed.key.slice(0, 16)}… twice`
          })
          break
        }
        seen.add(feed.key)
      }
    }
  }
  return found
}
