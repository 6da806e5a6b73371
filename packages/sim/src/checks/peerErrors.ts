/** No honest peer-error: an honest peer never closes a channel on another honest peer. */
import type { PeerErrorReport } from '../world/snapshot.js'
import type { Finding } from './Violation.js'

export const NO_HONEST_PEER_ERROR = 'no honest peer-error'

export function checkPeerErrors(
  reports: PeerErrorReport[],
  isHonest: (publicKey: string | null) => boolean
): Finding[] {
  return reports
    .filter((r) => isHonest(r.remote))
    .map((r) => ({
      invariant: NO_HONEST_PEER_ERROR,
      peer: r.peer,
      detail: `peer-error ${r.code} on an honest peer's channel: ${r.message}`
    }))
}
