import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Loopback } from './net.js'
import { progress } from './progress.js'
import { RawReconnect, RawSource, rawDiscovery, rawSync, type SourceTemperature } from './raw.js'
import { median, percentile } from './statistics.js'
import { rmDir, tmpDir } from './tempStorage.js'
import { type Row, type Shape, shapeName, type Transport } from './types.js'

type MultiModule = typeof import('./multi.js')

export interface Config {
  quick: boolean
  reps: number
  /** Per measured sync. */
  timeoutMs: number
  transports: Transport[]
  /** Scenario numbers to run (1..7). */
  only: Set<number>
  /** 1 feed × many blocks, and several feeds × many blocks. */
  bulk: Shape[]
  many: Shape[]
  discovery: number
  /** Feeds held by both peers in the reconnect scenario, and opened in the open scenario. */
  fixture: number
  manyMulti: { count: number; feeds: number; blocks: number }
  scaling: number[]
}

const KiB = 1024

export function config(opts: {
  quick: boolean
  reps?: number
  transports?: Transport[]
  only?: number[]
}): Config {
  const quick = opts.quick
  return {
    quick,
    reps: opts.reps ?? (quick ? 1 : 3),
    timeoutMs: quick ? 60_000 : 600_000,
    transports: opts.transports ?? ['pipe', 'swarm'],
    only: new Set(opts.only ?? [1, 2, 3, 4, 5, 6, 7]),
    bulk: quick
      ? [
          { feeds: 1, blocks: 200, blockSize: KiB },
          { feeds: 4, blocks: 50, blockSize: KiB }
        ]
      : [
          { feeds: 1, blocks: 50_000, blockSize: KiB },
          { feeds: 50, blocks: 1000, blockSize: KiB }
        ],
    many: quick
      ? [
          { feeds: 20, blocks: 5, blockSize: KiB },
          { feeds: 50, blocks: 1, blockSize: KiB }
        ]
      : [
          { feeds: 1000, blocks: 10, blockSize: KiB },
          { feeds: 10000, blocks: 1, blockSize: KiB }
        ],
    discovery: quick ? 10 : 100,
    fixture: quick ? 50 : 10000,
    manyMulti: quick ? { count: 5, feeds: 4, blocks: 5 } : { count: 100, feeds: 10, blocks: 10 },
    scaling: quick ? [5, 10, 20, 50] : [10, 100, 1000, 10000]
  }
}

interface Samples {
  multi: number[]
  raw: number[]
  /** CPU time of the process (both peers) during each measurement, when recorded. */
  multiCpu?: number[]
  rawCpu?: number[]
  multiError?: string
  rawError?: string
  /** Cores the writer side held open when each measurement's clock started (sync scenarios). */
  multiOpen?: number[]
  rawOpen?: number[]
  /**
   * Scenario 2's like-for-like pairs: raw with its source cold, multifeed with
   * its source warm (`raw` is then raw warm, `multi` multifeed cold).
   */
  rawCold?: Series
  multiWarm?: Series
}

/** One side's measurements at one source temperature. */
interface Series {
  ms: number[]
  cpu: number[]
  /** Cores the writer side held open when the clock started. */
  open: number[]
  error?: string
}

/** A sync measurement of one side at one source temperature (null: the source as the last rep left it). */
interface SyncRun {
  side: 'raw' | 'multi'
  temperature: SourceTemperature | null
}

/** What scenario 2 measures per rep; the order is reversed on odd reps. */
const LIKE_FOR_LIKE: SyncRun[] = [
  { side: 'raw', temperature: 'cold' },
  { side: 'multi', temperature: 'cold' },
  { side: 'raw', temperature: 'warm' },
  { side: 'multi', temperature: 'warm' }
]

/** Scenarios 1, 6 and 7: raw's source warm, multifeed's as the last rep left it. */
const AS_BEFORE: SyncRun[] = [
  { side: 'raw', temperature: null },
  { side: 'multi', temperature: null }
]

const emptySeries = (): Series => ({ ms: [], cpu: [], open: [] })

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`
}

function ratioOf(multi: number | null, raw: number | null): number | null {
  return multi !== null && raw !== null && raw > 0 ? multi / raw : null
}

function med(values: number[]): number | null {
  return values.length ? median(values) : null
}

/** Where `run`'s measurements go in `s` (the default pair is `raw` / `multi`). */
function seriesOf(s: Samples, run: SyncRun): Series {
  if (run.side === 'raw' && run.temperature === 'cold') return s.rawCold!
  if (run.side === 'multi' && run.temperature === 'warm') return s.multiWarm!
  const [ms, cpu, open, error] =
    run.side === 'raw'
      ? (['raw', 'rawCpu', 'rawOpen', 'rawError'] as const)
      : (['multi', 'multiCpu', 'multiOpen', 'multiError'] as const)
  return {
    ms: s[ms],
    cpu: s[cpu]!,
    open: s[open]!,
    get error() {
      return s[error]
    },
    set error(e) {
      s[error] = e
    }
  }
}

/** The cores each writer side held open when the clock started, median over the reps. */
function openCounts(multi: Series, raw: Series): Record<string, number> {
  return {
    multifeedSourceCoresOpen: med(multi.open) ?? Number.NaN,
    rawSourceCoresOpen: med(raw.open) ?? Number.NaN
  }
}

function errorOf(s: { multiError?: string; rawError?: string }): string | undefined {
  const parts = []
  if (s.multiError) parts.push(`multifeed: ${s.multiError}`)
  if (s.rawError) parts.push(`raw: ${s.rawError}`)
  return parts.length ? parts.join('; ') : undefined
}

export class Runner {
  readonly rows: Row[] = []
  private multiModule: MultiModule | null = null
  private multiLoadError: string | null = null
  private readonly syncCache = new Map<string, Map<Transport, Samples>>()

  constructor(readonly cfg: Config) {}

  private async multi(): Promise<MultiModule> {
    if (this.multiModule) return this.multiModule
    if (this.multiLoadError) throw new Error(this.multiLoadError)
    try {
      this.multiModule = await import('./multi.js')
      return this.multiModule
    } catch (err) {
      this.multiLoadError = `cannot load @multifeed/core or @multifeed/networker: ${errorMessage(err)}`
      throw new Error(this.multiLoadError)
    }
  }

  private push(row: Omit<Row, 'ratio' | 'met'> & { ratio?: number | null; met?: boolean | null }) {
    const full: Row = {
      ...row,
      ratio: row.ratio !== undefined ? row.ratio : ratioOf(row.multifeed, row.raw),
      met: row.met ?? null
    }
    if (full.error === undefined) delete full.error
    this.rows.push(full)
  }

  async run(): Promise<Row[]> {
    const { only } = this.cfg
    if (only.has(1)) await this.bulk()
    if (only.has(2)) await this.manyFeeds()
    if (only.has(3)) await this.discovery()
    if (only.has(4) || only.has(5)) await this.reconnectAndOpen()
    if (only.has(6)) await this.manyMultifeeds()
    if (only.has(7)) await this.scaling()
    return this.rows
  }

  /**
   * Measures one shape on every transport, `reps` times each, through raw
   * corestore and through multifeed (alternating which goes first). Cached, so
   * scenarios sharing a shape measure it once (a like-for-like measurement
   * serves a plain one: its `multi` and `raw` are multifeed cold and raw warm).
   *
   * `likeForLike` (scenario 2): each rep measures raw and multifeed with the
   * source cold (store re-opened, no feed core open) and warm (every core held
   * open), interleaved. Otherwise raw's source is warm and multifeed's is as
   * the last rep left it: the cores it served stay open in corestore for a few
   * seconds after a sync, so a rep that follows another multifeed rep closely
   * finds some or all of them open.
   */
  async syncShape(shape: Shape, likeForLike = false): Promise<Map<Transport, Samples>> {
    const cacheKey = `${shape.feeds}x${shape.blocks}x${shape.blockSize}`
    const cached = this.syncCache.get(cacheKey)
    if (cached && (!likeForLike || [...cached.values()].every((s) => s.rawCold))) return cached
    const { reps, transports, timeoutMs } = this.cfg
    const result = new Map<Transport, Samples>()
    for (const t of transports) {
      result.set(t, {
        multi: [],
        raw: [],
        multiCpu: [],
        rawCpu: [],
        multiOpen: [],
        rawOpen: [],
        ...(likeForLike ? { rawCold: emptySeries(), multiWarm: emptySeries() } : {})
      })
    }
    const name = shapeName(shape)
    const runs = likeForLike ? LIKE_FOR_LIKE : AS_BEFORE

    progress(`setup ${name}: writing raw source`)
    const raw = await RawSource.create(shape)
    let multiSource: Awaited<ReturnType<MultiModule['MultiSource']['create']>> | null = null
    let mod: MultiModule | null = null
    try {
      mod = await this.multi()
      progress(`setup ${name}: writing multifeed source`)
      multiSource = await mod.MultiSource.create(shape)
    } catch (err) {
      for (const s of result.values()) s.multiError = errorMessage(err)
      progress(`  multifeed setup failed: ${errorMessage(err)}`)
    }
    const loopback = transports.includes('swarm') ? await Loopback.create() : null
    try {
      for (let rep = 0; rep < reps; rep++) {
        for (const t of transports) {
          const s = result.get(t)!
          const order = rep % 2 === 0 ? runs : [...runs].reverse()
          for (const run of order) {
            const series = seriesOf(s, run)
            if (series.error) continue
            const label = `${run.side === 'raw' ? 'raw' : 'multifeed'}${run.temperature ? ` ${run.temperature}` : ''}`
            try {
              let res: { ms: number; cpuMs: number; sourceOpen: number }
              if (run.side === 'raw') {
                if (run.temperature) await raw.prepare(run.temperature)
                res = await rawSync(raw, t, loopback, timeoutMs)
              } else {
                if (!mod || !multiSource) continue
                if (run.temperature) await multiSource.prepare(run.temperature)
                res = await mod.multiSync(multiSource, t, loopback, timeoutMs)
              }
              series.ms.push(res.ms)
              series.cpu.push(res.cpuMs)
              series.open.push(res.sourceOpen)
              progress(
                `  ${name} ${t} rep ${rep + 1}/${reps}: ${label} ${fmtMs(res.ms)} (cpu ${fmtMs(res.cpuMs)}, ${res.sourceOpen} source cores open)`
              )
            } catch (err) {
              series.error = errorMessage(err)
              progress(`  ${name} ${t} ${label} failed: ${series.error}`)
            }
          }
        }
      }
    } finally {
      await loopback?.close()
      await multiSource?.close().catch(() => {})
      await raw.close()
    }
    this.syncCache.set(cacheKey, result)
    return result
  }

  private syncRows(scenario: string, shape: Shape, samples: Map<Transport, Samples>): void {
    for (const [t, s] of samples) {
      // The rows as they always were: raw's source warm; multifeed's cold in
      // scenario 2, as the last rep left it in the other scenarios.
      const multi = seriesOf(s, AS_BEFORE[1]!)
      const raw = seriesOf(s, AS_BEFORE[0]!)
      this.pairRows(scenario, shape, t, '', multi, raw, openCounts(multi, raw))
      if (!s.rawCold || !s.multiWarm) continue
      this.pairRows(scenario, shape, t, ', cold source', multi, s.rawCold, {
        comparison:
          'like for like, no feed core of the source open at the start: both source stores re-opened before the rep, each side opens the cores the reader asks for inside the clock',
        ...openCounts(multi, s.rawCold)
      })
      this.pairRows(scenario, shape, t, ', warm source', s.multiWarm, raw, {
        comparison:
          'like for like, every core of the source open at the start: raw holds its cores since setup, multifeed a session of every feed taken before the clock',
        ...openCounts(s.multiWarm, raw)
      })
    }
  }

  /** The sync time and CPU time rows of one pair of series (`suffix` ends the metric). */
  private pairRows(
    scenario: string,
    shape: Shape,
    t: Transport,
    suffix: string,
    multi: Series,
    raw: Series,
    extra?: Row['extra']
  ): void {
    const error = errorOf({ multiError: multi.error, rawError: raw.error })
    // CPU time of the process (both peers) is steadier than wall time on this machine.
    const metrics = [
      ['sync time', 'ms'],
      ['CPU time (both peers)', 'cpu']
    ] as const
    for (const [metric, key] of metrics) {
      const ratio = ratioOf(med(multi[key]), med(raw[key]))
      this.push({
        scenario,
        case: shapeName(shape),
        transport: t,
        metric: `${metric}${suffix}`,
        unit: 'ms',
        multifeed: med(multi[key]),
        raw: med(raw[key]),
        target: 'ratio ≤ 1.05',
        met: ratio === null ? null : ratio <= 1.05,
        samples: { multifeed: multi[key], raw: raw[key] },
        ...(extra ? { extra } : {}),
        error
      })
    }
  }

  async bulk(): Promise<void> {
    progress('scenario 1: bulk')
    for (const shape of this.cfg.bulk) {
      this.syncRows('1 bulk', shape, await this.syncShape(shape))
    }
  }

  async manyFeeds(): Promise<void> {
    progress('scenario 2: many feeds')
    for (const shape of this.cfg.many) {
      this.syncRows('2 many feeds', shape, await this.syncShape(shape, true))
    }
  }

  async discovery(): Promise<void> {
    progress('scenario 3: discovery latency')
    const { discovery: count, transports, timeoutMs } = this.cfg
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
          const mod = await this.multi()
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
      const error = errorOf(s)
      const medMulti = med(s.multi)
      this.push({
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
      this.push({
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

  /** Scenarios 4 and 5 share one fixture: two stores holding the same feeds. */
  async reconnectAndOpen(): Promise<void> {
    const { fixture: n, transports, reps, timeoutMs, only } = this.cfg
    const shape: Shape = { feeds: n, blocks: 1, blockSize: KiB }
    const caseName = `${n.toLocaleString('en-US')} feeds`
    progress(`scenario 4/5: setup, two peers holding the same ${caseName}`)
    const raw = await RawSource.create(shape)
    const rawRc = await RawReconnect.create(raw, timeoutMs)
    let mod: MultiModule | null = null
    let source: Awaited<ReturnType<MultiModule['MultiSource']['create']>> | null = null
    let rc: Awaited<ReturnType<MultiModule['MultiReconnect']['create']>> | null = null
    let multiError: string | undefined
    try {
      mod = await this.multi()
      source = await mod.MultiSource.create(shape)
      progress(`  multifeed source written, syncing B once (setup)`)
      rc = await mod.MultiReconnect.create(source, timeoutMs)
    } catch (err) {
      multiError = errorMessage(err)
      progress(`  multifeed setup failed: ${multiError}`)
    }

    if (only.has(4)) {
      progress('scenario 4: reconnect in sync')
      for (const t of transports) {
        const loopback = t === 'swarm' ? await Loopback.create() : null
        const m = {
          ms: [] as number[],
          bytes: [] as number[],
          wire: [] as number[],
          msgs: [] as number[],
          replicating: [] as number[]
        }
        const r = { ms: [] as number[], wire: [] as number[] }
        const s: Samples = { multi: [], raw: [], multiError }
        let added = 0
        try {
          for (let rep = 0; rep < reps; rep++) {
            if (!s.rawError) {
              try {
                const res = await rawRc.measure(t, loopback, timeoutMs)
                r.ms.push(res.ms)
                r.wire.push(res.wireBytes)
                progress(
                  `  reconnect ${t} rep ${rep + 1}: raw ${fmtMs(res.ms)}, ${res.wireBytes} wire B`
                )
              } catch (err) {
                s.rawError = errorMessage(err)
              }
            }
            if (!s.multiError && rc) {
              try {
                const res = await rc.measure(t, loopback, timeoutMs)
                m.ms.push(res.ms)
                m.bytes.push(res.protocolBytes)
                m.wire.push(res.wireBytes)
                m.msgs.push(res.messages)
                m.replicating.push(res.replicatingMs)
                added += res.added
                progress(
                  `  reconnect ${t} rep ${rep + 1}: multifeed synced ${fmtMs(res.ms)}, ${res.protocolBytes} protocol B in ${res.messages} messages; every core replicating ${fmtMs(res.replicatingMs)}, ${res.wireBytes} wire B`
                )
              } catch (err) {
                s.multiError = errorMessage(err)
                progress(`  reconnect ${t} multifeed failed: ${s.multiError}`)
              }
            }
          }
        } finally {
          await loopback?.close()
        }
        const error = errorOf(s)
        const bytes = med(m.bytes)
        this.push({
          scenario: '4 reconnect',
          case: caseName,
          transport: t,
          metric: 'multifeed protocol bytes',
          unit: 'B',
          multifeed: bytes,
          raw: null,
          target: '≤ 1 KiB',
          met: bytes === null ? null : bytes <= 1024,
          samples: { multifeed: m.bytes, raw: [] },
          extra: { messages: med(m.msgs) ?? Number.NaN, feedsAddedOnReconnect: added },
          error
        })
        this.push({
          scenario: '4 reconnect',
          case: caseName,
          transport: t,
          metric: 'time to both peers synced',
          unit: 'ms',
          multifeed: med(m.ms),
          raw: null,
          target: null,
          samples: { multifeed: m.ms, raw: [] },
          error
        })
        this.push({
          scenario: '4 reconnect',
          case: caseName,
          transport: t,
          metric: 'time to every core replicating',
          unit: 'ms',
          multifeed: med(m.replicating),
          raw: med(r.ms),
          target: null,
          samples: { multifeed: m.replicating, raw: r.ms },
          extra: { definition: 'every core on both sides has a peer that sees its length' },
          error
        })
        this.push({
          scenario: '4 reconnect',
          case: caseName,
          transport: t,
          metric: 'wire bytes until every core replicating',
          unit: 'B',
          multifeed: med(m.wire),
          raw: med(r.wire),
          target: null,
          samples: { multifeed: m.wire, raw: r.wire },
          error
        })
      }
    }

    // Close everything, keeping the reader directories for the open scenario.
    const rawDir = await rawRc.closeKeep()
    const rawKeys = raw.keys.map((k) => k.toString('hex'))
    await raw.close()
    let multiDir: string | null = null
    let multiKey: string | null = null
    let localDir: string | null = null
    if (rc && source) {
      multiKey = source.multi.key.toString('hex')
      multiDir = await rc.closeKeep()
      localDir = await source.closeKeep()
    } else {
      await source?.close().catch(() => {})
    }

    try {
      if (only.has(5)) await this.open(n, rawDir, rawKeys, multiDir, multiKey, localDir, multiError)
    } finally {
      await rmDir(rawDir)
      if (multiDir) await rmDir(multiDir)
      if (localDir) await rmDir(localDir)
    }
    void mod
  }

  private async open(
    n: number,
    rawDir: string,
    rawKeys: string[],
    multiDir: string | null,
    multiKey: string | null,
    localDir: string | null,
    multiError: string | undefined
  ): Promise<void> {
    progress('scenario 5: open')
    const { reps } = this.cfg
    const caseName = `${n.toLocaleString('en-US')} feeds`
    const keysDir = await tmpDir('keys')
    const keysFile = join(keysDir, 'keys.txt')
    await writeFile(keysFile, `${rawKeys.join('\n')}\n`)
    const raw: OpenResult[] = []
    const remote: OpenResult[] = []
    const local: OpenResult[] = []
    const s: Samples = { multi: [], raw: [], multiError }
    let localError: string | undefined
    try {
      for (let rep = 0; rep < reps; rep++) {
        if (!s.rawError) {
          try {
            const res = await openChild('raw', rawDir, keysFile, n)
            raw.push(res)
            progress(`  open rep ${rep + 1}: raw ${fmtMs(res.ms)}`)
          } catch (err) {
            s.rawError = errorMessage(err)
          }
        }
        if (!s.multiError && multiDir && multiKey) {
          try {
            const res = await openChild('multi', multiDir, multiKey, n)
            remote.push(res)
            progress(`  open rep ${rep + 1}: multifeed (remote feeds) ${fmtMs(res.ms)}`)
          } catch (err) {
            s.multiError = errorMessage(err)
            progress(`  open multifeed failed: ${s.multiError}`)
          }
        }
        if (!localError && localDir && multiKey) {
          try {
            const res = await openChild('multi', localDir, multiKey, n)
            local.push(res)
            progress(`  open rep ${rep + 1}: multifeed (local writers) ${fmtMs(res.ms)}`)
          } catch (err) {
            localError = errorMessage(err)
          }
        }
      }
    } finally {
      await rmDir(keysDir)
    }
    const error = errorOf(s)
    const perFeed = (r: OpenResult, key: 'rssAfter' | 'rssReady') =>
      (r[key] - r.rssBefore) / KiB / Math.max(1, r.expected)
    const openMs = med(remote.map((r) => r.ms))
    this.push({
      scenario: '5 open',
      case: `${caseName} (remote, on the reader)`,
      transport: 'disk',
      metric: 'open time',
      unit: 'ms',
      multifeed: openMs,
      raw: med(raw.map((r) => r.ms)),
      target: '≤ 1 s',
      met: openMs === null ? null : openMs <= 1000,
      samples: { multifeed: remote.map((r) => r.ms), raw: raw.map((r) => r.ms) },
      extra: {
        multifeed: 'Multifeed.open resolved',
        raw: 'store.get({ key }) + ready() for every key',
        multifeedAllFeedsReadyMs: med(remote.map((r) => r.readyMs)) ?? Number.NaN
      },
      error
    })
    this.push({
      scenario: '5 open',
      case: `${caseName} (remote, on the reader)`,
      transport: 'disk',
      metric: 'RSS per feed after open',
      unit: 'KiB/feed',
      multifeed: med(remote.map((r) => perFeed(r, 'rssAfter'))),
      raw: med(raw.map((r) => perFeed(r, 'rssAfter'))),
      target: null,
      samples: {
        multifeed: remote.map((r) => perFeed(r, 'rssAfter')),
        raw: raw.map((r) => perFeed(r, 'rssAfter'))
      },
      extra: {
        multifeedAfterAllReady: med(remote.map((r) => perFeed(r, 'rssReady'))) ?? Number.NaN
      },
      error
    })
    const localMs = med(local.map((r) => r.ms))
    this.push({
      scenario: '5 open',
      case: `${caseName} (local writers, on the writer)`,
      transport: 'disk',
      metric: 'open time',
      unit: 'ms',
      multifeed: localMs,
      raw: null,
      target: '≤ 1 s',
      met: localMs === null ? null : localMs <= 1000,
      samples: { multifeed: local.map((r) => r.ms), raw: [] },
      extra: {
        multifeedAllFeedsReadyMs: med(local.map((r) => r.readyMs)) ?? Number.NaN,
        rssPerFeedKiB: med(local.map((r) => perFeed(r, 'rssAfter'))) ?? Number.NaN
      },
      error: localError ? `multifeed: ${localError}` : error
    })
  }

  async manyMultifeeds(): Promise<void> {
    const { count, feeds, blocks } = this.cfg.manyMulti
    const { reps, transports, timeoutMs } = this.cfg
    const total = count * feeds
    const single: Shape = { feeds: total, blocks, blockSize: KiB }
    progress(`scenario 6: ${count} multifeeds × ${feeds} feeds against 1 multifeed of ${total}`)
    const singleSamples = await this.syncShape(single)
    const m: Record<string, { ms: number[]; conns: number[]; join: number[] }> = {}
    let multiError: string | undefined
    let source: Awaited<ReturnType<MultiModule['MultiSource']['create']>> | null = null
    let mod: MultiModule | null = null
    try {
      mod = await this.multi()
      progress(`  setup: writing ${count} multifeeds × ${feeds} feeds × ${blocks} blocks`)
      source = await mod.MultiSource.create({ feeds, blocks, blockSize: KiB }, count)
    } catch (err) {
      multiError = errorMessage(err)
      progress(`  multifeed setup failed: ${multiError}`)
    }
    const errors: Record<string, string> = {}
    try {
      for (const t of transports) {
        m[t] = { ms: [], conns: [], join: [] }
        const loopback = t === 'swarm' ? await Loopback.create() : null
        try {
          for (let rep = 0; rep < reps && mod && source && !errors[t]; rep++) {
            try {
              const res = await mod.multiSync(source, t, loopback, timeoutMs)
              m[t]!.ms.push(res.ms)
              m[t]!.conns.push(res.connections)
              m[t]!.join.push(res.joinMs)
              progress(
                `  ${count} multifeeds ${t} rep ${rep + 1}: ${fmtMs(res.ms)}, ${res.connections} connection(s)`
              )
            } catch (err) {
              errors[t] = errorMessage(err)
              progress(`  ${count} multifeeds ${t} failed: ${errors[t]}`)
            }
          }
        } finally {
          await loopback?.close()
        }
      }
    } finally {
      await source?.close().catch(() => {})
    }
    for (const t of transports) {
      const one = singleSamples.get(t)!
      const many = m[t]!
      const error = multiError || errors[t] ? `multifeed: ${multiError ?? errors[t]}` : errorOf(one)
      const manyMs = med(many.ms)
      const singleMs = med(one.multi)
      const rawMs = med(one.raw)
      this.push({
        scenario: '6 many multifeeds',
        case: `${count} multifeeds × ${feeds} feeds × ${blocks} blocks`,
        transport: t,
        metric: 'sync time',
        unit: 'ms',
        multifeed: manyMs,
        raw: rawMs,
        target: null,
        samples: { multifeed: many.ms, raw: one.raw },
        extra: {
          raw: `${shapeName(single)}, one topic`,
          ...(t === 'swarm' ? { multifeedSwarmResolvedMs: med(many.join) ?? Number.NaN } : {})
        },
        error
      })
      this.push({
        scenario: '6 many multifeeds',
        case: `1 multifeed × ${total.toLocaleString('en-US')} feeds × ${blocks} blocks`,
        transport: t,
        metric: 'sync time',
        unit: 'ms',
        multifeed: singleMs,
        raw: rawMs,
        target: null,
        samples: { multifeed: one.multi, raw: one.raw },
        error: errorOf(one)
      })
      const vs = manyMs !== null && singleMs !== null && singleMs > 0 ? manyMs / singleMs : null
      this.push({
        scenario: '6 many multifeeds',
        case: `${count} multifeeds / 1 multifeed`,
        transport: t,
        metric: 'time ratio',
        unit: 'x',
        multifeed: vs,
        raw: null,
        target: '≤ 1.5×',
        met: vs === null ? null : vs <= 1.5,
        samples: { multifeed: [], raw: [] },
        error
      })
      if (t === 'swarm') {
        const conns = many.conns.length ? Math.max(...many.conns) : null
        this.push({
          scenario: '6 many multifeeds',
          case: `${count} multifeeds between two networkers`,
          transport: t,
          metric: 'connections held',
          unit: 'count',
          multifeed: conns,
          raw: null,
          target: '1',
          met: conns === null ? null : conns === 1,
          samples: { multifeed: many.conns, raw: [] },
          error
        })
      }
    }
  }

  async scaling(): Promise<void> {
    progress('scenario 7: scaling curve')
    const { scaling, transports } = this.cfg
    const perFeed = new Map<Transport, { multi: number[]; raw: number[] }>()
    const cpuPerFeed = new Map<Transport, { multi: number[]; raw: number[] }>()
    for (const t of transports) {
      perFeed.set(t, { multi: [], raw: [] })
      cpuPerFeed.set(t, { multi: [], raw: [] })
    }
    for (const n of scaling) {
      const shape: Shape = { feeds: n, blocks: 1, blockSize: KiB }
      const samples = await this.syncShape(shape)
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
        this.push({
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
          error: errorOf(s)
        })
      }
    }
    for (const [t, pf] of perFeed) {
      const spread = (v: number[]) =>
        v.length === scaling.length - 1 ? Math.max(...v) / Math.min(...v) : null
      const multi = spread(pf.multi)
      this.push({
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
      this.push({
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
}

interface OpenResult {
  ms: number
  readyMs: number
  rssBefore: number
  rssAfter: number
  rssReady: number
  feeds: number
  expected: number
}

const execFileP = promisify(execFile)

async function openChild(
  mode: 'raw' | 'multi',
  dir: string,
  arg: string,
  expected: number
): Promise<OpenResult> {
  const script = fileURLToPath(new URL('./open-child.js', import.meta.url))
  const { stdout } = await execFileP(
    process.execPath,
    ['--expose-gc', script, mode, dir, arg, String(expected)],
    { maxBuffer: 1024 * 1024, timeout: 300_000 }
  )
  const res = JSON.parse(stdout.trim().split('\n').at(-1)!) as OpenResult
  if (res.feeds !== expected) {
    throw new Error(`opened ${res.feeds} feeds, expected ${expected}`)
  }
  return res
}
