// The configuration of scenarios 1–3, 6, 7 and 12–17: which run, how often, at which sizes
// (full or --quick). Scenarios 8–11 have their own: issue7/config.ts.
import type { MeshShape } from '../mesh/shape.js'
import type { Shape, Transport } from '../types.js'

export interface Config {
  quick: boolean
  reps: number
  /** Per measured sync. */
  timeoutMs: number
  transports: Transport[]
  /** Scenario numbers to run (1–3, 6, 7, 12–16). */
  only: Set<number>
  /** Scenarios (of 1 and 2) that also sync with the source in a child process (transport `process`). */
  processIn: Set<number>
  /** 1 feed × many blocks, and several feeds × many blocks. */
  bulk: Shape[]
  many: Shape[]
  discovery: number
  manyMulti: { count: number; feeds: number; blocks: number }
  scaling: number[]
  /** Scenario 12: meshes, every peer connected to every other. */
  mesh: MeshShape[]
  /** Scenario 13: the encrypted set a mirror follows. */
  mirror: Shape
  /**
   * Scenario 14: one mirror process of `sets` × `feeds` (raw corestore measured `rawReps`
   * times at most; a reconnect not in sync after `stallMs` is re-run with frames split).
   */
  mirrorScale: { sets: number; feeds: number; rawReps: number; stallMs: number }
  /** Scenario 15: bulk shapes synced as a plain and as an encrypted set. */
  encryption: Shape[]
  /** Scenario 16: the entries a reader gets from a mirror, against from the writer. */
  mirrorReader: Shape[]
  /** Scenario 17: moderated sets (issue 14). */
  moderation: ModerationConfig
}

export interface ModerationConfig {
  /** A block in a mesh: members, blocks (rounds), and the blocked feed's blocks × bytes. */
  mesh: { peers: number; rounds: number; entries: number; blockSize: number }
  /** Feeds of the reconnecting pair (one block each), and the records held at each in-sync reconnect. */
  feeds: number
  records: number[]
  /** New records made while apart (reconnect after d new records, at the most records held). */
  ds: number[]
  /** Records verified. */
  verify: number
}

const KiB = 1024

export function config(opts: {
  quick: boolean
  reps?: number
  transports?: Transport[]
  only?: number[]
  processIn?: number[]
}): Config {
  const quick = opts.quick
  const bulk: Shape[] = quick
    ? [
        { feeds: 1, blocks: 200, blockSize: KiB },
        { feeds: 4, blocks: 50, blockSize: KiB }
      ]
    : [
        { feeds: 1, blocks: 50_000, blockSize: KiB },
        { feeds: 50, blocks: 1000, blockSize: KiB }
      ]
  return {
    quick,
    reps: opts.reps ?? (quick ? 1 : 3),
    timeoutMs: quick ? 60_000 : 600_000,
    transports: opts.transports ?? ['pipe', 'swarm'],
    only: new Set(opts.only ?? [1, 2, 3, 6, 7, 12, 13, 14, 15, 16, 17]),
    processIn: new Set(opts.processIn ?? [2]),
    bulk,
    many: quick
      ? [
          { feeds: 20, blocks: 5, blockSize: KiB },
          { feeds: 50, blocks: 1, blockSize: KiB }
        ]
      : [
          { feeds: 1000, blocks: 10, blockSize: KiB },
          { feeds: 10000, blocks: 1, blockSize: KiB }
        ],
    discovery: quick ? 10 : 100,
    manyMulti: quick ? { count: 5, feeds: 4, blocks: 5 } : { count: 100, feeds: 10, blocks: 10 },
    scaling: quick ? [5, 10, 20, 50] : [10, 100, 1000, 10000],
    // The README's demo mesh (`pnpm demo --peers 6 --multifeeds 10 --feeds 2 --entries 500`,
    // 64-byte entries) and a 20-peer mesh.
    mesh: quick
      ? [
          { peers: 3, multifeeds: 2, feeds: 1, entries: 20, blockSize: 64 },
          { peers: 5, multifeeds: 1, feeds: 1, entries: 20, blockSize: 64 }
        ]
      : [
          { peers: 6, multifeeds: 10, feeds: 2, entries: 500, blockSize: 64 },
          { peers: 20, multifeeds: 2, feeds: 1, entries: 250, blockSize: 64 }
        ],
    // Issue 15: a mirror following 1,000 feeds × 100 entries of 64 bytes.
    mirror: quick
      ? { feeds: 20, blocks: 10, blockSize: 64 }
      : { feeds: 1000, blocks: 100, blockSize: 64 },
    // Issue 15, scale of a mirror: 1,000 sets × 100 feeds in one process.
    mirrorScale: quick
      ? { sets: 20, feeds: 10, rawReps: 1, stallMs: 3_000 }
      : { sets: 1000, feeds: 100, rawReps: 1, stallMs: 20_000 },
    // Scenario 1's bulk shapes.
    encryption: bulk,
    // 10,000 entries of 64 B: one writer's, and 100 writers' (a chat).
    mirrorReader: quick
      ? [{ feeds: 1, blocks: 100, blockSize: 64 }]
      : [
          { feeds: 1, blocks: 10_000, blockSize: 64 },
          { feeds: 100, blocks: 100, blockSize: 64 }
        ],
    // Issue 14's figures: a 10-peer mesh, 10,000 feeds with 0 / 1,000 / 10,000 records,
    // d = 1, 10, 100, 1,000 new records, 10,000 records verified.
    moderation: quick
      ? {
          mesh: { peers: 4, rounds: 3, entries: 20, blockSize: KiB },
          feeds: 100,
          records: [0, 10, 100],
          ds: [1, 10],
          verify: 1000
        }
      : {
          mesh: { peers: 10, rounds: 20, entries: 100, blockSize: KiB },
          feeds: 10_000,
          records: [0, 1000, 10_000],
          ds: [1, 10, 100, 1000],
          verify: 10_000
        }
  }
}
