// Scenario 8's rows: per d, the multifeed protocol bytes against issue 7's
// targets, all wire bytes, round trips (lockstep runs counted, timed runs
// derived), cores attached, time to reconciled and to downloaded; then the
// in-sync reconnect after a restart. Samples from reconnect-after-d.ts.
import type { ReconnectSample } from '../../reconnect.js'
import { med } from '../../statistics.js'
import { sideErrors } from '../rows.js'
import type { Issue7Context } from './context.js'
import { fmtBytes010, RELEASE_010 } from './release010.js'

const KiB = 1024

/** Issue 7's target for the protocol bytes of a reconnect after d changes (none for d = 0). */
function protocolTarget(d: number): { text: string; limit: number } | null {
  if (d === 1) return { text: '≤ 1 KiB', limit: KiB }
  if (d === 10) return { text: '≤ 4 KiB', limit: 4 * KiB }
  if (d === 100) return { text: '≤ 32 KiB', limit: 32 * KiB }
  return null
}

/** The rows of one d: the timed runs (`d<d>`) and the lockstep runs (`d<d>-lockstep`) of both sides. */
export function reconnectRows(
  ctx: Issue7Context,
  n: number,
  d: number,
  multi: Map<string, ReconnectSample[]>,
  raw: Map<string, ReconnectSample[]>,
  multiErrors: Map<string, string>,
  rawErrors: Map<string, string>
): void {
  const m = multi.get(`d${d}`) ?? []
  const r = raw.get(`d${d}`) ?? []
  const ml = (multi.get(`d${d}-lockstep`) ?? []).map((s) => (s.flights ?? Number.NaN) / 2)
  const rl = (raw.get(`d${d}-lockstep`) ?? []).map((s) => (s.flights ?? Number.NaN) / 2)
  const errorFor = (key: string): string | undefined =>
    sideErrors(
      multiErrors.get(key) ?? multiErrors.get('setup'),
      rawErrors.get(key) ?? rawErrors.get('setup')
    )
  const error = errorFor(`d${d}`)
  const plan = m[0] ?? r[0]
  const caseName = `d = ${d}, ${n.toLocaleString('en-US')} feeds${plan && d > 0 ? ` (${plan.adds} added, ${plan.grows} grown)` : ''}`
  const base = { scenario: '8 reconnect', case: caseName, transport: 'pipe' as const }
  const protocol = med(m.map((s) => s.protocolBytes ?? 0))
  const target = protocolTarget(d)
  ctx.push({
    ...base,
    metric: 'multifeed protocol bytes (both ways, pairing incl.)',
    unit: 'B',
    multifeed: protocol,
    raw: null,
    release010: fmtBytes010(RELEASE_010.protocolBytes[d] ?? Number.NaN),
    target: target?.text ?? null,
    met: target && protocol !== null ? protocol <= target.limit : null,
    samples: { multifeed: m.map((s) => s.protocolBytes ?? 0), raw: [] },
    extra: {
      pairingBytes: med(m.map((s) => s.pairingBytes ?? 0)) ?? Number.NaN,
      symbols: med(m.map((s) => s.symbols ?? 0)) ?? Number.NaN,
      elementDifferences: plan ? plan.adds + 2 * plan.grows : Number.NaN,
      release010Bytes: RELEASE_010.protocolBytes[d] ?? Number.NaN
    },
    error
  })
  const wire = med(m.map((s) => s.wireBytes))
  ctx.push({
    ...base,
    metric: 'all wire bytes (both ways, until downloaded)',
    unit: 'B',
    multifeed: wire,
    raw: med(r.map((s) => s.wireBytes)),
    ...(d === 0 ? { release010: fmtBytes010(RELEASE_010.inSyncWireBytes) } : {}),
    target: d === 0 ? '≤ 1 KiB' : null,
    met: d === 0 && wire !== null ? wire <= KiB : null,
    samples: { multifeed: m.map((s) => s.wireBytes), raw: r.map((s) => s.wireBytes) },
    ...(d === 0 ? { extra: { release010Bytes: RELEASE_010.inSyncWireBytes } } : {}),
    error
  })
  const worst = (v: number[]) => (v.length ? Math.max(...v) : null)
  // Timed runs: a decoder that needed more symbols asked once per extra round trip
  // (responder's messages beyond its open and its elements).
  const more = m.map((s) => (s.messages && d > 0 ? Math.max(0, s.messages[1] - 2) : 0))
  const timedRt = m.map(
    (s) => (d === 0 ? 1 : 1.5) + (s.messages && d > 0 ? Math.max(0, s.messages[1] - 2) : 0)
  )
  // The worst of the lockstep runs (counted) and of the timed runs (derived from messages).
  const rt = worst([...ml, ...(m.length ? timedRt : [])])
  ctx.push({
    ...base,
    metric: 'round trips after the handshake (worst run)',
    unit: 'rt',
    multifeed: rt,
    raw: worst(rl),
    samples: { multifeed: ml, raw: rl },
    target: d === 0 ? '1' : '≤ 2',
    met: rt === null ? null : d === 0 ? rt <= 1 : rt <= 2,
    extra: {
      method:
        'lockstep runs: one-way flights until both sides reconciled, after the Noise handshake, / 2; timed runs: 1.5 + the responder’s requests for more symbols (1 in sync)',
      multifeedMessagesA: med(m.map((s) => s.messages?.[0] ?? 0)) ?? Number.NaN,
      multifeedMessagesB: med(m.map((s) => s.messages?.[1] ?? 0)) ?? Number.NaN,
      multifeedMedian: med(ml) ?? Number.NaN,
      timedRunsWithExtraSymbolRequests: more.filter((x) => x > 0).length,
      timedRunsMaxRoundTrips: d === 0 ? 1 : 1.5 + Math.max(0, ...more)
    },
    error: errorFor(`d${d}-lockstep`)
  })
  ctx.push({
    ...base,
    metric: 'cores attached (both sides)',
    unit: 'count',
    multifeed: med(m.map((s) => s.coresAttached)),
    raw: med(r.map((s) => s.coresAttached)),
    target: null,
    samples: { multifeed: m.map((s) => s.coresAttached), raw: r.map((s) => s.coresAttached) },
    extra: { multifeedOpenCoresAfter: med(m.map((s) => s.openCores)) ?? Number.NaN },
    error
  })
  const recA = m.map((s) => s.reconciledMs[0])
  const recB = m.map((s) => s.reconciledMs[1])
  ctx.push({
    ...base,
    metric: 'time to reconciled (both sides)',
    unit: 'ms',
    multifeed: med(m.map((s) => Math.max(...s.reconciledMs))),
    raw: med(r.map((s) => Math.max(...s.reconciledMs))),
    target: null,
    samples: {
      multifeed: m.map((s) => Math.max(...s.reconciledMs)),
      raw: r.map((s) => Math.max(...s.reconciledMs))
    },
    extra: {
      multifeedA: med(recA) ?? Number.NaN,
      multifeedB: med(recB) ?? Number.NaN,
      raw: 'every core of each side knows the remote length'
    },
    error
  })
  ctx.push({
    ...base,
    metric: 'time to downloaded (both sides)',
    unit: 'ms',
    multifeed: med(m.map((s) => s.downloadedMs)),
    raw: med(r.map((s) => s.downloadedMs)),
    target: null,
    samples: { multifeed: m.map((s) => s.downloadedMs), raw: r.map((s) => s.downloadedMs) },
    error
  })
}

/** The rows of the reconnect after a restart (both sides closed and re-opened). */
export function restartRows(
  ctx: Issue7Context,
  n: number,
  m: ReconnectSample[],
  r: ReconnectSample[],
  multiErrors: Map<string, string>,
  rawErrors: Map<string, string>
): void {
  const error = sideErrors(
    multiErrors.get('restart') ?? multiErrors.get('setup'),
    rawErrors.get('restart') ?? rawErrors.get('setup')
  )
  const base = {
    scenario: '8 reconnect',
    case: `in sync after a restart, ${n.toLocaleString('en-US')} feeds`,
    transport: 'pipe' as const
  }
  ctx.push({
    ...base,
    metric: 'open + reconnect until downloaded (both sides)',
    unit: 'ms',
    multifeed: med(m.map((s) => s.downloadedMs)),
    raw: med(r.map((s) => s.downloadedMs)),
    release010: `${(RELEASE_010.restartDownloadedMs / 1000).toFixed(1)} s`,
    target: null,
    samples: { multifeed: m.map((s) => s.downloadedMs), raw: r.map((s) => s.downloadedMs) },
    extra: {
      multifeedOpenMs: med(m.map((s) => s.openMs ?? 0)) ?? Number.NaN,
      rawOpenMs: med(r.map((s) => s.openMs ?? 0)) ?? Number.NaN,
      raw: 'new Corestore + get() + ready() of every core, then store.replicate()'
    },
    error
  })
  ctx.push({
    ...base,
    metric: 'all wire bytes (both ways)',
    unit: 'B',
    multifeed: med(m.map((s) => s.wireBytes)),
    raw: med(r.map((s) => s.wireBytes)),
    release010: fmtBytes010(RELEASE_010.inSyncWireBytes),
    target: '≤ 1 KiB',
    met: m.length ? (med(m.map((s) => s.wireBytes)) ?? Infinity) <= KiB : null,
    samples: { multifeed: m.map((s) => s.wireBytes), raw: r.map((s) => s.wireBytes) },
    error
  })
}
