/**
 * Bytes we send per hostile byte received ≤ the bound core states (README,
 * Security notes; `amplificationBound` of @multifeed/core, imported, not
 * restated): on every link between an honest and a hostile peer, what the
 * honest side sent is at most 20 times what it received, plus 64 KiB, plus
 * the reply allowance of the sets the hostile peer holds the key of (128 B a
 * feed of the honest peer's set and 4 KiB per set). Counted on the wire
 * (ciphertext), over the whole link's life.
 */
import {
  AMPLIFICATION_CONNECTION_BYTES,
  AMPLIFICATION_RATIO,
  amplificationBound
} from '@multifeed/core'
import type { Finding } from './Violation.js'

export const AMPLIFICATION = `bytes sent per hostile byte received ≤ ${AMPLIFICATION_RATIO} (+${AMPLIFICATION_CONNECTION_BYTES / 1024} KiB per link, + the reply allowance of the sets it holds the key of)`

export interface HostileTraffic {
  honest: number
  hostile: number
  /** Bytes the honest peer sent to the hostile one, and received from it. */
  sent: number
  received: number
  /**
   * The honest peer's size of each set the hostile peer holds the key of
   * (the largest seen this run: at least what its opens announced).
   */
  sets: number[]
}

export function checkAmplification(traffic: HostileTraffic[]): Finding[] {
  const found: Finding[] = []
  for (const t of traffic) {
    const allowed = amplificationBound({ received: t.received, sets: t.sets })
    if (t.sent <= allowed) continue
    found.push({
      invariant: AMPLIFICATION,
      peer: t.honest,
      detail: `sent ${t.sent} B to hostile peer ${t.hostile} for ${t.received} B received, sets of ${t.sets.join(' + ')} feeds (allowed ${allowed} B; ×${(t.sent / Math.max(1, t.received)).toFixed(1)})`
    })
  }
  return found
}
