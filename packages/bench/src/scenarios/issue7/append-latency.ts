// Scenarios 10 and 11 on one pair per side (held feeds, ../../latency.ts
// measures): 10, the first block appended right after a reconnect until the
// peer has it; 11, a live append until the peer's `append` event, on distinct
// not-yet-attached feeds and on one feed, median and p95.
import {
  type LiveLatency,
  multiFirstBlock,
  multiLiveLatency,
  rawFirstBlock,
  rawLiveLatency
} from '../../latency.js'
import { progress } from '../../progress.js'
import { MultiReconnectPair } from '../../reconnect.js'
import { RawReconnectPair } from '../../reconnect-raw.js'
import { med, percentile } from '../../statistics.js'
import { errorMessage, sideErrors } from '../rows.js'
import type { Issue7Context } from './context.js'
import { RELEASE_010 } from './release010.js'

export async function appendLatency(ctx: Issue7Context): Promise<void> {
  const { feeds, reps } = ctx.cfg.firstBlock
  const { timeoutMs, liveAppends } = ctx.cfg
  progress(`scenarios 10, 11: first block after a reconnect, live append latency (${feeds} feeds)`)
  let multiFirst: number[] = []
  let rawFirst: number[] = []
  let multiLive: LiveLatency = { cold: [], hot: [] }
  let rawLive: LiveLatency = { cold: [], hot: [] }
  const errors: Record<string, string> = {}
  try {
    const pair = await MultiReconnectPair.create(await ctx.core(), feeds, timeoutMs)
    try {
      if (ctx.only.has(10)) multiFirst = await multiFirstBlock(pair, reps, timeoutMs)
      if (ctx.only.has(11)) multiLive = await multiLiveLatency(pair, liveAppends, timeoutMs)
    } finally {
      await pair.close()
    }
  } catch (err) {
    errors.multi = errorMessage(err)
    progress(`  multifeed failed: ${errors.multi}`)
  }
  try {
    const pair = await RawReconnectPair.create(feeds, timeoutMs)
    try {
      if (ctx.only.has(10)) rawFirst = await rawFirstBlock(pair, reps, timeoutMs)
      if (ctx.only.has(11)) rawLive = await rawLiveLatency(pair, liveAppends, timeoutMs)
    } finally {
      await pair.close()
    }
  } catch (err) {
    errors.raw = errorMessage(err)
    progress(`  raw failed: ${errors.raw}`)
  }
  const error = sideErrors(errors.multi, errors.raw)
  const p95 = (v: number[]) => (v.length ? percentile(v, 95) : null)
  if (ctx.only.has(10)) {
    progress(
      `  first block: multifeed median ${med(multiFirst)?.toFixed(1)} ms, raw ${med(rawFirst)?.toFixed(1)} ms`
    )
    ctx.push({
      scenario: '10 first block',
      case: `${feeds} feeds, 1 block appended right after reconnecting (${reps} reconnects)`,
      transport: 'pipe',
      metric: 'append → block on the peer, median',
      unit: 'ms',
      multifeed: med(multiFirst),
      raw: med(rawFirst),
      release010: `${RELEASE_010.firstBlockMs[0]}–${RELEASE_010.firstBlockMs[1]} ms`,
      target: null,
      samples: { multifeed: multiFirst, raw: rawFirst },
      extra: {
        multifeedMax: multiFirst.length ? Math.max(...multiFirst) : Number.NaN,
        rawMax: rawFirst.length ? Math.max(...rawFirst) : Number.NaN
      },
      error
    })
  }
  if (ctx.only.has(11)) {
    for (const [kind, label] of [
      ['cold', `${liveAppends} appends, each on another feed (not attached yet)`],
      ['hot', `${liveAppends} appends on one feed (attached)`]
    ] as const) {
      const mv = multiLive[kind]
      const rv = rawLive[kind]
      const medM = med(mv)
      progress(
        `  live ${kind}: multifeed median ${medM?.toFixed(2)} ms p95 ${p95(mv)?.toFixed(2)} ms; raw ${med(rv)?.toFixed(2)} / ${p95(rv)?.toFixed(2)} ms`
      )
      const base = {
        scenario: '11 live latency',
        case: `${label}, ${feeds} feeds`,
        transport: 'pipe' as const
      }
      ctx.push({
        ...base,
        metric: 'append → peer append event, median',
        unit: 'ms',
        multifeed: medM,
        raw: med(rv),
        target: 'median ≤ 50 ms',
        met: medM === null ? null : medM <= 50,
        samples: { multifeed: mv, raw: rv },
        extra: { raw: "raw: the peer's core 'download' event (every core attached)" },
        error
      })
      ctx.push({
        ...base,
        metric: 'append → peer append event, p95',
        unit: 'ms',
        multifeed: p95(mv),
        raw: p95(rv),
        target: null,
        error
      })
    }
  }
}
