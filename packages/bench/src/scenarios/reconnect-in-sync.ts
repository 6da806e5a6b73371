// Scenario 4, reconnect in sync: two peers holding the same feeds reconnect;
// multifeed protocol bytes (`MultifeedPeer.stats`) and time until both peers'
// `synced`, and, next to raw corestore, time and wire bytes until every core
// replicates. The fixture is set up by reconnect-and-open.ts.
import type { MultiReconnect } from '../multi.js'
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import type { RawReconnect } from '../raw.js'
import { med } from '../statistics.js'
import type { ScenarioContext } from './context.js'
import { errorMessage, sideErrors } from './rows.js'
import type { Samples } from './samples.js'

/** `rc` is null when multifeed's setup failed (`multiError`). */
export async function reconnectInSync(
  ctx: ScenarioContext,
  caseName: string,
  rawRc: RawReconnect,
  rc: MultiReconnect | null,
  multiError: string | undefined
): Promise<void> {
  const { transports, reps, timeoutMs } = ctx.cfg
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
    const error = sideErrors(s.multiError, s.rawError)
    const bytes = med(m.bytes)
    ctx.push({
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
    ctx.push({
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
    ctx.push({
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
    ctx.push({
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
