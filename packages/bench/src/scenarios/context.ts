// What a scenario of 1–3, 6, 7, 12, 13 or 14 gets from the run (Runner.ts): its configuration, a
// place for its rows, multifeed's side loaded once, and the shared, cached
// sync measurement of a shape (sync.ts).
import type { Shape, Transport } from '../types.js'
import type { Config } from './config.js'
import type { ProcessSamples } from './process-syncs.js'
import type { RowInput } from './rows.js'
import type { Samples } from './samples.js'

/** The multifeed side of every scenario (`../multi.ts`), loaded on first use. */
export type MultiModule = typeof import('../multi.js')

export interface ScenarioContext {
  readonly cfg: Config
  push(row: RowInput): void
  /**
   * `../multi.js` (@multifeed/core and @multifeed/networker), imported once; after a
   * failed import every call rejects with that error, so each scenario records it.
   */
  multi(): Promise<MultiModule>
  /** One shape synced on every transport, `reps` times, measured once per run (see sync.ts). */
  syncShape(shape: Shape, likeForLike?: boolean): Promise<Map<Transport, Samples>>
  /** One shape synced from a source in a child process, `reps` times, measured once per run (process-syncs.ts). */
  processShape(shape: Shape): Promise<ProcessSamples>
}
