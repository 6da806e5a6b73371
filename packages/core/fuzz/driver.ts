/**
 * The seeded protocol fuzzer of multifeed/2: episodes until the message
 * budget is spent (or the deadline passed), process-wide error handlers
 * installed for the whole run, and the summary.
 */
import { type Context, type Recorder, runEpisode } from './episode.js'
import { type Finding, type FindingKind, type FuzzSummary, signatureOf } from './report.js'
import { Rng } from './rng.js'
import type { Mode } from './roles.js'

export interface FuzzOptions {
  seed: number
  /** Puppet messages across all episodes. */
  messages: number
  /** Wall-clock bound of the whole run (ms); the run stops early at it. */
  timeoutMs?: number
  /** Control run: the puppet stays silent; counts steps instead of messages. */
  control?: boolean
  /** Leave out the triggers of findings already reported, to look past them. */
  skipKnown?: boolean
  /** Run only this episode (for a reproduction). */
  episode?: number
  /** Progress lines (e.g. console.error); silent by default. */
  progress?: (line: string) => void
}

/** Messages per episode: a few connections each, so stores and keys change often. */
const EPISODE_MIN = 60
const EPISODE_MAX = 400
/** Findings kept in full (the rest are counted by signature). */
const MAX_FINDINGS = 20

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const started = Date.now()
  const deadline = started + (options.timeoutMs ?? Number.POSITIVE_INFINITY)
  const summary: FuzzSummary = {
    seed: options.seed,
    messagesTarget: options.messages,
    messagesSent: 0,
    bytesSent: 0,
    replyBytes: 0,
    largestReply: 0,
    episodes: 0,
    connections: 0,
    byMode: { keyholder: 0, forger: 0, stranger: 0, silent: 0 },
    ops: {},
    crashes: 0,
    unhandled: 0,
    handlerWarnings: 0,
    stalls: 0,
    honestErrors: 0,
    unprovenPeers: 0,
    hangs: 0,
    amplifications: 0,
    driverErrors: 0,
    recordFindings: 0,
    records: { episodes: 0, sent: {}, received: 0, added: 0, refused: {} },
    peerErrors: {},
    channelOpens: 0,
    channelCloses: 0,
    processWarnings: {},
    reopen: {
      episodes: 0,
      ok: 0,
      feedsBefore: 0,
      feedsAfter: 0,
      gained: 0,
      gainedExamples: [],
      lost: 0,
      refusedKept: 0,
      adopted: 0
    },
    findings: [],
    distinct: {},
    timeline: [],
    elapsedMs: 0,
    stoppedAtDeadline: false
  }
  const context: Context = { episode: 0, connection: 0, mode: null, aInitiator: null, puppet: null }
  // reopen failures are counted in summary.reopen
  const field: Record<Exclude<FindingKind, 'reopen'>, keyof FuzzSummary> = {
    crash: 'crashes',
    unhandled: 'unhandled',
    'handler-warning': 'handlerWarnings',
    stall: 'stalls',
    'honest-error': 'honestErrors',
    'unproven-peer': 'unprovenPeers',
    hang: 'hangs',
    amplification: 'amplifications',
    records: 'recordFindings',
    driver: 'driverErrors'
  }
  const rec: Recorder = {
    seed: options.seed,
    control: options.control === true,
    skipKnown: options.skipKnown === true,
    context,
    record(kind, message, err) {
      if (kind !== 'reopen') (summary[field[kind]] as number)++
      const stack = err instanceof Error ? (err.stack ?? null) : null
      const sig = signatureOf(kind, message, stack)
      summary.distinct[sig] = (summary.distinct[sig] ?? 0) + 1
      if (summary.timeline.length < 1000) {
        summary.timeline.push({
          kind,
          episode: context.episode,
          connection: context.connection,
          signature: sig
        })
      }
      if (summary.distinct[sig] > 1 || summary.findings.length >= MAX_FINDINGS) return
      const finding: Finding = {
        kind,
        seed: options.seed,
        episode: context.episode,
        connection: context.connection,
        mode: context.mode,
        aInitiator: context.aInitiator,
        message,
        stack,
        log: context.puppet ? [...context.puppet.log] : []
      }
      summary.findings.push(finding)
      options.progress?.(`finding: [${kind}] ${message}`)
    },
    count(what, n) {
      if (what === 'messages') summary.messagesSent += n
      else if (what === 'bytes') summary.bytesSent += n
      else if (what === 'replyBytes') summary.replyBytes += n
      else if (what === 'connections') summary.connections += n
      else if (what === 'opens') summary.channelOpens += n
      else summary.channelCloses += n
    },
    largestReply(bytes) {
      summary.largestReply = Math.max(summary.largestReply, bytes)
    },
    mode(mode: Mode) {
      summary.byMode[mode]++
    },
    ops(ops) {
      for (const [k, v] of Object.entries(ops)) summary.ops[k] = (summary.ops[k] ?? 0) + v
    },
    records(sent, counted) {
      const t = summary.records
      for (const [k, v] of Object.entries(sent)) t.sent[k] = (t.sent[k] ?? 0) + v
      t.received += counted.received
      t.added += counted.added
      for (const [k, v] of Object.entries(counted.refused)) t.refused[k] = (t.refused[k] ?? 0) + v
    },
    moderatedEpisode() {
      summary.records.episodes++
    },
    peerError(code) {
      summary.peerErrors[code] = (summary.peerErrors[code] ?? 0) + 1
    },
    reopen(r) {
      const t = summary.reopen
      t.episodes++
      if (r.ok) t.ok++
      t.feedsBefore += r.before
      t.feedsAfter += r.after
      t.lost += r.lost
      t.gained += r.gained.length
      for (const key of r.gained) {
        if (t.gainedExamples.length < 10) t.gainedExamples.push({ episode: context.episode, key })
      }
      t.refusedKept += r.refused
      t.adopted += r.adopted
    },
    remaining: () => Math.max(0, options.messages - summary.messagesSent),
    expired: () => Date.now() > deadline
  }

  const onUncaught = (err: unknown) => rec.record('unhandled', `uncaught: ${describe(err)}`, err)
  const onRejection = (err: unknown) =>
    rec.record('unhandled', `unhandled rejection: ${describe(err)}`, err)
  const onWarning = (warning: Error) => {
    const name = `${warning.name}${'code' in warning ? ` ${String(warning.code)}` : ''}`
    summary.processWarnings[name] = (summary.processWarnings[name] ?? 0) + 1
  }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onRejection)
  process.on('warning', onWarning)
  try {
    const rng = new Rng(options.seed)
    let idle = 0
    for (let episode = 1; rec.remaining() > 0; episode++) {
      if (rec.expired()) {
        summary.stoppedAtDeadline = true
        break
      }
      const budget = rng.range(EPISODE_MIN, EPISODE_MAX)
      if (options.episode !== undefined && episode !== options.episode) {
        // Skipping: the budget of a skipped episode is what it would have sent.
        if (episode > options.episode) break
        continue
      }
      const sentBefore = summary.messagesSent
      await runEpisode(rec, episode, Math.min(budget, rec.remaining()))
      summary.episodes++
      idle = summary.messagesSent === sentBefore ? idle + 1 : 0
      if (idle >= 10) {
        // Ten episodes in a row sent nothing (their connections failed at once): do not spin.
        rec.record('driver', 'ten episodes in a row sent no message; stopping')
        break
      }
      if (summary.episodes % 20 === 0) {
        options.progress?.(
          `${summary.messagesSent}/${options.messages} messages, ${summary.episodes} episodes, ${Math.round((Date.now() - started) / 1000)} s, findings ${Object.keys(summary.distinct).length}`
        )
      }
    }
    // Errors that surface after the last episode (a rejected promise settles late).
    await new Promise((resolve) => setTimeout(resolve, 50))
  } finally {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onRejection)
    process.off('warning', onWarning)
  }
  summary.elapsedMs = Date.now() - started
  return summary
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
