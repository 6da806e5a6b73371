// Scenario 8, reconnect after d changes: runs the series on a multifeed pair
// (../../reconnect.ts) and on a raw corestore pair (../../reconnect-raw.ts) —
// for each d, timed and lockstep reconnects after d changes, then reconnects
// after a restart — and hands the samples to reconnect-after-d-rows.ts.
import { progress } from '../../progress.js'
import { MultiReconnectPair, type ReconnectOptions, type ReconnectSample } from '../../reconnect.js'
import { RawReconnectPair } from '../../reconnect-raw.js'
import { errorMessage } from '../rows.js'
import type { Issue7Context } from './context.js'
import { reconnectRows, restartRows } from './reconnect-after-d-rows.js'

/**
 * Runs the reconnect series on one pair (multifeed or raw). A failure is
 * recorded for that d (timed or lockstep runs) and the series goes on.
 */
async function series(
  ctx: Issue7Context,
  label: string,
  pair: MultiReconnectPair | RawReconnectPair,
  results: Map<string, ReconnectSample[]>,
  errors: Map<string, string>
): Promise<void> {
  const { reps, timeoutMs, quietMs } = ctx.cfg
  const timed: ReconnectOptions = { lockstep: false, quietMs, timeoutMs }
  // A lockstep reconnect takes a few hundred ms of quiet periods: 2 minutes means stuck.
  const lockstep: ReconnectOptions = {
    lockstep: true,
    quietMs,
    timeoutMs: Math.min(timeoutMs, 120_000)
  }
  for (const d of ctx.cfg.reconnect.ds) {
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

export async function reconnectAfterChanges(ctx: Issue7Context): Promise<void> {
  const { n } = ctx.cfg.reconnect
  const { timeoutMs } = ctx.cfg
  progress(`scenario 8: reconnect after d changes, ${n} feeds`)
  const multi = new Map<string, ReconnectSample[]>()
  const raw = new Map<string, ReconnectSample[]>()
  const multiErrors = new Map<string, string>()
  const rawErrors = new Map<string, string>()
  try {
    progress(`  setup: ${n} multifeed writers (half on each side) of one block, first sync`)
    const pair = await MultiReconnectPair.create(await ctx.core(), n, timeoutMs)
    try {
      await series(ctx, 'multifeed', pair, multi, multiErrors)
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
      await series(ctx, 'raw', pair, raw, rawErrors)
    } finally {
      await pair.close()
    }
  } catch (err) {
    rawErrors.set('setup', errorMessage(err))
    progress(`  raw setup failed: ${rawErrors.get('setup')}`)
  }
  for (const d of ctx.cfg.reconnect.ds) reconnectRows(ctx, n, d, multi, raw, multiErrors, rawErrors)
  restartRows(ctx, n, multi.get('restart') ?? [], raw.get('restart') ?? [], multiErrors, rawErrors)
}
