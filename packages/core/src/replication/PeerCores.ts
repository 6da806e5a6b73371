/**
 * Which cores of one multifeed are on one stream, and what the peer at the
 * other end holds of each feed.
 *
 * - A core goes on the stream when one side lacks blocks the other holds:
 *   we attach it when the peer told us it holds more than we do and a
 *   session of ours wants the blocks (`learn`, `fetch`); the peer attaches
 *   it when it lacks, and we answer (`serve`).
 * - Changes the peer does not see through hypercore (the core is not on the
 *   stream) are kept as updates for it (`note`, `takeUpdates`).
 * - A core that has nothing left to move on the stream for a while is
 *   detached and released (`sweep`): idle cores close, and a peer that lied
 *   about a length keeps nothing of ours open. The sweep looks only once the
 *   connection went quiet (QuietClock.ts). A core whose channel the peer has
 *   not answered yet is not idle (attachment.ts `isSettled`): it waits for
 *   the answer while the connection lives, as a core the peer says it holds
 *   more of waits for the blocks.
 */
import type { Hypercore, Protomux } from '@multifeed/holepunch-types'
import { debug, shortId } from '../lifecycle/debug.js'
import type { Element } from '../protocol/messages.js'
import type { Feed } from '../set/FeedSet.js'
import { attachCore, detachCore, isSettled, onChannelClosed } from './attachment.js'
import { PeerUpdates } from './PeerUpdates.js'
import { BUSY_SWEEP_FACTOR, QuietClock } from './QuietClock.js'
import { type Amount, RemoteLengths } from './RemoteLengths.js'

export type { Amount }
export { BUSY_SWEEP_FACTOR }

/** What PeerCores needs from the multifeed, for one peer. */
export interface CoreHost {
  /** May the feed be offered to this peer (share policy)? */
  shares(feed: Feed): boolean
  /** Does a session of ours want the feed's blocks? */
  wants(feed: Feed): boolean
  acquire(feed: Feed): Promise<Hypercore<unknown>>
  release(feed: Feed): void
  /** A core was put on the stream (a statistic). */
  onAttach(): void
  /** How debug lines name the peer. */
  label(): string
}

/** Why a core left the stream (debug lines). */
type DetachReason = 'idle' | 'remote closed it' | 'left the set' | 'peer closed'

/** Cores opening at once for one peer's reconciliation. */
const MAX_OPENING = 64

interface Attached {
  readonly feed: Feed
  /** The set's session, once acquired (null while it opens). */
  core: Hypercore<unknown> | null
  /** Stops watching for the remote closing the core's channel on this connection. */
  unwatch: (() => void) | null
  /** When the core was first seen with nothing to move (0: busy). */
  settledSince: number
  /** Resolves once the core is on the stream (hypercore opening its channel), or the attach ended. */
  attaching: Promise<void>
}

export class PeerCores {
  readonly #host: CoreHost
  readonly #mux: Protomux
  readonly #attached = new Map<string, Attached>()
  /** What the peer told us it holds (or, for feeds changed since, held). */
  readonly #remote = new RemoteLengths()
  /** Changes the peer does not see through hypercore, kept for it. */
  readonly #updates: PeerUpdates
  /** Feeds to attach once fewer than MAX_OPENING cores are opening. */
  readonly #waiting = new Set<Feed>()
  #opening = 0
  /** Cores attached over the life of the peer (a statistic). */
  attachedTotal = 0
  #closed = false
  /** When the connection went quiet (the sweep looks then). */
  readonly #quiet = new QuietClock()

  constructor(host: CoreHost, mux: Protomux) {
    this.#host = host
    this.#mux = mux
    this.#updates = new PeerUpdates(this.#remote, mux, (feed) => host.shares(feed))
  }

  /** Cores attached right now. */
  get count(): number {
    return this.#attached.size
  }

  has(feed: Feed): boolean {
    return this.#attached.has(feed.id)
  }

  /** The length the peer told us it holds, if it did. */
  remoteLength(feed: Feed): number | undefined {
    return this.#remote.get(feed)
  }

  /**
   * What this peer holds that we lack, and what we hold that it lacks, as
   * it told us (reconciliation, updates, hypercore) — feeds equal at the
   * reconciliation and unchanged since are equal.
   */
  progress(): { want: Amount; give: Amount } {
    // Cores on the stream: hypercore knows what the peer holds right now.
    for (const { feed, core } of this.#attached.values()) {
      const peer = core?.peers.find((p) => p.protomux === this.#mux)
      if (peer !== undefined) this.#remote.set(feed, peer.remoteContiguousLength)
    }
    return this.#remote.amounts((feed) => this.#host.shares(feed))
  }

  /** The feeds the peer holds more of than we do, with its length. */
  wanted(): Array<{ feed: Feed; length: number }> {
    return this.#remote.wanted()
  }

  /** The peer holds `length` blocks of `feed`: remembered; fetched when we want them. */
  learn(feed: Feed, length: number): void {
    this.#remote.set(feed, length)
    if (length > feed.length && this.#host.wants(feed) && this.#host.shares(feed)) {
      this.#queueAttach(feed)
    }
  }

  /**
   * Attaches in the background, at most MAX_OPENING cores opening at once: a
   * first sync of thousands of feeds neither waits for each core in turn nor
   * opens them all in one go.
   */
  #queueAttach(feed: Feed): void {
    if (this.#attached.has(feed.id) || this.#waiting.has(feed)) return
    this.#waiting.add(feed)
    this.#pump()
  }

  #pump(): void {
    while (this.#opening < MAX_OPENING && this.#waiting.size > 0 && !this.#closed) {
      const feed = this.#waiting.values().next().value as Feed
      this.#waiting.delete(feed)
      this.#opening++
      this.attach(feed)
        .catch(() => {})
        .finally(() => {
          this.#opening--
          this.#pump()
        })
    }
  }

  /**
   * A session wants the feed: attach it if the peer holds more than we do.
   * Resolves once it is on the stream (or there is nothing to fetch here).
   */
  fetch(feed: Feed): Promise<void> {
    const remote = this.#remote.get(feed)
    if (remote !== undefined && remote > feed.length && this.#host.shares(feed)) {
      return this.attach(feed).catch(() => {})
    }
    return Promise.resolve()
  }

  /** The peer opened the feed's core: attach it if it may see it. */
  serve(feed: Feed): Promise<void> | null {
    if (!this.#host.shares(feed)) return null
    return this.attach(feed)
  }

  /** Attaches the feed's core to the stream (once); resolves when attached. */
  attach(feed: Feed): Promise<void> {
    const current = this.#attached.get(feed.id)
    if (current !== undefined) {
      current.settledSince = 0
      return current.attaching
    }
    if (this.#closed) return Promise.resolve()
    const entry: Attached = {
      feed,
      core: null,
      unwatch: null,
      settledSince: 0,
      attaching: Promise.resolve()
    }
    this.#attached.set(feed.id, entry)
    this.attachedTotal++
    this.#host.onAttach()
    entry.attaching = this.#host.acquire(feed).then(
      (core) => {
        if (this.#closed || this.#attached.get(feed.id) !== entry) {
          this.#host.release(feed)
          return
        }
        entry.core = core
        // The remote may close the core's channel (it removed the feed, or let
        // it idle): then the core is off this stream and updates flow again.
        entry.unwatch = onChannelClosed(core, this.#mux, () => {
          if (this.#attached.get(feed.id) === entry) this.#detach(feed, core, 'remote closed it')
        })
        attachCore(this.#mux, feed.discoveryId, core)
        if (debug.attach.enabled) {
          const remote = this.#remote.get(feed) ?? '?'
          debug.attach.log(
            `${this.#host.label()} attach ${shortId(feed.key)} (length ${feed.length}, peer's ${remote})`
          )
        }
      },
      () => {
        if (this.#attached.get(feed.id) === entry) this.#attached.delete(feed.id)
      }
    )
    return entry.attaching
  }

  /**
   * The feed joined the set or grew: kept as an update for the peer unless
   * hypercore tells it (the core is on the stream) or it holds as much.
   */
  note(feed: Feed, previous: number): boolean {
    return this.#updates.note(feed, previous, this.#attached.has(feed.id))
  }

  get pendingUpdates(): number {
    return this.#updates.size
  }

  clearUpdates(): void {
    this.#updates.clear()
  }

  /** The updates to send now (the peer lacks them and may see them; PeerUpdates.ts). */
  takeUpdates(): Element[] {
    return this.#updates.take()
  }

  /** A block of this set moved on the connection (either way). */
  moved(): void {
    this.#quiet.moved()
  }

  /**
   * Detaches the cores that had nothing to move for `idleMs` (both sides
   * hold the same blocks); returns how many. Looks at them only once the
   * connection has been quiet for `idleMs` (or every BUSY_SWEEP_FACTOR
   * idle times if it never is); a core settled then had nothing to move
   * for that long, and goes at once.
   */
  sweep(now: number, idleMs: number): number {
    const busy = this.#waiting.size > 0 || this.#opening > 0
    const quiet = this.#quiet.look(now, idleMs, this.attachedTotal, busy)
    if (quiet === null) return 0
    let detached = 0
    for (const entry of [...this.#attached.values()]) {
      const core = entry.core
      if (core === null) continue
      if (!isSettled(core, this.#mux)) {
        entry.settledSince = 0
        continue
      }
      const peer = core.peers.find((p) => p.protomux === this.#mux)
      if (peer !== undefined) this.learnQuietly(entry.feed, peer.remoteContiguousLength)
      if (entry.settledSince === 0) entry.settledSince = now
      if (!quiet && now - entry.settledSince < idleMs) continue
      this.#detach(entry.feed, core, 'idle')
      detached++
    }
    return detached
  }

  /** Records what the peer holds without fetching (hypercore told us). */
  learnQuietly(feed: Feed, length: number): void {
    this.#remote.set(feed, length)
  }

  #detach(feed: Feed, core: Hypercore<unknown>, why: DetachReason): void {
    if (debug.attach.enabled)
      debug.attach.log(`${this.#host.label()} detach ${shortId(feed.key)} (${why})`)
    const entry = this.#attached.get(feed.id)
    entry?.unwatch?.()
    this.#attached.delete(feed.id)
    detachCore(this.#mux, feed.discoveryId, core)
    this.#host.release(feed)
  }

  /** The feed left the set: off the stream at once, and forgotten. */
  forget(feed: Feed): void {
    this.#waiting.delete(feed)
    const entry = this.#attached.get(feed.id)
    if (entry?.core) this.#detach(feed, entry.core, 'left the set')
    else this.#attached.delete(feed.id)
    this.#remote.delete(feed)
    this.#updates.delete(feed)
  }

  /** Lets go of every core (the peer closed). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    // A core still being acquired is released by its own continuation.
    for (const { feed, core } of [...this.#attached.values()]) {
      if (core !== null) this.#detach(feed, core, 'peer closed')
    }
    this.#attached.clear()
    this.#waiting.clear()
    this.#updates.clear()
    this.#remote.clear()
  }
}
