// Scenarios 8–11 (issue 7): what a reconnect costs against the number of
// changes, what opening costs against the number of feeds, and how soon a
// block reaches the peer after a reconnect and on a live connection; each
// next to raw corestore and to release 0.1.0's figures. This runs the asked
// ones in order and collects their rows (the context each module gets).
import type { Row } from '../../types.js'
import { completeRow, type RowInput } from '../rows.js'
import { appendLatency } from './append-latency.js'
import type { Issue7Config } from './config.js'
import type { Core, Issue7Context } from './context.js'
import { openCost } from './open-cost.js'
import { reconnectAfterChanges } from './reconnect-after-d.js'

export class Issue7Runner implements Issue7Context {
  readonly rows: Row[] = []

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
    if (this.only.has(8)) await reconnectAfterChanges(this)
    if (this.only.has(9)) await openCost(this)
    if (this.only.has(10) || this.only.has(11)) await appendLatency(this)
    return this.rows
  }
}
