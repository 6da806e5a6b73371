// How the report writes numbers and tables: a value in its row's unit, a
// ratio, a Markdown table (readable in a terminal and in BENCHMARKS.md).
import type { Row } from '../types.js'

export function num(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function formatValue(value: number | null, unit: Row['unit']): string {
  if (value === null || !Number.isFinite(value)) return '—'
  switch (unit) {
    case 'ms':
      return value >= 1000 ? `${num(value / 1000, 2)} s` : `${num(value, value >= 100 ? 0 : 1)} ms`
    case 'µs':
      return `${num(value, value >= 100 ? 0 : 1)} µs`
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

/** multifeed / raw: two decimals, or two significant digits below 0.1 (0.00034, not 0.00). */
export function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return ''
  if (ratio >= 0.1 || ratio === 0) return num(ratio, 2)
  return ratio.toPrecision(2)
}

export function formatMet(met: boolean | null, error?: string): string {
  if (error && met === null) return 'ERROR'
  if (met === null) return ''
  return met ? 'yes' : '**no**'
}

/** A Markdown table with its columns padded to one width. */
export function markdownTable(header: string[], lines: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|')
  const rows = lines.map((l) => l.map(cell))
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i]!.length)))
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n')
}

/** The rows of one scenario (or any rows when `withScenario`), as measured. */
export function table(rows: Row[], withScenario = true): string {
  // The column of release 0.1.0's figures only when some row has one.
  const with010 = rows.some((r) => r.release010 !== undefined)
  const header = [
    ...(withScenario ? ['scenario'] : []),
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
    ...(withScenario ? [r.scenario] : []),
    r.case,
    r.transport,
    r.metric,
    formatValue(r.multifeed, r.unit),
    formatValue(r.raw, r.unit),
    formatRatio(r.ratio),
    ...(with010 ? [r.release010 ?? ''] : []),
    r.target ?? '',
    formatMet(r.met, r.error)
  ])
  return markdownTable(header, lines)
}

export function errors(rows: Row[]): string[] {
  return rows
    .filter((r) => r.error)
    .map((r) => `${r.scenario} / ${r.case} / ${r.transport} / ${r.metric}: ${r.error}`)
}
