// Scenario 9, open cost against the number of feeds: for each size, open time,
// RSS and heap after open and after the first sync, and the in-sync reconnect
// over TCP between two processes (../../open-scale.ts measures); then the RSS
// slope against n across the sizes.
import { type OpenMeasure, type OpenScaleSize, openScale } from '../../open-scale.js'
import { progress } from '../../progress.js'
import { med, slope } from '../../statistics.js'
import { sideErrors } from '../rows.js'
import type { Issue7Context } from './context.js'

const KiB = 1024
const MiB = 1024 * 1024

export async function openCost(ctx: Issue7Context): Promise<void> {
  progress(`scenario 9: open cost, ${ctx.cfg.openSizes.join(' / ')} feeds`)
  const sizes: OpenScaleSize[] = []
  for (const n of ctx.cfg.openSizes) {
    sizes.push(
      await openScale(
        n,
        ctx.cfg.reps,
        ctx.cfg.timeoutMs,
        ctx.cfg.openRawMax,
        n >= 100_000 ? 1 : ctx.cfg.reps,
        ctx.cfg.stallMs
      )
    )
  }
  const largest = Math.max(...ctx.cfg.openSizes)
  for (const size of sizes) {
    const { n } = size
    const error = sideErrors(size.multiError, size.rawError)
    const base = {
      scenario: '9 open',
      case: `${n.toLocaleString('en-US')} feeds`,
      transport: 'disk' as const
    }
    const at100k = n >= 100_000
    const m = size.multi
    const r = size.raw
    const pick = (list: OpenMeasure[], f: (x: OpenMeasure) => number) => list.map(f)
    const openMs = med(pick(m, (x) => x.openMs))
    ctx.push({
      ...base,
      metric: 'open time',
      unit: 'ms',
      multifeed: openMs,
      raw: med(pick(r, (x) => x.openMs)),
      target: at100k ? '≤ 1 s' : null,
      met: at100k && openMs !== null ? openMs <= 1000 : null,
      samples: { multifeed: pick(m, (x) => x.openMs), raw: pick(r, (x) => x.openMs) },
      extra: {
        multifeed: 'Multifeed.open() resolved (no core opened)',
        raw: 'new Corestore, then get({ key }) + ready() of every core',
        multifeedBuiltByAddMs: size.buildMs.multi ?? Number.NaN,
        rawBuildMs: size.buildMs.raw ?? Number.NaN
      },
      error
    })
    const rss = med(pick(m, (x) => x.rssOpen / MiB))
    ctx.push({
      ...base,
      metric: 'RSS after open (whole process)',
      unit: 'MiB',
      multifeed: rss,
      raw: med(pick(r, (x) => x.rssOpen / MiB)),
      target: at100k ? '≤ 200 MB' : null,
      met: at100k && rss !== null ? rss * MiB <= 200e6 : null,
      samples: {
        multifeed: pick(m, (x) => x.rssOpen / MiB),
        raw: pick(r, (x) => x.rssOpen / MiB)
      },
      extra: {
        multifeedRssBeforeMiB: med(pick(m, (x) => x.rssBefore / MiB)) ?? Number.NaN,
        rawRssBeforeMiB: med(pick(r, (x) => x.rssBefore / MiB)) ?? Number.NaN
      },
      error
    })
    ctx.push({
      ...base,
      metric: 'heap growth after open (after gc)',
      unit: 'MiB',
      multifeed: med(pick(m, (x) => (x.heapOpen - x.heapBefore) / MiB)),
      raw: med(pick(r, (x) => (x.heapOpen - x.heapBefore) / MiB)),
      target: null,
      samples: {
        multifeed: pick(m, (x) => (x.heapOpen - x.heapBefore) / MiB),
        raw: pick(r, (x) => (x.heapOpen - x.heapBefore) / MiB)
      },
      error
    })
    ctx.push({
      ...base,
      metric: 'RSS after the first sync (whole process)',
      unit: 'MiB',
      multifeed: med(pick(m, (x) => x.rssSync / MiB)),
      raw: med(pick(r, (x) => x.rssSync / MiB)),
      target: null,
      samples: {
        multifeed: pick(m, (x) => x.rssSync / MiB),
        raw: pick(r, (x) => x.rssSync / MiB)
      },
      extra: {
        multifeedHeapGrowthMiB:
          med(pick(m, (x) => (x.heapSync - x.heapBefore) / MiB)) ?? Number.NaN,
        rawHeapGrowthMiB: med(pick(r, (x) => (x.heapSync - x.heapBefore) / MiB)) ?? Number.NaN,
        multifeedCoresOpen: med(pick(m, (x) => x.syncCores)) ?? Number.NaN,
        rawCoresOpen: med(pick(r, (x) => x.syncCores)) ?? Number.NaN
      },
      error
    })
    const sync = med(m.map((x) => x.syncMs ?? Number.NaN))
    ctx.push({
      ...base,
      metric: 'in-sync reconnect after open (TCP, two processes)',
      unit: 'ms',
      multifeed: sync,
      raw: med(r.map((x) => x.syncMs ?? Number.NaN)),
      target: at100k ? '≤ 1 s' : null,
      met: at100k && sync !== null ? sync <= 1000 : null,
      samples: {
        multifeed: m.map((x) => x.syncMs ?? Number.NaN),
        raw: r.map((x) => x.syncMs ?? Number.NaN)
      },
      extra: {
        multifeedWireBytes: med(m.map((x) => x.wireBytes)) ?? Number.NaN,
        rawWireBytes: med(r.map((x) => x.wireBytes)) ?? Number.NaN,
        multifeedStalledOverPlainTcp: size.multiStalls,
        note: size.multiStalls
          ? 'stalled repetitions re-run with frames split one per macrotask (findings issue 7 §1)'
          : 'plain TCP'
      },
      error
    })
  }
  // RSS against n: slope of a least-squares line through the sizes.
  for (const [metric, f] of [
    ['RSS slope after open', (x: OpenMeasure) => x.rssOpen],
    ['RSS slope after the first sync', (x: OpenMeasure) => x.rssSync]
  ] as const) {
    const points = (side: 'multi' | 'raw') =>
      sizes.flatMap((s) => {
        const v = med(s[side].map(f))
        return v === null ? [] : [[s.n, v] as [number, number]]
      })
    const ms = slope(points('multi'))
    const rs = slope(points('raw'))
    ctx.push({
      scenario: '9 open',
      case: `${ctx.cfg.openSizes.map((n) => n.toLocaleString('en-US')).join(' → ')} feeds`,
      transport: 'disk',
      metric,
      unit: 'KiB/feed',
      multifeed: ms === null ? null : ms / KiB,
      raw: rs === null ? null : rs / KiB,
      target: null,
      extra: { largest },
      ...(ms === null ? { error: 'multifeed: fewer than two sizes measured' } : {})
    })
  }
}
