// Writes a report: the charts (SVG) into a directory, BENCHMARKS.md (or
// another file) linking to them; returns the Markdown (the CLI prints it).
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve, sep } from 'node:path'
import { charts } from './charts.js'
import { type ChartLink, renderReport } from './markdown.js'
import { costs } from './questions.js'
import type { Report } from './runs.js'

export interface ReportOptions {
  chartsDir: string
  /** Where the Markdown goes (its links to the charts are relative to it), or null: stdout only. */
  markdownFile: string | null
  /** The command that renders this report again, named at its top. */
  generatedBy: string
}

export interface Rendered {
  markdown: string
  /** Absolute path and content of each chart. */
  charts: Array<{ path: string; svg: string }>
}

/** The report's files, not written. */
export function renderFiles(report: Report, opts: ReportOptions): Rendered {
  const table = costs(report.rows)
  const from = resolve(opts.markdownFile ? dirname(opts.markdownFile) : '.')
  const files: Rendered['charts'] = []
  const links: ChartLink[] = []
  for (const chart of charts(report.rows, table)) {
    const path = resolve(opts.chartsDir, chart.file)
    files.push({ path, svg: chart.svg })
    links.push({ href: relative(from, path).split(sep).join('/'), title: chart.title })
  }
  return { markdown: renderReport(report, table, links, opts.generatedBy), charts: files }
}

/** Writes the charts and the Markdown file; returns the Markdown and the paths written. */
export async function writeReport(
  report: Report,
  opts: ReportOptions
): Promise<{ markdown: string; files: string[] }> {
  const { markdown, charts } = renderFiles(report, opts)
  const files: string[] = []
  await mkdir(opts.chartsDir, { recursive: true })
  for (const { path, svg } of charts) {
    await writeFile(path, svg)
    files.push(path)
  }
  if (opts.markdownFile) {
    await mkdir(dirname(resolve(opts.markdownFile)), { recursive: true })
    await writeFile(opts.markdownFile, markdown)
    files.push(resolve(opts.markdownFile))
  }
  return { markdown, files }
}
