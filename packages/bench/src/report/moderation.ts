// The report's table of moderated sets (scenario 17, issue 14), after the
// opening table: each figure beside what it is compared with in the same run —
// a plain set of the same feeds (ratio), bare Ed25519 verifications (ratio) —
// and, for the in-sync reconnect, raw corestore's figure at the same number of
// feeds where the report has one (scenario 8, d = 0). Absent without the rows.
import {
  BLOCK_ALL,
  BLOCK_CALL,
  BLOCK_ONE,
  IN_SYNC_WIRE,
  MODERATION_SCENARIO,
  MOVED_AFTER,
  NEW_OVERHEAD,
  NEW_PROTOCOL
} from '../moderation/metrics.js'
import type { Row } from '../types.js'
import { formatMet, formatRatio, formatValue, markdownTable } from './format.js'
import type { ReportRow } from './runs.js'

// Scenario 8's wire bytes (its d = 0 row holds raw corestore's in-sync figure).
const RAW_IN_SYNC = 'all wire bytes (both ways, until downloaded)'

export interface ModerationFigure {
  figure: string
  unit: Row['unit']
  value: number | null
  /** What it is compared with, and that figure. */
  against: string | null
  againstValue: number | null
  ratio: number | null
  /** Raw corestore's figure for the same shape, where the report has one. */
  raw: number | null
  target: string | null
  met: boolean | null
}

const feedsOf = (c: string) => /([\d,]+) feeds/.exec(c)?.[1] ?? null
const ratio = (a: number | null, b: number | null) =>
  a !== null && b !== null && b > 0 ? a / b : null

/** Scenario 17's figures, in the order the issue asks for them; empty without its rows. */
export function moderationFigures(rows: ReportRow[]): ModerationFigure[] {
  const mine = rows.filter((r) => r.scenario === MODERATION_SCENARIO)
  const out: ModerationFigure[] = []
  const figure = (
    r: Row,
    text: string,
    against: string | null = null,
    againstValue: number | null = null,
    raw: number | null = null
  ) =>
    out.push({
      figure: text,
      unit: r.unit,
      value: r.multifeed,
      against,
      againstValue,
      ratio: ratio(r.multifeed, againstValue),
      raw,
      target: r.target,
      met: r.met
    })
  for (const r of mine.filter(
    (r) => r.metric.startsWith(BLOCK_ALL) || r.metric.startsWith(BLOCK_ONE)
  )) {
    figure(r, `${r.metric}, ${r.case}`)
  }
  for (const r of mine.filter((r) => r.metric.startsWith(MOVED_AFTER))) {
    figure(r, `${r.metric} (${r.case})`)
  }
  const inSync = mine.filter((r) => r.metric === IN_SYNC_WIRE)
  const plain = inSync.find((r) => r.case.endsWith('plain set'))
  for (const r of inSync.filter((r) => r !== plain)) {
    const feeds = feedsOf(r.case)
    // Raw corestore in sync: scenario 8's d = 0 over a pipe, at the same number of feeds.
    const raw = rows.find(
      (x) =>
        x.scenario === '8 reconnect' &&
        x.metric === RAW_IN_SYNC &&
        x.transport === 'pipe' &&
        x.case.startsWith('d = 0,') &&
        feedsOf(x.case) === feeds
    )
    figure(
      r,
      `Reconnect in sync, ${r.case}: bytes on the wire`,
      plain ? 'a plain set of as many feeds' : null,
      plain?.multifeed ?? null,
      raw?.raw ?? null
    )
  }
  for (const metric of [NEW_PROTOCOL, NEW_OVERHEAD]) {
    for (const r of mine.filter((r) => r.metric === metric)) {
      const bytes = r.extra?.recordBytes
      const text =
        metric === NEW_PROTOCOL
          ? `Reconnect after ${r.case}: protocol bytes`
          : `… of which beyond the records and the in-sync reconnect (${/^d = [\d,]+/.exec(r.case)?.[0]})`
      figure(
        r,
        text,
        metric === NEW_PROTOCOL ? "the records' own bytes" : null,
        metric === NEW_PROTOCOL && typeof bytes === 'number' ? bytes : null
      )
    }
  }
  for (const r of mine.filter((r) => r.metric === BLOCK_CALL)) {
    figure(r, `${BLOCK_CALL}, ${r.case}`)
  }
  for (const r of mine.filter((r) => r.transport === 'cpu')) {
    const each = r.metric.endsWith('per record') ? ', per record' : ''
    figure(r, `CPU to verify ${r.case}${each}`, 'as many bare Ed25519 verifications', r.raw)
  }
  return out
}

/** The Markdown of the table, or null when the report has no scenario 17. */
export function moderationTable(rows: ReportRow[]): string | null {
  const figures = moderationFigures(rows)
  if (figures.length === 0) return null
  const lines = figures.map((f) => [
    f.figure,
    formatValue(f.value, f.unit),
    f.against === null ? '' : `${f.against}: ${formatValue(f.againstValue, f.unit)}`,
    formatRatio(f.ratio),
    f.raw === null ? '' : formatValue(f.raw, f.unit),
    f.target ?? '',
    formatMet(f.met)
  ])
  return markdownTable(
    ['figure', 'moderated set', 'compared with', 'ratio', 'raw corestore', 'target', 'met?'],
    lines
  )
}
