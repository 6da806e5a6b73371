// What a scenario of 8–11 gets from the run (Issue7Runner.ts): its
// configuration, which scenarios were asked for, a place for its rows and
// @multifeed/core.
import type { RowInput } from '../rows.js'
import type { Issue7Config } from './config.js'

export type Core = typeof import('@multifeed/core')

export interface Issue7Context {
  readonly cfg: Issue7Config
  /** The scenario numbers asked for (10 and 11 share a run, each reports only if asked). */
  readonly only: Set<number>
  push(row: RowInput): void
  core(): Promise<Core>
}
