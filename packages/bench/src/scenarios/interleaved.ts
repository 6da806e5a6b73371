// The runs of scenarios 13, 15 and 16: per rep and transport, each kind of sync once
// (raw corestore and the multifeed variants), interleaved: in order on even reps,
// reversed on odd ones, so that a load that drifts weighs on every kind alike. Over Hyperswarm, on a loopback testnet of their own.
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import type { Transport } from '../types.js'
import { errorMessage } from './rows.js'

/** One kind of sync's samples on one transport, and its failure (then it runs no more). */
export interface Series {
  ms: number[]
  cpu: number[]
  error?: string
}

/** An empty series for each run, on each transport. */
export function seriesFor<R extends string>(
  transports: Transport[],
  runs: readonly R[]
): Map<Transport, Record<R, Series>> {
  const all = new Map<Transport, Record<R, Series>>()
  for (const t of transports) {
    const series: Partial<Record<R, Series>> = {}
    for (const run of runs) series[run] = { ms: [], cpu: [] }
    all.set(t, series as Record<R, Series>)
  }
  return all
}

/**
 * Every rep of `runs` on every transport, each measured by `measure` into its series;
 * `afterRep` runs after each rep (scenario 13: the open of the mirror's store).
 * `setup` writes the multifeed side first: when it fails, every run but 'raw' fails with
 * its error, which is returned (undefined when it succeeded).
 */
export async function interleaved<R extends string>(opts: {
  name: string
  reps: number
  runs: readonly R[]
  series: Map<Transport, Record<R, Series>>
  setup: () => Promise<void>
  measure: (
    run: R,
    t: Transport,
    loopback: Loopback | null
  ) => Promise<{ ms: number; cpuMs: number }>
  afterRep?: () => Promise<void>
}): Promise<string | undefined> {
  let setupError: string | undefined
  try {
    await opts.setup()
  } catch (err) {
    setupError = errorMessage(err)
    progress(`  multifeed setup failed: ${setupError}`)
  }
  const loopback = opts.series.has('swarm') ? await Loopback.create() : null
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const [t, series] of opts.series) {
        const label = `${opts.name} ${t} rep ${rep + 1}/${opts.reps}`
        for (const run of rep % 2 === 0 ? opts.runs : [...opts.runs].reverse()) {
          await measureInto(series[run], run, label, () =>
            run !== 'raw' && setupError
              ? Promise.reject(setupError)
              : opts.measure(run, t, loopback)
          )
        }
      }
      await opts.afterRep?.()
    }
  } finally {
    await loopback?.close()
  }
  return setupError
}

async function measureInto(
  into: Series,
  run: string,
  label: string,
  measure: () => Promise<{ ms: number; cpuMs: number }>
): Promise<void> {
  if (into.error) return
  try {
    const res = await measure()
    into.ms.push(res.ms)
    into.cpu.push(res.cpuMs)
    progress(`  ${label}: ${run} ${fmtMs(res.ms)} (cpu ${fmtMs(res.cpuMs)})`)
  } catch (err) {
    into.error = typeof err === 'string' ? err : errorMessage(err)
    progress(`  ${label}: ${run} failed: ${into.error}`)
  }
}
