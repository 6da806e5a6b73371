/**
 * The seeded protocol fuzzer (packages/core/fuzz) in CI: a few thousand
 * messages from a peer that holds the key, one that forged what leaked of
 * it, and one that knows nothing, against real corestores over a pipe; in
 * part of the episodes X is a moderated set and the key holder also sends
 * moderation records, valid and hostile (fuzz/records.ts).
 * `pnpm fuzz --messages 100000` runs the full count.
 */
import { describe, expect, it } from 'vitest'
import { runFuzz } from '../fuzz/driver.js'
import { formatSummary } from '../fuzz/report.js'

describe('protocol fuzzer', () => {
  it('3,000 seeded messages: no crash, no unhandled error, no stall, nothing lost on reopen', async () => {
    const summary = await runFuzz({ seed: 20261125, messages: 3000, timeoutMs: 40_000 })
    const report = formatSummary(summary)
    expect(summary.stoppedAtDeadline, report).toBe(false)
    expect(summary.messagesSent, report).toBeGreaterThanOrEqual(3000)
    expect(summary.crashes, report).toBe(0)
    expect(summary.unhandled + summary.handlerWarnings, report).toBe(0)
    expect(summary.stalls, report).toBe(0)
    expect(summary.honestErrors, report).toBe(0)
    expect(summary.unprovenPeers, report).toBe(0)
    expect(summary.hangs + summary.driverErrors, report).toBe(0)
    expect(summary.amplifications, report).toBe(0)
    expect(summary.reopen.ok, report).toBe(summary.reopen.episodes)
    expect(summary.reopen.lost + summary.reopen.refusedKept + summary.reopen.adopted).toBe(0)
    // Every mode ran, and the protocol's checks were exercised.
    expect(summary.byMode.keyholder).toBeGreaterThan(0)
    expect(summary.byMode.stranger).toBeGreaterThan(0)
    expect(summary.peerErrors.ERR_MALFORMED_MESSAGE ?? 0).toBeGreaterThan(0)
    // A moderated X's records: the valid ones alone make its state, every
    // record it received is counted, and the attacks reached it.
    expect(summary.recordFindings, report).toBe(0)
    expect(summary.records.episodes).toBeGreaterThan(0)
    for (const attack of ['valid', 'forged', 'mutated-field', 'revoked-signer', 'flood']) {
      expect(summary.records.sent[attack] ?? 0, attack).toBeGreaterThan(0)
    }
    expect(summary.records.refused.signature ?? 0).toBeGreaterThan(0)
    expect(summary.records.refused.unauthorized ?? 0).toBeGreaterThan(0)
    expect(summary.records.refused.duplicate ?? 0).toBeGreaterThan(0)
  }, 90_000)
})
