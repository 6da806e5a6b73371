export type Transport = 'pipe' | 'swarm'

/** A replication workload: `feeds` cores of `blocks` blocks of `blockSize` bytes each. */
export interface Shape {
  feeds: number
  blocks: number
  blockSize: number
}

export function shapeName(shape: Shape): string {
  const size = shape.blockSize === 1024 ? '1 KiB' : `${shape.blockSize} B`
  return `${shape.feeds.toLocaleString('en-US')} feeds × ${shape.blocks.toLocaleString('en-US')} blocks × ${size}`
}

/** One line of the results table. */
export interface Row {
  /** Scenario number and name, e.g. "1 bulk". */
  scenario: string
  /** What was measured, e.g. "50 feeds × 1,000 blocks × 1 KiB". */
  case: string
  /**
   * `process`: the serving side in a child process, over TCP on 127.0.0.1 (scenarios 1, 2);
   * `cpu`: measured in this process alone, no connection (scenario 17's verification).
   */
  transport: Transport | 'process' | 'disk' | 'cpu'
  /** What the numbers are, e.g. "sync time". */
  metric: string
  unit: 'ms' | 'µs' | 'B' | 'KiB/feed' | 'ms/feed' | 'x' | 'count' | 'MiB' | 'rt' | 'blocks/s'
  /** Median over the repetitions (null when not applicable or failed). */
  multifeed: number | null
  raw: number | null
  /** multifeed / raw when both exist. */
  ratio: number | null
  /** Release 0.1.0's figure for the same measurement, as text (issue 7 scenarios). */
  release010?: string
  target: string | null
  /** Whether the target is met; null when there is no target or no number. */
  met: boolean | null
  samples: { multifeed: number[]; raw: number[] }
  extra?: Record<string, number | string>
  error?: string
}

export interface Results {
  date: string
  command: string
  /** Git commit of the run (`+dirty` when packages/ had uncommitted changes). */
  commit: string | null
  /** The commit when the run ended; differs from `commit` if the libraries changed meanwhile. */
  commitAtEnd: string | null
  mode: 'full' | 'quick'
  reps: number
  node: string
  platform: string
  cpus: number
  memoryGiB: number
  tmpRoot: string
  durationMs: number
  /** 1-minute load average when the run started and ended (absent in older results). */
  loadAverage?: { start: number; end: number }
  /** Wall time of each scenario (or group run together, e.g. "10, 11"), absent in older results. */
  scenarioMs?: Record<string, number>
  rows: Row[]
}

/** Called inside a measured sync, right after synced, before the teardown (e.g. to stop a profiler). */
export interface SyncHooks {
  synced?: () => Promise<void>
}
