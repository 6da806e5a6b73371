/**
 * No block downloaded twice in a quiet mesh: from the moment the mesh is
 * quiet (everyone up, links healed, no writes, no attacks) to the end, the
 * blocks a peer's sessions received are no more than what its feeds grew by.
 * (Moderated sets: not judged on a peer whose set acted on a moderation
 * change in between, since the feeds a block removed took their growth away.)
 */
import type { PeerSnapshot } from '../world/snapshot.js'
import type { Finding } from './Violation.js'

export const NO_DOUBLE_DOWNLOAD = 'no block downloaded twice in a quiet mesh'

export function checkDownloads(before: PeerSnapshot[], after: PeerSnapshot[]): Finding[] {
  const found: Finding[] = []
  const start = new Map(before.map((s) => [s.index, s]))
  for (const end of after) {
    const begin = start.get(end.index)
    if (begin === undefined || !begin.online || !end.online) continue
    for (const [set, feeds] of Object.entries(end.sets)) {
      const s = Number(set)
      // Moderated sets: a block that came meanwhile removed feeds whose blocks
      // were received; what they grew by is gone from the count, so the set is not judged.
      if ((end.moderation?.[s]?.events ?? 0) !== (begin.moderation?.[s]?.events ?? 0)) continue
      const grew = total(feeds) - total(begin.sets[s] ?? [])
      const received = (end.received[s] ?? 0) - (begin.received[s] ?? 0)
      if (received > grew) {
        found.push({
          invariant: NO_DOUBLE_DOWNLOAD,
          peer: end.index,
          detail: `set ${set}: received ${received} blocks while its feeds grew by ${grew}`
        })
      }
    }
  }
  return found
}

function total(feeds: Array<{ length: number }>): number {
  return feeds.reduce((sum, f) => sum + f.length, 0)
}
