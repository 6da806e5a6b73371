// Scenarios 8–11 (issue 7): what a reconnect costs against the number of
// changes, what opening costs against the number of feeds, and how soon a
// block reaches the peer after a reconnect and on a live connection; each
// next to raw corestore and to release 0.1.0's figures. This runs the asked
// ones in order and collects their rows (the context each module gets).
import { now } from '../../clock.js'
import type { Row } from '../../types.js'
import { completeRow, type RowInput } from '../rows.js'
import { appendLatency } from './append-latency.js'
import type { Issue7Config } from './config.js'
import type { Core, Issue7Context } from './context.js'
import { openCost } from './open-cost.js'
import { reconnectAfterChanges } from './reconnect-after-d.js'

export class Issue7Runner implements Issue7Context {
  readonly rows: Row[] = []
  /** Wall time of each scenario run ("10, 11" when both ran together). */
  readonly scenarioMs: Record<string, number> = {}

  constructor(
    readonly cfg: Issue7Config,
    readonly only: Set<number>
  ) {}

  push(row: RowInput): void {
    // Issue 7's rows have always listed `samples` first in the JSON: kept so.
    this.rows.push(completeRow({ samples: { multifeed: [], raw: [] }, ...row }))
  }

  async core(): Promise<Core> {
    return import('@multifeed/core')
  }

  async run(): Promise<Row[]> {
    const latency = [10, 11].filter((n) => this.only.has(n)).join(', ')
    const scenarios: Array<[string, () => Promise<void>]> = [
      ['8', () => reconnectAfterChanges(this)],
      ['9', () => openCost(this)],
      [latency, () => appendLatency(this)]
    ]
    for (const [name, scenario] of scenarios) {
      if (!name.split(', ').some((n) => this.only.has(Number(n)))) continue
      const t0 = now()
      await scenario()
      this.scenarioMs[name] = now() - t0
    }
    return this.rows
  }
}
