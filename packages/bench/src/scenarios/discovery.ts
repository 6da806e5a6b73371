// Scenario 3, discovery latency: a feed created on A (`writer()` resolved)
// until B's `feed` event, on a live connection, median and p99; raw: the key
// handed over in process, B opens the core, until its `peer-add`.
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import { rawDiscovery } from '../raw.js'
import { med, median, percentile } from '../statistics.js'
import type { ScenarioContext } from './context.js'
import { errorMessage, sideErrors } from './rows.js'
import type { Samples } from './samples.js'

export async function discovery(ctx: ScenarioContext): Promise<void> {
  progress('scenario 3: discovery latency')
  const { discovery: count, transports, timeoutMs } = ctx.cfg
  for (const t of transports) {
    const s: Samples = { multi: [], raw: [] }
    let fromCall: number[] = []
    let early = 0
    const loopback = t === 'swarm' ? await Loopback.create() : null
    try {
      try {
        s.raw = await rawDiscovery(count, t, loopback, timeoutMs)
        progress(`  discovery ${t}: raw median ${fmtMs(median(s.raw))}`)
      } catch (err) {
        s.rawError = errorMessage(err)
        progress(`  discovery ${t} raw failed: ${s.rawError}`)
      }
      try {
        const mod = await ctx.multi()
        const res = await mod.multiDiscovery(count, t, loopback, timeoutMs)
        s.multi = res.latencies
        fromCall = res.fromCall
        early = res.early
        progress(`  discovery ${t}: multifeed median ${fmtMs(median(s.multi))}`)
      } catch (err) {
        s.multiError = errorMessage(err)
        progress(`  discovery ${t} multifeed failed: ${s.multiError}`)
      }
    } finally {
      await loopback?.close()
    }
    const caseName = `${count} new feeds on a live connection`
    const error = sideErrors(s.multiError, s.rawError)
    const medMulti = med(s.multi)
    ctx.push({
      scenario: '3 discovery',
      case: caseName,
      transport: t,
      metric: 'latency median',
      unit: 'ms',
      multifeed: medMulti,
      raw: med(s.raw),
      target: 'median ≤ 50 ms',
      met: medMulti === null ? null : medMulti <= 50,
      samples: { multifeed: s.multi, raw: s.raw },
      extra: {
        multifeed: 'writer() resolved on A → feed event on B',
        raw: 'key handed over → B opens core → peer-add',
        multifeedFromWriterCallMedianMs: med(fromCall) ?? Number.NaN,
        multifeedFromWriterCallP99Ms: fromCall.length ? percentile(fromCall, 99) : Number.NaN,
        multifeedArrivedBeforeWriterResolved: early
      },
      error
    })
    ctx.push({
      scenario: '3 discovery',
      case: caseName,
      transport: t,
      metric: 'latency p99',
      unit: 'ms',
      multifeed: s.multi.length ? percentile(s.multi, 99) : null,
      raw: s.raw.length ? percentile(s.raw, 99) : null,
      target: null,
      samples: { multifeed: [], raw: [] },
      error
    })
  }
}
