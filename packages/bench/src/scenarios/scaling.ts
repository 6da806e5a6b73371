// Scenario 7, scaling curve: time (and CPU time) per feed at 1 block each
// against the number of feeds, and how flat the curve is from the second size
// on (max / min). The syncs are sync.ts's, shared with the other sync scenarios.
import { progress } from '../progress.js'
import { med } from '../statistics.js'
import { type Shape, shapeName, type Transport } from '../types.js'
import type { ScenarioContext } from './context.js'
import { sideErrors } from './rows.js'

const KiB = 1024

export async function scalingCurve(ctx: ScenarioContext): Promise<void> {
  progress('scenario 7: scaling curve')
  const { scaling, transports } = ctx.cfg
  const perFeed = new Map<Transport, { multi: number[]; raw: number[] }>()
  const cpuPerFeed = new Map<Transport, { multi: number[]; raw: number[] }>()
  for (const t of transports) {
    perFeed.set(t, { multi: [], raw: [] })
    cpuPerFeed.set(t, { multi: [], raw: [] })
  }
  for (const n of scaling) {
    const shape: Shape = { feeds: n, blocks: 1, blockSize: KiB }
    const samples = await ctx.syncShape(shape)
    for (const [t, s] of samples) {
      const multi = med(s.multi)
      const raw = med(s.raw)
      const pf = perFeed.get(t)!
      if (n >= scaling[1]!) {
        if (multi !== null) pf.multi.push(multi / n)
        if (raw !== null) pf.raw.push(raw / n)
        const cpf = cpuPerFeed.get(t)!
        const multiCpu = med(s.multiCpu ?? [])
        const rawCpu = med(s.rawCpu ?? [])
        if (multiCpu !== null) cpf.multi.push(multiCpu / n)
        if (rawCpu !== null) cpf.raw.push(rawCpu / n)
      }
      ctx.push({
        scenario: '7 scaling',
        case: shapeName(shape),
        transport: t,
        metric: 'time per feed',
        unit: 'ms/feed',
        multifeed: multi === null ? null : multi / n,
        raw: raw === null ? null : raw / n,
        target: null,
        samples: { multifeed: s.multi.map((v) => v / n), raw: s.raw.map((v) => v / n) },
        extra: {
          multifeedCpuPerFeedMs: (med(s.multiCpu ?? []) ?? Number.NaN) / n,
          rawCpuPerFeedMs: (med(s.rawCpu ?? []) ?? Number.NaN) / n
        },
        error: sideErrors(s.multiError, s.rawError)
      })
    }
  }
  for (const [t, pf] of perFeed) {
    const spread = (v: number[]) =>
      v.length === scaling.length - 1 ? Math.max(...v) / Math.min(...v) : null
    const multi = spread(pf.multi)
    ctx.push({
      scenario: '7 scaling',
      case: `max/min time per feed, ${scaling[1]!.toLocaleString('en-US')}..${scaling.at(-1)!.toLocaleString('en-US')} feeds`,
      transport: t,
      metric: 'flatness',
      unit: 'x',
      multifeed: multi,
      raw: spread(pf.raw),
      ratio: null,
      target: '≤ 2×',
      met: multi === null ? null : multi <= 2,
      samples: { multifeed: pf.multi, raw: pf.raw },
      error: multi === null ? 'multifeed: missing points on the curve' : undefined
    })
    const cpf = cpuPerFeed.get(t)!
    ctx.push({
      scenario: '7 scaling',
      case: `max/min CPU time per feed, ${scaling[1]!.toLocaleString('en-US')}..${scaling.at(-1)!.toLocaleString('en-US')} feeds`,
      transport: t,
      metric: 'flatness (CPU)',
      unit: 'x',
      multifeed: spread(cpf.multi),
      raw: spread(cpf.raw),
      ratio: null,
      target: null,
      samples: { multifeed: cpf.multi, raw: cpf.raw }
    })
  }
}
