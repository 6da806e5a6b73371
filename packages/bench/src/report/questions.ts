// "What does multifeed cost me?": the report's opening table, one row per
// question, each answered by one measured row of the results (multifeed, raw
// corestore, their ratio, the target and whether it is met). The questions
// say which row answers them; the numbers all come from the results.
import type { Row } from '../types.js'
import type { ReportRow } from './runs.js'

export interface Question {
  /** Short, for the table and the ratio chart (when the run did not measure it). */
  question: string
  /** The question as the measured row puts it (sizes from its case). */
  label?(answer: Row): string
  /** The row that answers it, or undefined when the run did not measure it. */
  answer(rows: ReportRow[]): ReportRow | undefined
  /** The row whose target this question is held to, when not the answer's own. */
  targetRow?(rows: ReportRow[], answer: ReportRow): ReportRow | undefined
  /** How the table names that row's target ("protocol bytes ≤ 32 KiB"). */
  targetName?: string
  /**
   * Left out of the table (not "not measured") when the results lack its row:
   * a question added after results were committed (runs before it did not
   * measure it, and their report stays as it was).
   */
  optional?: boolean
}

export interface Cost {
  question: string
  /** What was measured: metric (transport); empty when not measured. */
  measured: string
  unit: Row['unit'] | null
  multifeed: number | null
  raw: number | null
  /** multifeed / raw, from the two medians. */
  ratio: number | null
  target: string | null
  met: boolean | null
  run: number | null
}

/** The first number in a row's case ("10,000 feeds × 1 blocks" → 10000). */
export function leadingNumber(text: string): number {
  const m = /(\d[\d,]*)/.exec(text)
  return m ? Number(m[1]!.replace(/,/g, '')) : Number.NaN
}

/** The rows of one scenario, metric and transport, sorted by the first number of their case. */
function series(rows: ReportRow[], scenario: string, metric: string, transport: Row['transport']) {
  return rows
    .filter(
      (r) =>
        r.scenario.replace(/^\d+ /, '') === scenario &&
        r.metric === metric &&
        r.transport === transport
    )
    .sort((a, b) => leadingNumber(a.case) - leadingNumber(b.case))
}

/** Reconnect rows' d ("d = 100, 10,000 feeds …" → 100), NaN for the others. */
function dOf(row: Row): number {
  const m = /^d = (\d+),/.exec(row.case)
  return m ? Number(m[1]) : Number.NaN
}

const count = (row: Row) => leadingNumber(row.case).toLocaleString('en-US')
/** "d = 1, 10,000 feeds (…)" → "10,000". */
const feeds = (row: Row) => /([\d,]+) feeds/.exec(row.case)?.[1] ?? '?'

const WIRE = 'all wire bytes (both ways, until downloaded)'
const PROTOCOL = 'multifeed protocol bytes (both ways, pairing incl.)'

/** The largest case of a series (most feeds, most peers), or the `fromTop`-th below it. */
const largest =
  (scenario: string, metric: string, transport: Row['transport'], fromTop = 0) =>
  (rows: ReportRow[]) => {
    const s = series(rows, scenario, metric, transport)
    return s[s.length - 1 - fromTop]
  }

/** The smallest case of a series (fewest peers). */
const smallest =
  (scenario: string, metric: string, transport: Row['transport']) => (rows: ReportRow[]) =>
    series(rows, scenario, metric, transport)[0]

export const QUESTIONS: Question[] = [
  {
    question: 'First sync of many feeds, as each is used (raw holds its cores open)',
    label: (r) => `First sync of ${count(r)} feeds, as used (raw holds its cores open)`,
    answer: largest('many feeds', 'sync time', 'pipe')
  },
  {
    question: 'First sync of many feeds, like for like (both open their cores on demand)',
    label: (r) => `First sync of ${count(r)} feeds, like for like (cores opened on demand)`,
    answer: largest('many feeds', 'sync time, cold source', 'pipe')
  },
  {
    question: 'First sync of many feeds, peers in two processes (raw holds its cores open)',
    label: (r) =>
      `First sync of ${count(r)} feeds, peers in two processes (raw holds its cores open)`,
    answer: largest('many feeds', 'sync time', 'process'),
    optional: true
  },
  {
    question: 'Reconnect in sync: bytes on the wire',
    label: (r) => `Reconnect in sync, ${feeds(r)} feeds: bytes on the wire`,
    answer: (rows) => series(rows, 'reconnect', WIRE, 'pipe').find((r) => dOf(r) === 0)
  },
  {
    question: 'Reconnect after d changes: bytes on the wire',
    label: (r) => `Reconnect after ${dOf(r)} changes, ${feeds(r)} feeds: bytes on the wire`,
    answer: (rows) => {
      const changed = series(rows, 'reconnect', WIRE, 'pipe').filter((r) => dOf(r) > 0)
      return changed.sort((a, b) => dOf(a) - dOf(b)).at(-1)
    },
    targetRow: (rows, answer) =>
      series(rows, 'reconnect', PROTOCOL, 'pipe').find((r) => r.case === answer.case),
    targetName: 'protocol bytes'
  },
  {
    question: 'open() of a large set (the second-largest size measured)',
    label: (r) => `open() of ${count(r)} feeds`,
    answer: largest('open', 'open time', 'disk', 1)
  },
  {
    question: 'open() of the largest set measured',
    label: (r) => `open() of ${count(r)} feeds`,
    answer: largest('open', 'open time', 'disk')
  },
  {
    question: 'Memory per feed (RSS slope after the first sync)',
    label: (r) => `Memory per feed (RSS slope, ${r.case.replace(/ → [\d,]+ → /, ' → ')})`,
    answer: largest('open', 'RSS slope after the first sync', 'disk')
  },
  {
    question: 'Mesh: time until every peer holds every block (smaller mesh)',
    label: (r) => `Mesh of ${count(r)} peers: time until every peer holds every block`,
    answer: smallest('mesh', 'time to converge', 'swarm')
  },
  {
    question: 'Mesh: time until every peer holds every block (larger mesh)',
    label: (r) => `Mesh of ${count(r)} peers: time until every peer holds every block`,
    answer: (rows) => {
      const s = series(rows, 'mesh', 'time to converge', 'swarm')
      return s.length > 1 ? s.at(-1) : undefined
    }
  },
  {
    question: 'Bulk transfer: CPU time',
    label: (r) => `Bulk transfer (${r.case}): CPU time`,
    answer: largest('bulk', 'CPU time (both peers)', 'pipe')
  }
]

/** The opening table's rows, computed from the results' rows. */
export function costs(rows: ReportRow[], questions: Question[] = QUESTIONS): Cost[] {
  const asked = questions.filter((q) => !q.optional || q.answer(rows) !== undefined)
  return asked.map((q) => {
    const row = q.answer(rows)
    if (!row) {
      return {
        question: q.question,
        measured: '',
        unit: null,
        multifeed: null,
        raw: null,
        ratio: null,
        target: null,
        met: null,
        run: null
      }
    }
    const ratio =
      row.multifeed !== null && row.raw !== null && row.raw > 0 ? row.multifeed / row.raw : null
    const held = q.targetRow?.(rows, row)
    return {
      question: q.label?.(row) ?? q.question,
      measured: `${row.metric} (${row.transport})`,
      unit: row.unit,
      multifeed: row.multifeed,
      raw: row.raw,
      ratio,
      target: held
        ? held.target === null
          ? null
          : `${q.targetName ?? held.metric} ${held.target}`
        : row.target,
      met: held ? held.met : row.met,
      run: row.run
    }
  })
}
