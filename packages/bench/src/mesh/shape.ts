// A mesh workload (scenario 12) and what every peer of it must end up holding:
// `peers` peers, each writing `feeds` feeds of `entries` blocks in each of
// `multifeeds` multifeeds (raw corestore: the same cores, grouped the same way),
// every peer connected to every other, until every peer holds every block.
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'

export interface MeshShape {
  peers: number
  multifeeds: number
  /** Feeds each peer writes in each multifeed. */
  feeds: number
  /** Blocks of each feed. */
  entries: number
  blockSize: number
}

export function meshName(s: MeshShape): string {
  const n = (x: number) => x.toLocaleString('en-US')
  return `${n(s.peers)} peers × ${n(s.multifeeds)} multifeeds × ${n(s.feeds)} feeds × ${n(s.entries)} entries × ${s.blockSize} B`
}

/** Feeds of one multifeed (every peer's writers). */
export function feedsPerGroup(s: MeshShape): number {
  return s.peers * s.feeds
}

/** Blocks written in the whole mesh. */
export function blocksWritten(s: MeshShape): number {
  return s.peers * s.multifeeds * s.feeds * s.entries
}

/** Blocks that must travel: every peer receives every block it did not write. */
export function blocksToMove(s: MeshShape): number {
  return blocksWritten(s) * (s.peers - 1)
}

/** One measured mesh sync. */
export interface MeshRun {
  /** From connect to every peer holding every block. */
  ms: number
  /** CPU time of the process (every peer) meanwhile. */
  cpuMs: number
  /** Blocks that travelled per second: `blocksToMove / ms`. */
  blocksPerSecond: number
  /** Downloads of a block a peer had downloaded before, over every peer. */
  duplicates: number
  /** Connections (or pipes) between peers when converged, over the mesh. */
  connections: number
}

/** A measured sync's figures, from its time, CPU time, every peer's download counter and connections. */
export function meshRun(
  shape: MeshShape,
  ms: number,
  cpuMs: number,
  downloads: DownloadCounter[],
  connections: number
): MeshRun {
  return {
    ms,
    cpuMs,
    blocksPerSecond: (blocksToMove(shape) * 1000) / ms,
    duplicates: downloads.reduce((sum, counter) => sum + counter.duplicates, 0),
    connections
  }
}

/** Corestore's `watch` (every core it opens, as the internal core), and a weak session of such a core. */
type Watching = Corestore & { watch(fn: (core: unknown) => void): void }
const WeakSession = HypercoreClass as unknown as new (options: {
  core: unknown
  weak: boolean
}) => Hypercore<unknown>

/**
 * Counts the downloads of each (core, block) on a store, through hypercore's
 * `download` events on a weak session of every core the store opens (counting
 * keeps nothing open, and costs raw and multifeed the same).
 */
export class DownloadCounter {
  readonly #seen = new Set<string>()
  total = 0
  duplicates = 0

  constructor(store: Corestore) {
    ;(store as Watching).watch((core) => {
      const session = new WeakSession({ core, weak: true })
      session.on('download', (index: number) => {
        const id = `${session.id}:${index}`
        this.total++
        if (this.#seen.has(id)) this.duplicates++
        else this.#seen.add(id)
      })
    })
  }
}
