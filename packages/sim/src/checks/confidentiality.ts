/**
 * Nothing of a set reaches a non-member: a peer that is not a member of a
 * set lists none of its feeds in any of its multifeeds and stores none of its
 * cores; a puppet that does not hold the key (forger, stranger) is never sent
 * anything on the set's channel.
 */
import type { Ledger } from '../ledger.js'
import type { PeerSnapshot } from '../world/snapshot.js'
import type { Finding } from './Violation.js'

export const CONFIDENTIALITY = 'nothing of a set reaches a non-member'

/** What a puppet without the key was sent: messages on the set's channel. */
export interface OutsiderView {
  peer: number
  set: number
  mode: string
  /** Messages received on the set's channel (any type). */
  received: number
  /** The same by type (symbols, more, elements), for the report. */
  byType: number[]
  /** Channels it opened as a stranger that the honest side accepted. */
  strangerOpens: number
}

export function checkConfidentiality(
  snapshots: PeerSnapshot[],
  ledger: Ledger,
  isMember: (peer: number, set: number) => boolean,
  discoveryKeyOf: (key: string) => string,
  outsiders: OutsiderView[]
): Finding[] {
  const found: Finding[] = []
  for (const snap of snapshots) {
    if (!snap.online) continue
    const stored = new Set(snap.stored)
    for (let set = 0; set < ledger.sets; set++) {
      if (isMember(snap.index, set)) continue
      for (const key of ledger.feeds(set).keys()) {
        const listedIn = Object.entries(snap.sets).find(([, feeds]) =>
          feeds.some((f) => f.key === key)
        )
        if (listedIn !== undefined) {
          found.push({
            invariant: CONFIDENTIALITY,
            peer: snap.index,
            detail: `feed ${key.slice(0, 16)}… of set ${set} is listed in set ${listedIn[0]} here`
          })
        }
        if (stored.has(discoveryKeyOf(key)) && !ownFeedElsewhere(snap, key)) {
          found.push({
            invariant: CONFIDENTIALITY,
            peer: snap.index,
            detail: `the core of feed ${key.slice(0, 16)}… of set ${set} is stored here`
          })
        }
      }
    }
  }
  for (const o of outsiders) {
    if (o.received > 0 || o.strangerOpens > 0) {
      found.push({
        invariant: CONFIDENTIALITY,
        peer: o.peer,
        detail: `a ${o.mode} of set ${o.set} (no key) was sent ${o.received} message(s) on its channel (by type: ${o.byType.join('/')}), ${o.strangerOpens} stranger channel(s) opened`
      })
    }
  }
  return found
}

/** The key is listed in one of the peer's own sets (reported above), not stored silently. */
function ownFeedElsewhere(snap: PeerSnapshot, key: string): boolean {
  return Object.values(snap.sets).some((feeds) => feeds.some((f) => f.key === key))
}
