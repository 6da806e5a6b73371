// Scenario 14 (issue 15, "scale of a mirror"): one mirror process holding
// `sets` encrypted sets of `feeds` feeds each, in one corestore: its open time
// and RSS, and its in-sync reconnect (time and wire bytes, both ways) over one
// connection to a peer holding every set. Raw corestore: one store of the same
// cores on each side, every core opened (../mirror-scale.ts measures).
import { type MirrorScaleResult, mirrorScale, type PairMeasure } from '../mirror-scale.js'
import { progress } from '../progress.js'
import { med } from '../statistics.js'
import type { ScenarioContext } from './context.js'
import { sideErrors } from './rows.js'

const SCENARIO = '14 mirror scale'
const MiB = 2 ** 20
const KiB = 1024

export async function mirrorAtScale(ctx: ScenarioContext): Promise<void> {
  const { sets, feeds, rawReps, stallMs } = ctx.cfg.mirrorScale
  progress(`scenario 14: a mirror of ${sets} sets × ${feeds} feeds in one process`)
  const res = await mirrorScale({
    sets,
    feeds,
    reps: ctx.cfg.reps,
    rawReps: Math.min(rawReps, ctx.cfg.reps),
    timeoutMs: ctx.cfg.timeoutMs,
    stallMs
  })
  pushRows(ctx, res)
}

function pushRows(ctx: ScenarioContext, res: MirrorScaleResult): void {
  const base = {
    scenario: SCENARIO,
    case: `${res.sets.toLocaleString('en-US')} sets × ${res.feeds.toLocaleString('en-US')} feeds`,
    transport: 'disk' as const,
    error: sideErrors(res.multiError, res.rawError)
  }
  const full = res.sets >= 1000 && res.feeds >= 100
  const row = (
    metric: string,
    unit: 'ms' | 'MiB' | 'B' | 'count',
    f: (x: PairMeasure) => number,
    target: { text: string; max: number } | null,
    extra?: Record<string, number | string>
  ) => {
    const m = res.mirror.map(f)
    const r = res.raw.map(f)
    const value = med(m)
    const held = full ? target : null
    ctx.push({
      ...base,
      metric,
      unit,
      multifeed: value,
      raw: med(r),
      target: held?.text ?? null,
      met: held && value !== null ? value <= held.max : null,
      samples: { multifeed: m, raw: r },
      ...(extra ? { extra } : {})
    })
  }
  row(
    'open time (every set)',
    'ms',
    (x) => x.openMs,
    { text: '≤ 2 s', max: 2000 },
    {
      multifeed: 'new Corestore, then Multifeed.open(store, mirrorKey) of every set, one by one',
      raw: 'new Corestore, then get({ key }) + ready() of every core',
      multifeedBuildMs: res.buildMs.multi ?? Number.NaN,
      rawBuildMs: res.buildMs.raw ?? Number.NaN
    }
  )
  row('RSS after open (whole process)', 'MiB', (x) => x.rssOpen / MiB, {
    text: '≤ 300 MB',
    max: 300e6 / MiB
  })
  row('heap growth after open (after gc)', 'MiB', (x) => (x.heapOpen - x.heapBefore) / MiB, null)
  row(
    'in-sync reconnect after open (TCP, two processes)',
    'ms',
    (x) => x.syncMs ?? Number.NaN,
    {
      text: '≤ 1 s',
      max: 1000
    },
    {
      multifeed: 'connect → every set reconciled (in sync), one connection',
      raw: 'connect → every core heard the peer is synced',
      multifeedStalledOverPlainTcp: res.stalls
    }
  )
  row(
    'in-sync reconnect wire bytes (both ways)',
    'B',
    (x) => x.wireBytes + x.peerWireBytes,
    { text: '≤ 200 KiB', max: 200 * KiB },
    { note: 'Noise handshake, framing and MACs included' }
  )
  row('RSS after the reconnect (whole process)', 'MiB', (x) => x.rssSync / MiB, null)
  row('cores open after the reconnect', 'count', (x) => x.syncCores, null)
}
