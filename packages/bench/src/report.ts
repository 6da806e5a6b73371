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
      if (value >= 10 * 1024 * 1024) return `${num(value / 1024 / 1024, 2)} MiB`
      return value >= 10 * 1024 ? `${num(value / 1024, 1)} KiB` : `${num(value, 0)} B`
    case 'KiB/feed':
      return `${num(value, 1)} KiB`
    case 'x':
      return `${num(value, 2)}×`
    case 'count':
      return num(value, 0)
    case 'MiB':
      return `${num(value, value >= 100 ? 0 : 1)} MiB`
    case 'rt':
      return `${num(value, Number.isInteger(value) ? 0 : 1)} RT`
    case 'blocks/s':
      return `${num(value, 0)}/s`
  }
}

function met(row: Row): string {
  if (row.error && row.met === null) return 'ERROR'
  if (row.met === null) return ''
  return row.met ? 'yes' : '**no**'
}

/** A Markdown table: readable in a terminal and pasted as is into BENCHMARKS.md. */
export function table(rows: Row[]): string {
  // The column of release 0.1.0's figures only when some row has one.
  const with010 = rows.some((r) => r.release010 !== undefined)
  const header = [
    'scenario',
    'case',
    'transport',
    'metric',
    'multifeed',
    'raw corestore',
    'ratio',
    ...(with010 ? ['0.1.0'] : []),
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
    ...(with010 ? [r.release010 ?? ''] : []),
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
    ''
  ]
  // Issue 7's scenarios (8 to 11) in a table of their own, with release 0.1.0's column.
  const issue7 = (r: Row) => {
    const n = Number.parseInt(r.scenario, 10)
    return n >= 8 && n <= 11
  }
  const before = results.rows.filter((r) => !issue7(r))
  const after = results.rows.filter(issue7)
  if (before.length) lines.push(table(before))
  if (before.length && after.length) lines.push('')
  if (after.length) lines.push(table(after))
  const errs = errors(results.rows)
  if (errs.length) lines.push('', 'Errors:', ...errs.map((e) => `- ${e}`))
  return lines.join('\n')
}
