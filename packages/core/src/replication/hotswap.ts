/**
 * Hypercore's hotswap, held back while the peer asked is answering.
 *
 * When a core is attached to several peers, hypercore 11's replicator asks a
 * peer with room to spare for blocks already requested from another peer
 * (`Replicator._updateHotswap`, `lib/hotswap-queue.js`): up to three peers
 * at once, as soon as the first request is out. Meant to get past a stalled
 * peer, in a mesh it downloads blocks twice: both answers are taken when the
 * second arrives while the first is still being verified (hypercore cancels
 * the other requests only once a block is written).
 *
 * Here a block is asked of another peer only when the connection it was last
 * asked over has gone quiet: nothing downloaded over it since the request went
 * out for HOTSWAP_AFTER_MS, or for the connection's recent answer time when
 * that is longer. A busy peer is not raced: in a CPU-starved mesh every answer
 * takes seconds, and a second peer, as slow, answers too (holding back by the
 * request's age alone, 1 s, a 20-peer mesh on a loaded machine downloaded more
 * blocks twice than raw corestore: notes/hotswap-under-load.md). A peer that
 * keeps answering others but dropped one request (hypercore answers nothing
 * to a request it got while paused) is worked around once the request is
 * HOTSWAP_LIMIT_ANSWERS times that connection's answer time old, and at least
 * HOTSWAP_LIMIT_MS. A block whose answer has arrived and is being verified is
 * asked again only past that limit. Hypercore looks for hotswaps only when
 * something happens on the core, so when it skipped a block, a timer looks
 * again once that block is due. Answer times and arrivals are taken from the
 * `download` events of every core attached (`from.protomux` names the
 * connection), so a connection's record covers all its cores.
 *
 * A race that still happens (both requests out before either answer came:
 * in a CPU-starved process a connection looks quiet while its answers wait
 * to be read) costs the second answer's bytes, but not a second download: an
 * answer for a block whose first answer is being verified waits for it and
 * is dropped once the block is stored (`oneAnswerPerBlock`). Hypercore
 * verifies both otherwise (it cancels the other requests only once a block
 * is written), and both count as downloads (notes/duplicate-downloads.md).
 *
 * This is the one place that touches the replicator's hotswap queue
 * (`replicator.hotswaps.pick`, a block request's `processing` and its
 * `inflight[]`: `timestamp`, `peer`, `priority`; `replicator.updatePeer`),
 * the core's `verify(proof, from)` and `bitfield.get(index)` (`core.core`),
 * and the request hypercore passes with the `download` event, after `from`
 * (`timestamp`): hypercore 11.39 has no option for any of it. hotswap.test.ts
 * checks these on a real hypercore. When they are not there (another
 * hypercore), nothing is changed.
 */
import type { Hypercore, HypercorePeer } from '@multifeed/holepunch-types'

/** A block is asked of another peer once the connection it was asked over was quiet this long (or its answer time). */
export const HOTSWAP_AFTER_MS = 1000
/** However busy that connection, a request this old is asked elsewhere too … */
export const HOTSWAP_LIMIT_MS = 10_000
/** … or this many times the connection's recent answer time, when that is longer. */
export const HOTSWAP_LIMIT_ANSWERS = 4

/** Hypercore's mark of a request that was answered (or cancelled): `PRIORITY.CANCELLED`. */
const ANSWERED = 255

/** The parts of hypercore's replicator this module reads (`lib/replicator.js`). */
interface Replicator {
  readonly destroyed: boolean
  readonly peers: readonly unknown[]
  readonly hotswaps: { pick(peer: unknown): Iterable<BlockRequest> }
  updatePeer(peer: unknown): void
}

interface BlockRequest {
  /** True while an answer is being verified. */
  readonly processing?: boolean
  readonly inflight: ReadonlyArray<Request>
}

interface Request {
  readonly timestamp: number
  readonly peer?: { readonly protomux?: object }
  readonly priority?: number
}

/** What was heard over one connection (a Protomux), from any core. */
interface Heard {
  /** When a block last arrived. */
  at: number
  /** Recent time from request to answer (moving average), 0 until measured. */
  answerMs: number
}

/** The parts of hypercore's core (`core.core`, `lib/core.js`) the one-answer rule wraps and reads. */
interface CoreInternals {
  verify(proof: Proof, from: unknown): Promise<boolean>
  readonly bitfield: { get(index: number): boolean } | null
}

/** An answer (`lib/messages.js` data): a block carries its index; an upgrade goes through. */
interface Proof {
  readonly block?: { readonly index: number } | null
  readonly upgrade?: unknown
}

const heard = new WeakMap<object, Heard>()
const verifying = new WeakSet<object>()
const held = new WeakSet<object>()
const listening = new WeakSet<object>()

/** Holds back the hotswaps of the core's replicator (once per replicator; the core is open). */
export function holdBackHotswaps(core: Hypercore<unknown>): void {
  const replicator = core.core?.replicator as unknown as Partial<Replicator> | undefined
  const queue = replicator?.hotswaps
  if (
    replicator === undefined ||
    queue === undefined ||
    typeof queue.pick !== 'function' ||
    typeof replicator.updatePeer !== 'function'
  ) {
    return
  }
  if (!listening.has(core)) {
    listening.add(core)
    core.on('download', onDownload as (index: number, bytes: number, from: HypercorePeer) => void)
  }
  const inner = core.core as unknown as Partial<CoreInternals> | null | undefined
  if (inner && typeof inner.verify === 'function' && inner.bitfield !== undefined) {
    oneAnswerPerBlock(inner as CoreInternals)
  }
  if (held.has(replicator)) return
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
      const when = dueAt(block)
      if (when <= now) yield block
      else due = Math.min(due, when)
    }
    if (due !== Number.POSITIVE_INFINITY && timer === null) {
      timer = setTimeout(lookAgain, Math.max(1, due - now))
      timer.unref?.()
    }
  }
}

/**
 * A raced block's second answer, arriving while the first is being verified,
 * waits for that verify and is dropped once the block is stored (verify says
 * false: hypercore clears the request, already cancelled, and counts no
 * download) instead of being verified and written again. Its bytes have
 * crossed the link by then; what is saved is the second verify and write,
 * and the block is counted downloaded once. If the first answer fails, the
 * second is verified as usual. Answers carrying an upgrade are not held.
 */
function oneAnswerPerBlock(inner: CoreInternals): void {
  if (verifying.has(inner)) return
  verifying.add(inner)
  const verify = inner.verify.bind(inner)
  const inFlight = new Map<number, Promise<boolean>>()
  inner.verify = async (proof: Proof, from: unknown): Promise<boolean> => {
    const index = proof.block?.index
    if (typeof index !== 'number' || (proof.upgrade !== null && proof.upgrade !== undefined)) {
      return verify(proof, from)
    }
    const first = inFlight.get(index)
    if (first !== undefined) {
      await first.catch(() => false)
      if (inner.bitfield?.get(index) === true) return false
    }
    const mine = verify(proof, from)
    inFlight.set(index, mine)
    try {
      return await mine
    } finally {
      if (inFlight.get(index) === mine) inFlight.delete(index)
    }
  }
}

/** Records a block's arrival over its connection, and how long its request took. */
function onDownload(_index: number, _bytes: number, from: HypercorePeer, request?: Request): void {
  const mux = from?.protomux
  if (mux === undefined) return
  const now = Date.now()
  let h = heard.get(mux)
  if (h === undefined) {
    h = { at: now, answerMs: 0 }
    heard.set(mux, h)
  }
  h.at = now
  if (typeof request?.timestamp === 'number') {
    const took = now - request.timestamp
    h.answerMs = h.answerMs === 0 ? took : h.answerMs * 0.9 + took * 0.1
  }
}

/**
 * When the block may be asked of another peer: once the connection of its
 * newest request has been quiet for HOTSWAP_AFTER_MS since that request, or
 * once the request is over the limit; while an answer is being verified, only
 * over the limit (the answer may still fail).
 */
function dueAt(block: BlockRequest): number {
  let newest: Request | null = null
  let answered = block.processing === true
  for (const request of block.inflight) {
    if (request.priority === ANSWERED) answered = true
    if (newest === null || request.timestamp >= newest.timestamp) newest = request
  }
  if (newest === null) return Number.POSITIVE_INFINITY
  const mux = newest.peer?.protomux
  const h = mux === undefined ? undefined : heard.get(mux)
  const limit =
    newest.timestamp + Math.max(HOTSWAP_LIMIT_MS, HOTSWAP_LIMIT_ANSWERS * (h?.answerMs ?? 0))
  if (answered) return limit
  const quiet = Math.max(HOTSWAP_AFTER_MS, h?.answerMs ?? 0)
  return Math.min(Math.max(newest.timestamp, h?.at ?? 0) + quiet, limit)
}
