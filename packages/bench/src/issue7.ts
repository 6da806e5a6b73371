// Scenarios 8–11 (issue 7): what a reconnect costs against the number of
// changes, what opening costs against the number of feeds, and how soon a
// block reaches the peer after a reconnect and on a live connection; each
// next to raw corestore and to release 0.1.0's figures.

import {
  type LiveLatency,
  multiFirstBlock,
  multiLiveLatency,
  rawFirstBlock,
  rawLiveLatency
} from './latency.js'
import { type OpenMeasure, type OpenScaleSize, openScale } from './open-scale.js'
import { progress } from './progress.js'
import { MultiReconnectPair, type ReconnectOptions, type ReconnectSample } from './reconnect.js'
import { RawReconnectPair } from './reconnect-raw.js'
import { median, percentile } from './statistics.js'
import type { Row } from './types.js'

type Core = typeof import('@multifeed/core')

export const ISSUE7_SCENARIOS = [8, 9, 10, 11]

export interface Issue7Config {
  quick: boolean
  reps: number
  timeoutMs: number
  /** Scenario 8: feeds held by both peers, and the numbers of changes. */
  reconnect: { n: number; ds: number[] }
  /** Lockstep link: a step is delivered once both sides were quiet this long. */
  quietMs: number
  /** Scenario 9: sizes; raw corestore is measured up to `openRawMax` feeds. */
  openSizes: number[]
  openRawMax: number
  /** Scenarios 10 and 11: feeds held by both peers, reconnects, appends. */
  firstBlock: { feeds: number; reps: number }
  liveAppends: number
  /** Scenario 9: a multifeed sync over TCP not done after this is a pairing stall (re-run split). */
  stallMs: number
}

export function issue7Config(opts: { quick: boolean; reps?: number | undefined }): Issue7Config {
  const { quick } = opts
  return {
    quick,
    reps: opts.reps ?? (quick ? 1 : 3),
    timeoutMs: quick ? 60_000 : 300_000,
    reconnect: quick ? { n: 100, ds: [0, 1, 10] } : { n: 10_000, ds: [0, 1, 10, 100] },
    quietMs: quick ? 30 : 100,
    openSizes: quick ? [100, 1000] : [1000, 10_000, 100_000],
    openRawMax: 100_000,
    firstBlock: quick ? { feeds: 20, reps: 3 } : { feeds: 200, reps: 10 },
    liveAppends: quick ? 10 : 50,
    stallMs: quick ? 3_000 : 20_000
  }
}

/** Release 0.1.0 on this machine, as issue 7 states them (KB and MB read as 10³ and 10⁶ bytes). */
export const RELEASE_010 = {
  /** Multifeed protocol bytes of a reconnect with d changes (d = 0: BENCHMARKS.md of 0.1.0). */
  protocolBytes: { 0: 138, 1: 640_000, 10: 641_000, 100: 648_000 } as Record<number, number>,
  /** All wire bytes of an in-sync reconnect at 10,000 feeds. */
  inSyncWireBytes: 2_040_000,
  /** Until downloaded() after a restart, 10,000 feeds. */
  restartDownloadedMs: 7_800,
  /** First new block after a reconnect, 200 feeds (raw corestore then: 24 ms). */
  firstBlockMs: [480, 840] as const
}

const KiB = 1024
const MiB = 1024 * 1024

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

function med(values: number[]): number | null {
  return values.length ? median(values) : null
}

function protocolTarget(d: number): { text: string; limit: number } | null {
  if (d === 1) return { text: '≤ 1 KiB', limit: KiB }
  if (d === 10) return { text: '≤ 4 KiB', limit: 4 * KiB }
  if (d === 100) return { text: '≤ 32 KiB', limit: 32 * KiB }
  return null
}

function fmtBytes010(bytes: number): string {
  return bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(2)} MB`
    : bytes >= 1e3
      ? `${bytes / 1e3} KB`
      : `${bytes} B`
}

/** Least-squares slope of y against x. */
function slope(points: Array<[number, number]>): number | null {
  if (points.length < 2) return null
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? null : num / den
}

type RowInput = Omit<Row, 'ratio' | 'met' | 'samples'> & {
  met?: boolean | null
  samples?: Row['samples']
}

export class Issue7Runner {
  readonly rows: Row[] = []

  constructor(
    readonly cfg: Issue7Config,
    readonly only: Set<number>
  ) {}

  private push(row: RowInput): void {
    const ratio =
      row.multifeed !== null && row.raw !== null && row.raw > 0 ? row.multifeed / row.raw : null
    const full: Row = {
      samples: { multifeed: [], raw: [] },
      ...row,
      ratio,
      met: row.met ?? null
    }
    if (full.error === undefined) delete full.error
    this.rows.push(full)
  }

  private async core(): Promise<Core> {
    return import('@multifeed/core')
  }

  async run(): Promise<Row[]> {
    if (this.only.has(8)) await this.reconnect()
    if (this.only.has(9)) await this.openScale()
    if (this.only.has(10) || this.only.has(11)) await this.latency()
    return this.rows
  }

  // ---- 8: reconnect after d changes --------------------------------------

  /**
   * Runs the reconnect series on one pair (multifeed or raw). A failure is
   * recorded for that d (timed or lockstep runs) and the series goes on.
   */
  private async series(
    label: string,
    pair: MultiReconnectPair | RawReconnectPair,
    results: Map<string, ReconnectSample[]>,
    errors: Map<string, string>
  ): Promise<void> {
    const { reps, timeoutMs, quietMs } = this.cfg
    const timed: ReconnectOptions = { lockstep: false, quietMs, timeoutMs }
    // A lockstep reconnect takes a few hundred ms of quiet periods: 2 minutes means stuck.
    const lockstep: ReconnectOptions = {
      lockstep: true,
      quietMs,
      timeoutMs: Math.min(timeoutMs, 120_000)
    }
    for (const d of this.cfg.reconnect.ds) {
      for (const [id, opts] of [
        [`d${d}`, timed],
        [`d${d}-lockstep`, lockstep]
      ] as const) {
        try {
          for (let rep = 0; rep < reps; rep++) {
            const s = await pair.reconnect(d, opts, await pair.change(d))
            results.set(id, [...(results.get(id) ?? []), s])
            progress(
              opts.lockstep
                ? `  reconnect ${label} d=${d} lockstep rep ${rep + 1}: ${s.flights} one-way flights after the handshake`
                : `  reconnect ${label} d=${d} rep ${rep + 1}: ${s.protocolBytes ?? '—'} protocol B, ${s.wireBytes} wire B, reconciled ${Math.max(...s.reconciledMs).toFixed(0)} ms, downloaded ${s.downloadedMs.toFixed(0)} ms, ${s.coresAttached} cores attached`
            )
          }
        } catch (err) {
          errors.set(id, errorMessage(err))
          progress(`  reconnect ${label} ${id} failed: ${errors.get(id)}`)
        }
      }
    }
    try {
      for (let rep = 0; rep < reps; rep++) {
        const s = await pair.restart(timed)
        results.set('restart', [...(results.get('restart') ?? []), s])
        progress(
          `  reconnect ${label} after restart rep ${rep + 1}: open ${s.openMs?.toFixed(0)} ms, downloaded ${s.downloadedMs.toFixed(0)} ms, ${s.wireBytes} wire B`
        )
      }
    } catch (err) {
      errors.set('restart', errorMessage(err))
      progress(`  reconnect ${label} after restart failed: ${errors.get('restart')}`)
    }
  }

  async reconnect(): Promise<void> {
    const { n } = this.cfg.reconnect
    const { timeoutMs } = this.cfg
    progress(`scenario 8: reconnect after d changes, ${n} feeds`)
    const multi = new Map<string, ReconnectSample[]>()
    const raw = new Map<string, ReconnectSample[]>()
    const multiErrors = new Map<string, string>()
    const rawErrors = new Map<string, string>()
    try {
      progress(`  setup: ${n} multifeed writers (half on each side) of one block, first sync`)
      const pair = await MultiReconnectPair.create(await this.core(), n, timeoutMs)
      try {
        await this.series('multifeed', pair, multi, multiErrors)
      } finally {
        await pair.close()
      }
    } catch (err) {
      multiErrors.set('setup', errorMessage(err))
      progress(`  multifeed setup failed: ${multiErrors.get('setup')}`)
    }
    try {
      progress(
        `  setup: ${n} raw cores (half on each side) of one block, every core open, first sync`
      )
      const pair = await RawReconnectPair.create(n, timeoutMs)
      try {
        await this.series('raw', pair, raw, rawErrors)
      } finally {
        await pair.close()
      }
    } catch (err) {
      rawErrors.set('setup', errorMessage(err))
      progress(`  raw setup failed: ${rawErrors.get('setup')}`)
    }
    for (const d of this.cfg.reconnect.ds)
      this.reconnectRows(n, d, multi, raw, multiErrors, rawErrors)
    this.restartRows(
      n,
      multi.get('restart') ?? [],
      raw.get('restart') ?? [],
      multiErrors,
      rawErrors
    )
  }

  private reconnectRows(
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
    const errorFor = (key: string): string | undefined => {
      const e = [
        multiErrors.get(key) ?? multiErrors.get('setup'),
        rawErrors.get(key) ?? rawErrors.get('setup')
      ]
      if (!e[0] && !e[1]) return undefined
      return [e[0] && `multifeed: ${e[0]}`, e[1] && `raw: ${e[1]}`].filter(Boolean).join('; ')
    }
    const error = errorFor(`d${d}`)
    const plan = m[0] ?? r[0]
    const caseName = `d = ${d}, ${n.toLocaleString('en-US')} feeds${plan && d > 0 ? ` (${plan.adds} added, ${plan.grows} grown)` : ''}`
    const base = { scenario: '8 reconnect', case: caseName, transport: 'pipe' as const }
    const protocol = med(m.map((s) => s.protocolBytes ?? 0))
    const target = protocolTarget(d)
    this.push({
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
    this.push({
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
    this.push({
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
    this.push({
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
    this.push({
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
    this.push({
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

  private restartRows(
    n: number,
    m: ReconnectSample[],
    r: ReconnectSample[],
    multiErrors: Map<string, string>,
    rawErrors: Map<string, string>
  ): void {
    const errs = [
      multiErrors.get('restart') ?? multiErrors.get('setup'),
      rawErrors.get('restart') ?? rawErrors.get('setup')
    ]
    const error =
      errs[0] || errs[1]
        ? [errs[0] && `multifeed: ${errs[0]}`, errs[1] && `raw: ${errs[1]}`]
            .filter(Boolean)
            .join('; ')
        : undefined
    const base = {
      scenario: '8 reconnect',
      case: `in sync after a restart, ${n.toLocaleString('en-US')} feeds`,
      transport: 'pipe' as const
    }
    this.push({
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
    this.push({
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

  // ---- 9: open cost against the number of feeds ----------------------------

  async openScale(): Promise<void> {
    progress(`scenario 9: open cost, ${this.cfg.openSizes.join(' / ')} feeds`)
    const sizes: OpenScaleSize[] = []
    for (const n of this.cfg.openSizes) {
      sizes.push(
        await openScale(
          n,
          this.cfg.reps,
          this.cfg.timeoutMs,
          this.cfg.openRawMax,
          n >= 100_000 ? 1 : this.cfg.reps,
          this.cfg.stallMs
        )
      )
    }
    const largest = Math.max(...this.cfg.openSizes)
    for (const size of sizes) {
      const { n } = size
      const error =
        [
          size.multiError && `multifeed: ${size.multiError}`,
          size.rawError && `raw: ${size.rawError}`
        ]
          .filter(Boolean)
          .join('; ') || undefined
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
      this.push({
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
      this.push({
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
      this.push({
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
      this.push({
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
      this.push({
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
      this.push({
        scenario: '9 open',
        case: `${this.cfg.openSizes.map((n) => n.toLocaleString('en-US')).join(' → ')} feeds`,
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

  // ---- 10, 11: first block after a reconnect, live latency ----------------

  async latency(): Promise<void> {
    const { feeds, reps } = this.cfg.firstBlock
    const { timeoutMs, liveAppends } = this.cfg
    progress(
      `scenarios 10, 11: first block after a reconnect, live append latency (${feeds} feeds)`
    )
    let multiFirst: number[] = []
    let rawFirst: number[] = []
    let multiLive: LiveLatency = { cold: [], hot: [] }
    let rawLive: LiveLatency = { cold: [], hot: [] }
    const errors: Record<string, string> = {}
    try {
      const pair = await MultiReconnectPair.create(await this.core(), feeds, timeoutMs)
      try {
        if (this.only.has(10)) multiFirst = await multiFirstBlock(pair, reps, timeoutMs)
        if (this.only.has(11)) multiLive = await multiLiveLatency(pair, liveAppends, timeoutMs)
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
        if (this.only.has(10)) rawFirst = await rawFirstBlock(pair, reps, timeoutMs)
        if (this.only.has(11)) rawLive = await rawLiveLatency(pair, liveAppends, timeoutMs)
      } finally {
        await pair.close()
      }
    } catch (err) {
      errors.raw = errorMessage(err)
      progress(`  raw failed: ${errors.raw}`)
    }
    const error =
      [errors.multi && `multifeed: ${errors.multi}`, errors.raw && `raw: ${errors.raw}`]
        .filter(Boolean)
        .join('; ') || undefined
    const p95 = (v: number[]) => (v.length ? percentile(v, 95) : null)
    if (this.only.has(10)) {
      progress(
        `  first block: multifeed median ${med(multiFirst)?.toFixed(1)} ms, raw ${med(rawFirst)?.toFixed(1)} ms`
      )
      this.push({
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
    if (this.only.has(11)) {
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
        this.push({
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
        this.push({
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
}
