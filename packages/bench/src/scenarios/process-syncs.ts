// The two-process syncs of a shape (transport `process`: scenario 2 always,
// scenario 1 with --process): the serving side in a child process, the reader
// here (../process-source.ts). Per rep raw corestore with its source warm
// (cores held open, as a raw user has them) and multifeed with its source
// cold (lazy, as the library runs), the order reversed on odd reps. Each
// process's CPU time is recorded apart. Cached: a shape is measured once a run.
import { ProcessSource, processSync } from '../process-source.js'
import { fmtMs, progress } from '../progress.js'
import { type Shape, shapeName } from '../types.js'
import type { Config } from './config.js'
import { errorMessage } from './rows.js'

/** One side's two-process samples: wall time, the reader's CPU, the serving process's CPU. */
export interface ProcessSeries {
  ms: number[]
  cpu: number[]
  sourceCpu: number[]
  open: number[]
  error?: string
}

/** Raw with its source warm, multifeed with its source cold, two processes. */
export interface ProcessSamples {
  raw: ProcessSeries
  multi: ProcessSeries
}

const emptySeries = (): ProcessSeries => ({ ms: [], cpu: [], sourceCpu: [], open: [] })

export class ProcessSyncs {
  private readonly cache = new Map<string, ProcessSamples>()

  constructor(private readonly cfg: Config) {}

  async measure(shape: Shape): Promise<ProcessSamples> {
    const cacheKey = `${shape.feeds}x${shape.blocks}x${shape.blockSize}`
    const cached = this.cache.get(cacheKey)
    if (cached) return cached
    const { reps, timeoutMs } = this.cfg
    const name = shapeName(shape)
    const result: ProcessSamples = { raw: emptySeries(), multi: emptySeries() }
    const sources: Partial<Record<'raw' | 'multi', ProcessSource>> = {}
    try {
      for (const side of ['raw', 'multi'] as const) {
        progress(
          `setup ${name}: writing ${side === 'raw' ? 'raw' : 'multifeed'} source in a child process`
        )
        try {
          sources[side] = await ProcessSource.create(side, shape, timeoutMs)
        } catch (err) {
          result[side].error = errorMessage(err)
          progress(`  ${side} child setup failed: ${result[side].error}`)
        }
      }
      const runs = ['raw', 'multi'] as const
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? runs : [...runs].reverse()
        for (const side of order) {
          const series = result[side]
          const source = sources[side]
          if (series.error || !source) continue
          const label = side === 'raw' ? 'raw warm' : 'multifeed cold'
          try {
            const open = await source.prepare(side === 'raw' ? 'warm' : 'cold')
            const res = await processSync(source, timeoutMs, open)
            series.ms.push(res.ms)
            series.cpu.push(res.cpuMs)
            series.sourceCpu.push(res.sourceCpuMs)
            series.open.push(res.sourceOpen)
            progress(
              `  ${name} process rep ${rep + 1}/${reps}: ${label} ${fmtMs(res.ms)} (reader cpu ${fmtMs(res.cpuMs)}, source cpu ${fmtMs(res.sourceCpuMs)}, ${res.sourceOpen} source cores open)`
            )
          } catch (err) {
            series.error = errorMessage(err)
            progress(`  ${name} process ${label} failed: ${series.error}`)
          }
        }
      }
    } finally {
      for (const s of Object.values(sources)) await s.close()
    }
    this.cache.set(cacheKey, result)
    return result
  }
}
