// Scenarios 1 (bulk) and 2 (many feeds): the sync time and CPU time of a
// shape, multifeed against raw corestore; scenario 2 also like for like, both
// sources cold and both warm (README, "Many feeds, like for like").
import { progress } from '../progress.js'
import { med } from '../statistics.js'
import { type Row, type Shape, shapeName, type Transport } from '../types.js'
import type { ScenarioContext } from './context.js'
import type { ProcessSamples } from './process-syncs.js'
import { ratioOf, sideErrors } from './rows.js'
import type { Samples, Series } from './samples.js'
import { AS_BEFORE, seriesOf } from './sync.js'

export async function bulk(ctx: ScenarioContext): Promise<void> {
  progress('scenario 1: bulk')
  for (const shape of ctx.cfg.bulk) {
    if (ctx.cfg.transports.length) syncRows(ctx, '1 bulk', shape, await ctx.syncShape(shape))
    if (ctx.cfg.processIn.has(1)) processRows(ctx, '1 bulk', shape, await ctx.processShape(shape))
  }
}

export async function manyFeeds(ctx: ScenarioContext): Promise<void> {
  progress('scenario 2: many feeds')
  for (const shape of ctx.cfg.many) {
    if (ctx.cfg.transports.length) {
      syncRows(ctx, '2 many feeds', shape, await ctx.syncShape(shape, true))
    }
    if (ctx.cfg.processIn.has(2)) {
      processRows(ctx, '2 many feeds', shape, await ctx.processShape(shape))
    }
  }
}

/**
 * The ratio to raw corestore each scenario aims at (wall and CPU time): bulk
 * ≤ 1.05 (issue 4); the first sync of many feeds ≤ 1.10 (issue 13: the
 * serving side opens its lazy cores, raw holds them open).
 */
const TARGET_RATIO: Record<string, number> = { '1 bulk': 1.05, '2 many feeds': 1.1 }

/** The cores each writer side held open when the clock started, median over the reps. */
function openCounts(multi: Series, raw: Series): Record<string, number> {
  return {
    multifeedSourceCoresOpen: med(multi.open) ?? Number.NaN,
    rawSourceCoresOpen: med(raw.open) ?? Number.NaN
  }
}

/** A shape's rows on every transport: the pair as before, and scenario 2's like-for-like pairs. */
function syncRows(
  ctx: ScenarioContext,
  scenario: string,
  shape: Shape,
  samples: Map<Transport, Samples>
): void {
  for (const [t, s] of samples) {
    // The rows as they always were: raw's source warm; multifeed's cold in
    // scenario 2, as the last rep left it in the other scenarios.
    const multi = seriesOf(s, AS_BEFORE[1]!)
    const raw = seriesOf(s, AS_BEFORE[0]!)
    pairRows(ctx, scenario, shape, t, '', multi, raw, openCounts(multi, raw))
    if (!s.rawCold || !s.multiWarm) continue
    pairRows(ctx, scenario, shape, t, ', cold source', multi, s.rawCold, {
      comparison:
        'like for like, no feed core of the source open at the start: both source stores re-opened before the rep, each side opens the cores the reader asks for inside the clock',
      ...openCounts(multi, s.rawCold)
    })
    pairRows(ctx, scenario, shape, t, ', warm source', s.multiWarm, raw, {
      comparison:
        'like for like, every core of the source open at the start: raw holds its cores since setup, multifeed a session of every feed taken before the clock',
      ...openCounts(s.multiWarm, raw)
    })
  }
}

/** The sync time and CPU time rows of one pair of series (`suffix` ends the metric). */
function pairRows(
  ctx: ScenarioContext,
  scenario: string,
  shape: Shape,
  t: Transport,
  suffix: string,
  multi: Series,
  raw: Series,
  extra?: Row['extra']
): void {
  const error = sideErrors(multi.error, raw.error)
  // CPU time of the process (both peers) is steadier than wall time on this machine.
  const metrics = [
    ['sync time', 'ms'],
    ['CPU time (both peers)', 'cpu']
  ] as const
  for (const [metric, key] of metrics) {
    pushTimeRow(ctx, scenario, shape, t, `${metric}${suffix}`, multi[key], raw[key], extra, error)
  }
}

/** One row of times (ms) of multifeed against raw corestore, judged by the scenario's target ratio. */
function pushTimeRow(
  ctx: ScenarioContext,
  scenario: string,
  shape: Shape,
  transport: Row['transport'],
  metric: string,
  multi: number[],
  raw: number[],
  extra: Row['extra'] | undefined,
  error: string | undefined
): void {
  const target = TARGET_RATIO[scenario]!
  const ratio = ratioOf(med(multi), med(raw))
  ctx.push({
    scenario,
    case: shapeName(shape),
    transport,
    metric,
    unit: 'ms',
    multifeed: med(multi),
    raw: med(raw),
    target: `ratio ≤ ${target.toFixed(2)}`,
    met: ratio === null ? null : ratio <= target,
    samples: { multifeed: multi, raw },
    ...(extra ? { extra } : {}),
    error
  })
}

/**
 * The two-process rows (transport `process`): raw with its source warm against
 * multifeed with its source cold, the serving side in a child process. Wall
 * time, and each process's CPU time apart: the reader's (this process) and
 * the serving side's (the child).
 */
function processRows(
  ctx: ScenarioContext,
  scenario: string,
  shape: Shape,
  { multi, raw }: ProcessSamples
): void {
  const error = sideErrors(multi.error, raw.error)
  const metrics = [
    ['sync time', 'ms'],
    ['CPU time (reader process)', 'cpu'],
    ['CPU time (serving process)', 'sourceCpu']
  ] as const
  const extra = {
    comparison:
      'peers in two processes: the serving side in a child process, the reader in the bench process, one TCP connection on 127.0.0.1; raw holds its cores open, multifeed opens them when the reader asks',
    multifeedSourceCoresOpen: med(multi.open) ?? Number.NaN,
    rawSourceCoresOpen: med(raw.open) ?? Number.NaN
  }
  for (const [metric, key] of metrics) {
    pushTimeRow(ctx, scenario, shape, 'process', metric, multi[key], raw[key], extra, error)
  }
}
