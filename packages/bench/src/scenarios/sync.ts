// The measurement scenarios 1, 2, 6 and 7 share: one shape synced through raw
// corestore and through multifeed on every transport, `reps` times, and which
// state each side's source is in when the clock starts (as the last rep left
// it, or scenario 2's cold and warm). Cached: a shape is measured once a run.
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import { RawSource, rawSync, type SourceTemperature } from '../raw.js'
import { type Shape, shapeName, type Transport } from '../types.js'
import type { Config } from './config.js'
import type { MultiModule } from './context.js'
import { errorMessage } from './rows.js'
import type { Samples, Series } from './samples.js'

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
export const AS_BEFORE: SyncRun[] = [
  { side: 'raw', temperature: null },
  { side: 'multi', temperature: null }
]

const emptySeries = (): Series => ({ ms: [], cpu: [], open: [] })

/** Where `run`'s measurements go in `s` (the default pair is `raw` / `multi`). */
export function seriesOf(s: Samples, run: SyncRun): Series {
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

/** Measures shapes (`measure`) and keeps each shape's samples for the rest of the run. */
export class ShapeSyncs {
  private readonly cache = new Map<string, Map<Transport, Samples>>()

  constructor(
    private readonly cfg: Config,
    private readonly multi: () => Promise<MultiModule>
  ) {}

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
  async measure(shape: Shape, likeForLike = false): Promise<Map<Transport, Samples>> {
    const cacheKey = `${shape.feeds}x${shape.blocks}x${shape.blockSize}`
    const cached = this.cache.get(cacheKey)
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
    this.cache.set(cacheKey, result)
    return result
  }
}
