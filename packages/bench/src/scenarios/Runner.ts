// Runs scenarios 1–7 and 12 in order and collects their rows: the context each
// scenario module gets (context.ts) — multifeed's side loaded once, the
// shape syncs measured once a run (sync.ts), the rows completed (rows.ts).
import type { Row, Shape, Transport } from '../types.js'
import { bulk, manyFeeds } from './bulk-and-many-feeds.js'
import type { Config } from './config.js'
import type { MultiModule, ScenarioContext } from './context.js'
import { discovery } from './discovery.js'
import { manyMultifeeds } from './many-multifeeds.js'
import { meshes } from './mesh.js'
import { reconnectAndOpen } from './reconnect-and-open.js'
import { completeRow, errorMessage, type RowInput } from './rows.js'
import type { Samples } from './samples.js'
import { scalingCurve } from './scaling.js'
import { ShapeSyncs } from './sync.js'

export class Runner implements ScenarioContext {
  readonly rows: Row[] = []
  private multiModule: MultiModule | null = null
  private multiLoadError: string | null = null
  private readonly syncs: ShapeSyncs

  constructor(readonly cfg: Config) {
    this.syncs = new ShapeSyncs(cfg, () => this.multi())
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

  async run(): Promise<Row[]> {
    const { only } = this.cfg
    if (only.has(1)) await bulk(this)
    if (only.has(2)) await manyFeeds(this)
    if (only.has(3)) await discovery(this)
    if (only.has(4) || only.has(5)) await reconnectAndOpen(this)
    if (only.has(6)) await manyMultifeeds(this)
    if (only.has(7)) await scalingCurve(this)
    if (only.has(12)) await meshes(this)
    return this.rows
  }
}
