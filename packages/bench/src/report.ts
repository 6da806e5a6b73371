import type { Results, Row } from './types.js'

function num(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function formatValue(value: number | null, unit: Row['unit']): string {
  if (value === null || !Number.isFinite(value)) return '—'
  switch (unit) {
    case 'ms':
      return value >= 1000 ? `${num(value / 1000, 2)} s` : `${num(value, value >= 100 ? 0 : 1)} ms`
    case 'ms/feed':
      return `${num(value, value >= 10 ? 1 : 3)} ms`
    case 'B':
      return value >= 10 * 1024 ? `${num(value / 1024, 1)} KiB` : `${num(value, 0)} B`
    case 'KiB/feed':
      return `${num(value, 1)} KiB`
    case 'x':
      return `${num(value, 2)}×`
    case 'count':
      return num(value, 0)
  }
}

function met(row: Row): string {
  if (row.error && row.met === null) return 'ERROR'
  if (row.met === null) return ''
  return row.met ? 'yes' : '**no**'
}

/** A Markdown table: readable in a terminal and pasted as is into BENCHMARKS.md. */
export function table(rows: Row[]): string {
  const header = [
    'scenario',
    'case',
    'transport',
    'metric',
    'multifeed',
    'raw corestore',
    'ratio',
    'target',
    'met'
  ]
  const lines = rows.map((r) => [
    r.scenario,
    r.case,
    r.transport,
    r.metric,
    formatValue(r.multifeed, r.unit),
    formatValue(r.raw, r.unit),
    r.ratio === null ? '' : `${num(r.ratio, 2)}`,
    r.target ?? '',
    met(r)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n')
}

export function errors(rows: Row[]): string[] {
  return rows
    .filter((r) => r.error)
    .map((r) => `${r.scenario} / ${r.case} / ${r.transport} / ${r.metric}: ${r.error}`)
}

export function summary(results: Results): string {
  const lines = [
    `multifeed benchmarks — ${results.date}`,
    `command: ${results.command}${results.commit ? ` (commit ${results.commit})` : ''}`,
    ...(results.commitAtEnd !== results.commit
      ? [`warning: the tree changed during the run (commit at the end: ${results.commitAtEnd})`]
      : []),
    `mode: ${results.mode}, median of ${results.reps} rep(s); node ${results.node}, ${results.platform}, ${results.cpus} cores, ${results.memoryGiB} GiB; stores in ${results.tmpRoot}; total ${(results.durationMs / 1000).toFixed(0)} s`,
    '',
    table(results.rows)
  ]
  const errs = errors(results.rows)
  if (errs.length) lines.push('', 'Errors:', ...errs.map((e) => `- ${e}`))
  return lines.join('\n')
}
