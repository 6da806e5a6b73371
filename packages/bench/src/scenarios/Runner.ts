// Runs scenarios 1–3, 6, 7 and 12–17 in order and collects their rows: the context each
// scenario module gets (context.ts) — multifeed's side loaded once, the
// shape syncs measured once a run (sync.ts), the rows completed (rows.ts).
import { now } from '../clock.js'
import type { Row, Shape, Transport } from '../types.js'
import { bulk, manyFeeds } from './bulk-and-many-feeds.js'
import type { Config } from './config.js'
import type { MultiModule, ScenarioContext } from './context.js'
import { discovery } from './discovery.js'
import { encryptionCost } from './encryption.js'
import { manyMultifeeds } from './many-multifeeds.js'
import { meshes } from './mesh.js'
import { mirrorReader, mirrors } from './mirror.js'
import { mirrorAtScale } from './mirror-scale.js'
import { moderation } from './moderation.js'
import { type ProcessSamples, ProcessSyncs } from './process-syncs.js'
import { completeRow, errorMessage, type RowInput } from './rows.js'
import type { Samples } from './samples.js'
import { scalingCurve } from './scaling.js'
import { ShapeSyncs } from './sync.js'

export class Runner implements ScenarioContext {
  readonly rows: Row[] = []
  /** Wall time of each scenario run, by its number. */
  readonly scenarioMs: Record<string, number> = {}
  private multiModule: MultiModule | null = null
  private multiLoadError: string | null = null
  private readonly syncs: ShapeSyncs
  private readonly processSyncs: ProcessSyncs

  constructor(readonly cfg: Config) {
    this.syncs = new ShapeSyncs(cfg, () => this.multi())
    this.processSyncs = new ProcessSyncs(cfg)
  }

  async multi(): Promise<MultiModule> {
    if (this.multiModule) return this.multiModule
    if (this.multiLoadError) throw new Error(this.multiLoadError)
    try {
      this.multiModule = await import('../multi.js')
      return this.multiModule
    } catch (err) {
      this.multiLoadError = `cannot load @multifeed/core or @multifeed/networker: ${errorMessage(err)}`
      throw new Error(this.multiLoadError)
    }
  }

  push(row: RowInput): void {
    this.rows.push(completeRow(row))
  }

  syncShape(shape: Shape, likeForLike = false): Promise<Map<Transport, Samples>> {
    return this.syncs.measure(shape, likeForLike)
  }

  processShape(shape: Shape): Promise<ProcessSamples> {
    return this.processSyncs.measure(shape)
  }

  async run(): Promise<Row[]> {
    const { only } = this.cfg
    const scenarios: Array<[number, (ctx: ScenarioContext) => Promise<void>]> = [
      [1, bulk],
      [2, manyFeeds],
      [3, discovery],
      [6, manyMultifeeds],
      [7, scalingCurve],
      [12, meshes],
      [13, mirrors],
      [14, mirrorAtScale],
      [15, encryptionCost],
      [16, mirrorReader],
      [17, moderation]
    ]
    for (const [n, scenario] of scenarios) {
      if (!only.has(n)) continue
      const t0 = now()
      await scenario(this)
      this.scenarioMs[n] = now() - t0
    }
    return this.rows
  }
}
