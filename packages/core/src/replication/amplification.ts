/**
 * The stated bound on what a peer can make us send on one connection
 * (README, Security notes), in wire bytes, for what it sent us:
 *
 *   sent ≤ 20 × received + 64 KiB + Σ over the multifeeds it proved (128 B·n + 1,152 B·r + 4 KiB) + our updates
 *
 * where n is the size of our set (largest while connected), r the number of
 * its moderation records (0 unless moderated), and "our updates" the 40-byte
 * updates of our own set's changes while connected, and the moderation
 * records that reached us from elsewhere while connected (they follow our
 * writes, fetches and other peers, not its requests). Blocks of data it
 * requests are not counted here: a member may read the set's data.
 *
 * What each term pays for:
 * - the reply budget (ReplyBudget.ts) caps our reconciliation replies
 *   (moderation records sent in a reconciliation included) at
 *   Σ (128 B·n + 1,152 B·r + 4 KiB) plus 4 bytes per byte it sent on the multifeed
 *   channels: the allowance term, and 4 of the 20;
 * - an open of ours per open of its (≤ ~300 B against its ≥ 53 B: ≤ 6; with
 *   deferred sketches, minor 6, our open and our SKETCHES when its proof
 *   differs: ≤ ~330 B against its deferred open of ≥ ~70 B on the wire), the
 *   zero lengths in DONE echoing its elements (≤ 1), the cores we attach for
 *   feeds it claims (a core's open and request, ~150 B for an element of
 *   ≥ 33 B: ≤ 5), Noise and Protomux framing: the rest of the 20;
 * - the handshake, pairing (16 B a multifeed we carry) and hypercore's
 *   own per-connection messages: the 64 KiB.
 *
 * The mesh simulator checks this on every link between an honest and a
 * hostile peer (packages/sim, checks/amplification.ts).
 */
import { replyAllowance } from './ReplyBudget.js'

/** Wire bytes we may send per wire byte a peer sent us. */
export const AMPLIFICATION_RATIO = 20
/** Wire bytes any connection may cost, whatever the peer sent. */
export const AMPLIFICATION_CONNECTION_BYTES = 64 * 1024

/** What a peer may have made us send on one connection. */
export interface AmplificationInput {
  /** Wire bytes the peer sent us. */
  readonly received: number
  /** The size of each of our sets the peer proved the key of on the connection. */
  readonly sets: Iterable<number>
  /** The number of moderation records of each of those sets that is moderated (none: []). */
  readonly records?: Iterable<number>
  /** Bytes of updates of our own changes sent to it (0: none counted). */
  readonly updates?: number
}

/** The most we send a peer on one connection (wire bytes) for what it sent us. */
export function amplificationBound({
  received,
  sets,
  records = [],
  updates = 0
}: AmplificationInput): number {
  return (
    AMPLIFICATION_RATIO * received +
    AMPLIFICATION_CONNECTION_BYTES +
    replyAllowance(sets, 0, records) +
    updates
  )
}
