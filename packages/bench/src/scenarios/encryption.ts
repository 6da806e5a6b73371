// Scenario 15 (issue 15): what an encrypted set costs a bulk sync. The same
// shape written once as a plain set and once as an encrypted set; each rep and
// transport syncs each into a fresh member, and raw corestore the same cores,
// interleaved (order reversed on odd reps). The target: the encrypted
// sync's CPU time ≤ 1.10 × the plain one's. A sync moves ciphertext as stored
// (no side encrypts or decrypts: hypercore's block encryption is applied at
// append and read), so the ratio says what the encrypted set's keys and tags cost.
import type { MultiSource } from '../multi.js'
import { progress } from '../progress.js'
import { RawSource, rawSync } from '../raw.js'
import { med } from '../statistics.js'
import { type Shape, shapeName } from '../types.js'
import type { ScenarioContext } from './context.js'
import { interleaved, seriesFor } from './interleaved.js'
import { sideErrors } from './rows.js'

const SCENARIO = '15 encryption'
const RUNS = ['raw', 'plain', 'encrypted'] as const
type Run = (typeof RUNS)[number]

export async function encryptionCost(ctx: ScenarioContext): Promise<void> {
  progress('scenario 15: encrypted against plain bulk sync')
  for (const shape of ctx.cfg.encryption) await encryptionOf(ctx, shape)
}

async function encryptionOf(ctx: ScenarioContext, shape: Shape): Promise<void> {
  const { reps, transports, timeoutMs } = ctx.cfg
  const name = shapeName(shape)
  const series = seriesFor(transports, RUNS)
  progress(`setup ${name}: writing raw, plain and encrypted sources`)
  const raw = await RawSource.create(shape)
  const sources: Partial<Record<Exclude<Run, 'raw'>, MultiSource>> = {}
  let multi: Awaited<ReturnType<ScenarioContext['multi']>> | null = null
  try {
    await interleaved({
      name,
      reps,
      runs: RUNS,
      series,
      setup: async () => {
        multi = await ctx.multi()
        sources.plain = await multi.MultiSource.create(shape, 1, false)
        sources.encrypted = await multi.MultiSource.create(shape, 1, true)
      },
      measure: (run, t, loopback) =>
        run === 'raw'
          ? rawSync(raw, t, loopback, timeoutMs)
          : multi!.multiSync(sources[run]!, t, loopback, timeoutMs)
    })
  } finally {
    for (const source of Object.values(sources)) await source.close().catch(() => {})
    await raw.close()
  }

  for (const [t, s] of series) {
    for (const kind of ['plain', 'encrypted'] as const) {
      for (const [metric, key] of [
        ['sync time', 'ms'],
        ['CPU time (both peers)', 'cpu']
      ] as const) {
        ctx.push({
          scenario: SCENARIO,
          case: name,
          transport: t,
          metric: `${kind} set: ${metric}`,
          unit: 'ms',
          multifeed: med(s[kind][key]),
          raw: med(s.raw[key]),
          target: null,
          samples: { multifeed: s[kind][key], raw: s.raw[key] },
          error: sideErrors(s[kind].error, s.raw.error)
        })
      }
    }
    const enc = med(s.encrypted.cpu)
    const plain = med(s.plain.cpu)
    const ratio = enc !== null && plain !== null && plain > 0 ? enc / plain : null
    // Paired by rep (the runs of one rep follow each other), less exposed to a load that changes.
    const paired = s.encrypted.cpu.map((c, i) => c / (s.plain.cpu[i] ?? Number.NaN))
    ctx.push({
      scenario: SCENARIO,
      case: name,
      transport: t,
      metric: 'CPU time (both peers), encrypted set (raw column: the plain set)',
      unit: 'ms',
      multifeed: enc,
      raw: plain,
      ratio,
      target: 'ratio ≤ 1.10',
      met: ratio === null ? null : ratio <= 1.1,
      samples: { multifeed: s.encrypted.cpu, raw: s.plain.cpu },
      extra: {
        pairedRatioMedian: med(paired) ?? Number.NaN,
        note: 'both multifeed: the same shape as a plain and as an encrypted set, into a fresh member'
      },
      error: sideErrors(s.encrypted.error, s.plain.error)
    })
  }
}
