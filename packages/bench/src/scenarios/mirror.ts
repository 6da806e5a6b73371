// Scenario 13, mirrors (issue 15): one shape written to an encrypted set,
// against raw corestore replicating the same shape (the cores a blind store
// would hold, keys handed over). Per rep and transport, each sync into a
// fresh reader: raw; a mirror's first sync from the writer (mirror key);
// a member served by a mirror alone (the mirror synced once, in setup); a
// member served by the writer. Then the open time of the mirror's store
// against raw corestore opening every core. Raw's source is warm, the
// multifeed sources as the last rep left them (as scenarios 1, 6, 7).
import type { MultiSource } from '../multi.js'
import type { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import { RawSource, rawSync } from '../raw.js'
import { med } from '../statistics.js'
import { type Shape, shapeName, type Transport } from '../types.js'
import type { ScenarioContext } from './context.js'
import { interleaved, seriesFor } from './interleaved.js'
import { errorMessage, sideErrors } from './rows.js'

const SCENARIO = '13 mirror'
const READER = '16 mirror reader'

/** The measured syncs, in the order of even reps (odd reps reverse it). */
const RUNS = ['raw', 'mirror', 'fromMirror', 'fromWriter'] as const
type Run = (typeof RUNS)[number]

/** What each multifeed run is, in the rows' metric. */
const METRICS: Record<Exclude<Run, 'raw'>, string> = {
  mirror: "mirror's first sync from the writer",
  fromMirror: 'a member served by the mirror alone',
  fromWriter: 'a member served by the writer'
}

export async function mirrors(ctx: ScenarioContext): Promise<void> {
  progress('scenario 13: mirror')
  await mirrorSeries(ctx, SCENARIO, ctx.cfg.mirror, true)
}

/**
 * Scenario 16 (issue 15): the time a reader takes to get 10,000 entries from a
 * mirror alone against from their writer, the same runs as scenario 13 at that
 * size, with a row comparing the two directly (raw column: served by the writer).
 */
export async function mirrorReader(ctx: ScenarioContext): Promise<void> {
  progress('scenario 16: a reader served by a mirror against by the writer')
  for (const shape of ctx.cfg.mirrorReader) await mirrorSeries(ctx, READER, shape, false)
}

/** Scenario 13's runs of one shape, rows under `scenario`; `open`: and the open of the mirror's store. */
async function mirrorSeries(
  ctx: ScenarioContext,
  scenario: string,
  shape: Shape,
  measureOpen: boolean
): Promise<void> {
  const { reps, transports, timeoutMs } = ctx.cfg
  const name = shapeName(shape)
  const series = seriesFor(transports, RUNS)
  const open = {
    mirror: [] as number[],
    raw: [] as number[],
    error: undefined as string | undefined
  }

  progress(`setup ${name}: writing raw source`)
  const raw = await RawSource.create(shape)
  let writer = null as MultiSource | null
  let mirror = null as MultiSource | null
  let side = null as Awaited<ReturnType<typeof load>> | null
  let setupError: string | undefined
  try {
    setupError = await interleaved({
      name,
      reps,
      runs: RUNS,
      series,
      setup: async () => {
        side = await load(ctx)
        progress(`setup ${name}: writing the encrypted set, then its mirror`)
        writer = await side.multi.MultiSource.create(shape, 1, true)
        mirror = await side.mirror.mirrorOf(writer, timeoutMs)
      },
      measure: (run, t, loopback) =>
        run === 'raw'
          ? rawSync(raw, t, loopback, timeoutMs)
          : syncOf(side!, run, writer!, mirror!, t, loopback, timeoutMs),
      afterRep: async () => {
        if (!measureOpen || !mirror || !side || open.error) return
        try {
          const opened = await side.mirror.mirrorOpenMs(mirror)
          if (opened.feeds !== shape.feeds) throw new Error(`re-opened ${opened.feeds} feeds`)
          open.mirror.push(opened.ms)
          open.raw.push(await side.mirror.rawOpenMs(raw))
          progress(
            `  ${name} open: mirror ${fmtMs(open.mirror.at(-1)!)}, raw ${fmtMs(open.raw.at(-1)!)}`
          )
        } catch (err) {
          open.error = errorMessage(err)
        }
      }
    })
  } finally {
    await mirror?.close().catch(() => {})
    await writer?.close().catch(() => {})
    await raw.close()
  }

  for (const [t, s] of series) {
    for (const run of ['mirror', 'fromMirror', 'fromWriter'] as const) {
      for (const [metric, key] of [
        ['sync time', 'ms'],
        ['CPU time (both peers)', 'cpu']
      ] as const) {
        ctx.push({
          scenario,
          case: name,
          transport: t,
          metric: `${METRICS[run]}: ${metric}`,
          unit: 'ms',
          multifeed: med(s[run][key]),
          raw: med(s.raw[key]),
          target: null,
          samples: { multifeed: s[run][key], raw: s.raw[key] },
          error: sideErrors(s[run].error, s.raw.error)
        })
      }
    }
    if (scenario === READER) {
      // Paired by rep (the runs of one rep follow each other): the mirror's cost to a reader.
      const paired = s.fromMirror.ms.map((ms, i) => ms / (s.fromWriter.ms[i] ?? Number.NaN))
      ctx.push({
        scenario,
        case: name,
        transport: t,
        metric: 'sync time, served by the mirror alone (raw column: by the writer)',
        unit: 'ms',
        multifeed: med(s.fromMirror.ms),
        raw: med(s.fromWriter.ms),
        target: null,
        samples: { multifeed: s.fromMirror.ms, raw: s.fromWriter.ms },
        extra: {
          pairedRatioMedian: med(paired) ?? Number.NaN,
          note: 'both multifeed: a fresh member reader, served by a mirror that cannot read, or by the writer'
        },
        error: sideErrors(s.fromMirror.error, s.fromWriter.error)
      })
    }
  }
  if (!measureOpen) return
  ctx.push({
    scenario,
    case: name,
    transport: 'disk',
    metric: "open of the mirror's store (raw: every core opened)",
    unit: 'ms',
    multifeed: med(open.mirror),
    raw: med(open.raw),
    target: null,
    samples: { multifeed: open.mirror, raw: open.raw },
    error: open.error ?? setupError
  })
}

/** The multifeed side, imported here (a failed import is a row's error, as ctx.multi()). */
async function load(ctx: ScenarioContext) {
  return { multi: await ctx.multi(), mirror: await import('../mirror.js') }
}

/** One measured multifeed sync of `run` into a fresh reader. */
function syncOf(
  side: Awaited<ReturnType<typeof load>>,
  run: Exclude<Run, 'raw'>,
  writer: MultiSource,
  mirror: MultiSource,
  t: Transport,
  loopback: Loopback | null,
  timeoutMs: number
) {
  const { multiSync } = side.multi
  if (run === 'mirror') {
    return multiSync(writer, t, loopback, timeoutMs, {}, (m) => m.mirrorKey!)
  }
  if (run === 'fromMirror') {
    return multiSync(mirror, t, loopback, timeoutMs, {}, (_, i) => writer.multis[i]!.key)
  }
  return multiSync(writer, t, loopback, timeoutMs)
}
