// Scenario 6, many multifeeds: `count` multifeeds of a few feeds each synced
// between two networkers (one connection on the swarm), against one multifeed
// holding as many feeds (sync.ts, shared with the other sync scenarios).
import type { MultiSource } from '../multi.js'
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import { med } from '../statistics.js'
import { type Shape, shapeName } from '../types.js'
import type { MultiModule, ScenarioContext } from './context.js'
import { errorMessage, sideErrors } from './rows.js'

const KiB = 1024

export async function manyMultifeeds(ctx: ScenarioContext): Promise<void> {
  const { count, feeds, blocks } = ctx.cfg.manyMulti
  const { reps, transports, timeoutMs } = ctx.cfg
  const total = count * feeds
  const single: Shape = { feeds: total, blocks, blockSize: KiB }
  progress(`scenario 6: ${count} multifeeds × ${feeds} feeds against 1 multifeed of ${total}`)
  const singleSamples = await ctx.syncShape(single)
  const m: Record<string, { ms: number[]; conns: number[]; join: number[] }> = {}
  let multiError: string | undefined
  let source: MultiSource | null = null
  let mod: MultiModule | null = null
  try {
    mod = await ctx.multi()
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
    const singleError = sideErrors(one.multiError, one.rawError)
    const error = multiError || errors[t] ? `multifeed: ${multiError ?? errors[t]}` : singleError
    const manyMs = med(many.ms)
    const singleMs = med(one.multi)
    const rawMs = med(one.raw)
    ctx.push({
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
    ctx.push({
      scenario: '6 many multifeeds',
      case: `1 multifeed × ${total.toLocaleString('en-US')} feeds × ${blocks} blocks`,
      transport: t,
      metric: 'sync time',
      unit: 'ms',
      multifeed: singleMs,
      raw: rawMs,
      target: null,
      samples: { multifeed: one.multi, raw: one.raw },
      error: singleError
    })
    const vs = manyMs !== null && singleMs !== null && singleMs > 0 ? manyMs / singleMs : null
    ctx.push({
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
      ctx.push({
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
