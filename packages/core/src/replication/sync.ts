/**
 * The one-shot sync (`synced()`): hold everything given peers hold of the
 * set as of the call, once enough peers are there (`minPeers`). It waits
 * for the first reconciliation with each, takes a snapshot of what they
 * hold that we lack, fetches it, and waits until it is here; whatever it
 * started is released through `Holds`, also when the wait is cut short.
 */
import type { Hypercore, HypercoreDownload } from '@multifeed/holepunch-types'
import { ClosedError } from '../errors.js'
import { type BoundOptions, bounded } from '../lifecycle/bounded.js'
import type { Feed } from '../set/FeedSet.js'
import type { SyncResult } from '../types.js'
import type { MultifeedPeer } from './MultifeedPeer.js'

/** Things to release; anything added after `release()` is released at once. */
export class Holds {
  #released = false
  readonly #holds: Array<() => void> = []

  add(release: () => void): void {
    if (this.#released) release()
    else this.#holds.push(release)
  }

  get released(): boolean {
    return this.#released
  }

  release(): void {
    this.#released = true
    for (const release of this.#holds.splice(0)) {
      try {
        release()
      } catch {}
    }
  }
}

export interface SyncHost {
  /** The peers to sync with (asked once `minPeers` of them reconciled). */
  peers(): MultifeedPeer[]
  acquire(feed: Feed): Promise<Hypercore<unknown>>
  release(feed: Feed): void
  /** Calls `listener` on every length change (and peer change, close); returns the unsubscribe. */
  onChange(listener: () => void): () => void
  assertOpen(): void
  /** True once the multifeed is closing (the wait then rejects with ERR_CLOSED). */
  closing(): boolean
}

/** What `synced()` waits for: at least `minPeers` reconciled peers (default 0), within the bounds. */
export interface SyncOptions extends BoundOptions {
  minPeers?: number | undefined
}

/**
 * Waits until `minPeers` peers completed their first reconciliation, then
 * `syncWith()` the peers there are, bounded by `options` (timeout, signal);
 * what it started is released in any case. Resolves to the peers it synced
 * with (those whose first reconciliation completed).
 */
export async function synced(host: SyncHost, options: SyncOptions): Promise<SyncResult> {
  const holds = new Holds()
  const work = (async (): Promise<SyncResult> => {
    await untilPeers(host, options.minPeers ?? 0, holds)
    const peers = host.peers()
    await syncWith(host, peers, holds)
    return { peers: peers.filter((peer) => peer.reconciled) }
  })()
  try {
    return await bounded(work, options, 'synced()')
  } finally {
    holds.release()
  }
}

/** Resolves once at least `n` peers completed their first reconciliation (rejects ERR_CLOSED at close). */
function untilPeers(host: SyncHost, n: number, holds: Holds): Promise<void> {
  const enough = (): boolean => host.peers().filter((peer) => peer.reconciled).length >= n
  if (n <= 0 || enough()) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const off = host.onChange(() => {
      if (host.closing()) {
        off()
        reject(new ClosedError(`The multifeed closed before ${n} peer(s) reconciled`))
      } else if (enough()) {
        off()
        resolve()
      }
    })
    holds.add(off)
  })
}

export async function syncWith(
  host: SyncHost,
  peers: MultifeedPeer[],
  holds: Holds
): Promise<void> {
  await Promise.all(peers.map((peer) => peer.synced))
  if (holds.released) return
  host.assertOpen()
  const targets = new Map<Feed, number>()
  for (const peer of peers) {
    if (peer.closed) continue
    for (const { feed, length } of peer.wanted()) {
      targets.set(feed, Math.max(targets.get(feed) ?? 0, length))
    }
  }
  if (targets.size === 0) return
  const done = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (host.closing()) {
        reject(new ClosedError('The multifeed closed before the sync completed'))
        return
      }
      for (const [feed, length] of targets) if (feed.length < length) return
      resolve()
    }
    holds.add(host.onChange(check))
    check()
  })
  for (const [feed, length] of targets) {
    const core = await host.acquire(feed)
    holds.add(() => host.release(feed))
    if (holds.released) return
    for (const peer of peers) peer.fetch(feed)
    const range: HypercoreDownload = core.download({ start: feed.length, end: length })
    holds.add(() => range.destroy())
  }
  await done
}
