/**
 * What a fuzz run found and counted, and how it prints.
 */
import type { Mode } from './roles.js'
import type { LogEntry } from './wire.js'

export type FindingKind =
  /** The replication stream was destroyed while the driver held it open. */
  | 'crash'
  /** An uncaught exception or unhandled rejection in the process. */
  | 'unhandled'
  /** A handler's promise rejected after its channel closed (Protomux 'warning'). */
  | 'handler-warning'
  /** The honest multifeed Y on the same connection did not sync in time. */
  | 'stall'
  /** An honest multifeed reported a peer error (only the puppet misbehaves). */
  | 'honest-error'
  /** X proved a peer that does not hold the key. */
  | 'unproven-peer'
  /** X re-opened from its store lost a feed, or holds a key it must not. */
  | 'reopen'
  /** Closing or re-opening did not complete in time. */
  | 'hang'
  /** A sent the puppet more on X's channel than its reply budget and the puppet's own bytes allow. */
  | 'amplification'
  /**
   * A moderated X's records: its moderators or blocked set differ from what
   * the valid records alone give, it holds more than the bound, or its peers'
   * counters lost a record the puppet sent.
   */
  | 'records'
  /** The fuzzer's own code threw (not a finding about core). */
  | 'driver'

export interface Finding {
  kind: FindingKind
  seed: number
  episode: number
  connection: number
  mode: Mode | null
  /** Side A is the stream's initiator. */
  aInitiator: boolean | null
  message: string
  stack: string | null
  /** The puppet's last messages before the finding. */
  log: LogEntry[]
}

export interface ReopenTotals {
  episodes: number
  ok: number
  feedsBefore: number
  feedsAfter: number
  lost: number
  /**
   * Feeds in X after re-open that X neither listed nor announced ('feed')
   * before it closed (an admission that raced the close): not a loss, noted.
   */
  gained: number
  gainedExamples: Array<{ episode: number; key: string }>
  refusedKept: number
  adopted: number
}

export interface RecordTotals {
  /** Episodes whose X was a moderated set. */
  episodes: number
  /** Records sent in well-formed Records messages, by what they were meant to be (records.ts). */
  sent: Record<string, number>
  received: number
  added: number
  /** X's peers' `recordsRefused`, summed. */
  refused: Record<string, number>
}

export interface FuzzSummary {
  seed: number
  messagesTarget: number
  messagesSent: number
  bytesSent: number
  /** Bytes A sent the puppet on X's channel, and its largest message there. */
  replyBytes: number
  largestReply: number
  episodes: number
  connections: number
  byMode: Record<Mode, number>
  ops: Record<string, number>
  crashes: number
  unhandled: number
  handlerWarnings: number
  stalls: number
  honestErrors: number
  unprovenPeers: number
  hangs: number
  /** Connections where A sent more than the stated bound (README, Security notes). */
  amplifications: number
  driverErrors: number
  /** Findings of kind 'records'. */
  recordFindings: number
  /** A moderated X's records: episodes, what the puppet sent by attack, what X's peers counted. */
  records: RecordTotals
  /** Errors side A reported on X's channel (expected: every one closed only that channel). */
  peerErrors: Record<string, number>
  /** A opened / closed X's channel to the puppet. */
  channelOpens: number
  channelCloses: number
  /** Process warnings (e.g. a user callback's error, MaxListeners), by name. */
  processWarnings: Record<string, number>
  reopen: ReopenTotals
  /** Findings, first of each distinct signature. */
  findings: Finding[]
  /** Findings by signature (kind + first stack frames). */
  distinct: Record<string, number>
  /** Every finding in order, briefly (at most 1,000): which episode and connection. */
  timeline: Array<{ kind: FindingKind; episode: number; connection: number; signature: string }>
  elapsedMs: number
  stoppedAtDeadline: boolean
}

export function signatureOf(kind: FindingKind, message: string, stack: string | null): string {
  const frames = (stack ?? '')
    .split('\n')
    .slice(1, 4)
    .map((l) => l.trim().replace(/\(.*\/(packages|node_modules)\//, '($1/'))
    .join(' | ')
  // Numbers vary from one occurrence to the next: one signature for all.
  const text = message.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120).trim()
  return `${kind}: ${text}${frames ? ` @ ${frames}` : ''}`
}

export function failed(s: FuzzSummary): boolean {
  return (
    s.crashes +
      s.unhandled +
      s.handlerWarnings +
      s.stalls +
      s.honestErrors +
      s.unprovenPeers +
      s.hangs +
      s.amplifications +
      s.driverErrors +
      s.recordFindings +
      (s.reopen.episodes - s.reopen.ok) >
    0
  )
}

export function formatSummary(s: FuzzSummary): string {
  const lines: string[] = []
  const rate = s.elapsedMs > 0 ? Math.round((s.messagesSent / s.elapsedMs) * 1000) : 0
  lines.push(`multifeed protocol fuzzer — seed ${s.seed}`)
  lines.push(
    `messages sent     ${s.messagesSent} of ${s.messagesTarget} (${(s.bytesSent / 1024 / 1024).toFixed(1)} MiB, ${rate} msg/s)${s.stoppedAtDeadline ? '  [stopped at the deadline]' : ''}`
  )
  lines.push(
    `episodes          ${s.episodes} (${s.connections} connections: ${s.byMode.keyholder} keyholder, ${s.byMode.forger} forger, ${s.byMode.stranger} stranger${s.byMode.silent > 0 ? `, ${s.byMode.silent} silent (control)` : ''})`
  )
  lines.push(`crashes           ${s.crashes}  (replication stream destroyed)`)
  lines.push(`unhandled errors  ${s.unhandled}  (+ ${s.handlerWarnings} handler rejections)`)
  lines.push(`stalls            ${s.stalls}  (honest multifeed Y on the same connection)`)
  lines.push(
    `honest errors     ${s.honestErrors}   unproven peers ${s.unprovenPeers}   hangs ${s.hangs}   amplifications ${s.amplifications}   driver errors ${s.driverErrors}`
  )
  const m = s.records
  lines.push(
    `records           ${m.episodes} moderated episodes, ${s.recordFindings} findings; sent ${formatCounts(m.sent)}`
  )
  lines.push(
    `  X's peers       received ${m.received}, added ${m.added}; refused ${formatCounts(m.refused)}`
  )
  const r = s.reopen
  lines.push(
    `reopen            ${r.ok}/${r.episodes} episodes ok; feeds before ${r.feedsBefore}, after ${r.feedsAfter}; lost ${r.lost}, refused kept ${r.refusedKept}, adopted ${r.adopted}; unannounced before close ${r.gained}`
  )
  if (r.gainedExamples.length > 0) {
    const examples = r.gainedExamples.slice(0, 3).map((g) => `episode ${g.episode} ${g.key}`)
    lines.push(`  unannounced: ${examples.join(', ')}`)
  }
  lines.push(
    `X channel         opened by A ${s.channelOpens}, closed or refused by A ${s.channelCloses}; A replied ${(s.replyBytes / 1024 / 1024).toFixed(1)} MiB (largest message ${s.largestReply} B)`
  )
  lines.push(`peer errors on X  ${formatCounts(s.peerErrors)}`)
  if (Object.keys(s.processWarnings).length > 0) {
    lines.push(`process warnings  ${formatCounts(s.processWarnings)}`)
  }
  lines.push(`ops               ${formatCounts(s.ops)}`)
  lines.push(`elapsed           ${(s.elapsedMs / 1000).toFixed(1)} s`)
  if (s.findings.length > 0) {
    lines.push('', `findings (${Object.keys(s.distinct).length} distinct):`)
    for (const [sig, n] of Object.entries(s.distinct)) lines.push(`  ${n} × ${sig}`)
    for (const f of s.findings) lines.push('', formatFinding(f))
  }
  return lines.join('\n')
}

export function formatFinding(f: Finding): string {
  const lines = [
    `[${f.kind}] seed ${f.seed} episode ${f.episode} connection ${f.connection} mode ${f.mode ?? '-'} A ${f.aInitiator === null ? '-' : f.aInitiator ? 'initiator' : 'responder'}`,
    `  ${f.message}`
  ]
  if (f.stack !== null) {
    for (const l of f.stack.split('\n').slice(1, 8)) lines.push(`    ${l.trim()}`)
  }
  if (f.log.length > 0) {
    lines.push('  last puppet messages (op, type, bytes, head):')
    for (const e of f.log.slice(-12)) {
      lines.push(
        `    ${e.op}${e.note ? ` (${e.note})` : ''} type ${e.type} len ${e.len} ${e.head}${e.len > 40 ? '…' : ''}`
      )
    }
  }
  return lines.join('\n')
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k} ${v}`).join(', ')
}
