/**
 * Hypercore's hotswap, held back until a request is overdue.
 *
 * When a core is attached to several peers, hypercore 11's replicator asks a
 * peer with room to spare for blocks already requested from another peer
 * (`Replicator._updateHotswap`, `lib/hotswap-queue.js`): up to three peers
 * at once, as soon as the first request is out. Meant to get past a slow
 * peer, in a mesh it downloads blocks twice: in a quiet 3-peer mesh of
 * 3 × 500 blocks, 1–5 % of the blocks each peer received came twice (every
 * duplicate was a hotswap; mesh-downloads.test.ts counts them).
 *
 * Here a block is asked of another peer only once the last request for it
 * went unanswered for HOTSWAP_AFTER_MS: a peer that stalls is still worked
 * around, a peer that answers is not doubled. Hypercore looks for hotswaps
 * only when something happens on the core, so when it skipped a block for
 * being too recent, a timer looks again once that block is due.
 *
 * This is the one place that touches the replicator's hotswap queue
 * (`replicator.hotswaps.pick`, a block request's `inflight[].timestamp`,
 * `replicator.updatePeer`): hypercore 11.39 has no option for it. When those
 * are not there (another hypercore), nothing is changed.
 */
import type { Hypercore } from '@multifeed/holepunch-types'

/** A block requested from one peer is asked of another only after this long without an answer. */
export const HOTSWAP_AFTER_MS = 1000

/** The parts of hypercore's replicator this module reads (`lib/replicator.js`). */
interface Replicator {
  readonly destroyed: boolean
  readonly peers: readonly unknown[]
  readonly hotswaps: { pick(peer: unknown): Iterable<BlockRequest> }
  updatePeer(peer: unknown): void
}

interface BlockRequest {
  readonly inflight: ReadonlyArray<{ readonly timestamp: number }>
}

const held = new WeakSet<object>()

/** Holds back the hotswaps of the core's replicator (once per replicator; the core is open). */
export function holdBackHotswaps(core: Hypercore<unknown>): void {
  const replicator = core.core?.replicator as unknown as Partial<Replicator> | undefined
  const queue = replicator?.hotswaps
  if (
    replicator === undefined ||
    queue === undefined ||
    typeof queue.pick !== 'function' ||
    typeof replicator.updatePeer !== 'function' ||
    held.has(replicator)
  ) {
    return
  }
  held.add(replicator)
  const pick = queue.pick.bind(queue)
  let timer: ReturnType<typeof setTimeout> | null = null
  const lookAgain = (): void => {
    timer = null
    if (replicator.destroyed) return
    for (const peer of [...(replicator.peers ?? [])]) replicator.updatePeer!(peer)
  }
  queue.pick = function* (peer: unknown): Generator<BlockRequest> {
    const now = Date.now()
    let due = Number.POSITIVE_INFINITY
    for (const block of pick(peer)) {
      let sent = 0
      for (const request of block.inflight) sent = Math.max(sent, request.timestamp)
      if (now - sent >= HOTSWAP_AFTER_MS) yield block
      else due = Math.min(due, sent + HOTSWAP_AFTER_MS)
    }
    if (due !== Number.POSITIVE_INFINITY && timer === null) {
      timer = setTimeout(lookAgain, Math.max(1, due - now))
      timer.unref?.()
    }
  }
}
