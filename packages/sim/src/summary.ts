/** What a run prints at the end: one line per seed, the totals, each violation with its reproduction. */
import { reproduction, type SimOptions } from './options.js'
import type { SeedResult } from './run.js'

export function summary(results: SeedResult[], options: SimOptions): string {
  const lines: string[] = []
  for (const r of results) {
    lines.push(
      `seed ${r.seed}: ${r.peers} peers, ${r.events} events, ${r.blocks} blocks written, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB on links, ${r.seconds.toFixed(1)} s, most queued for a non-reader ${(r.maxQueued / 1024).toFixed(0)} KiB, largest hostile ratio ×${r.maxAmplification.toFixed(1)} (at most ${(100 * r.maxBoundShare).toFixed(0)} % of the bound), schedule ${r.fingerprint}, ${r.violations.length} violation(s)`
    )
    const m = r.moderation
    if (m !== null) {
      lines.push(
        `  moderation: ${m.signed.grant} grants, ${m.signed.revoke} revokes, ${m.signed.block} blocks, ${m.signed.unblock} unblocks signed; ${m.nothing} acts with nothing to sign, ${m.refused} refused (no authority); ${m.spamFeeds} spam feeds written, ${m.spamRefused} spam writers refused or cut; ${m.frames} frames watched on the wire (${m.spamFrames} carrying junk blocks)`
      )
    }
    for (const v of r.violations) {
      lines.push(`  ✗ ${v.invariant} — peer ${v.peer}, event ${v.event}: ${v.detail}`)
    }
    if (r.violations.length > 0) lines.push(`  reproduce: ${reproduction(options, r.seed)}`)
  }
  const events = results.reduce((s, r) => s + r.events, 0)
  const bytes = results.reduce((s, r) => s + r.bytes, 0)
  const violations = results.reduce((s, r) => s + r.violations.length, 0)
  lines.push(
    `summary: peers ${options.peers}, seeds ${results.length}, events ${events}, bytes ${bytes}, violations ${violations}`
  )
  return lines.join('\n')
}
