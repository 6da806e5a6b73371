// Writes a report: the charts (SVG) into a directory, BENCHMARKS.md (or
// another file) linking to them; returns the Markdown (the CLI prints it).
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve, sep } from 'node:path'
import { charts } from './charts.js'
import { type ChartLink, renderReport } from './markdown.js'
import { costs } from './questions.js'
import type { Report } from './runs.js'

export interface Written {
  markdown: string
  files: string[]
}

export async function writeReport(
  report: Report,
  opts: { chartsDir: string; markdownFile: string | null; generatedBy: string }
): Promise<Written> {
  const table = costs(report.rows)
  const files: string[] = []
  const links: ChartLink[] = []
  const from = resolve(opts.markdownFile ? dirname(opts.markdownFile) : '.')
  await mkdir(opts.chartsDir, { recursive: true })
  for (const chart of charts(report.rows, table)) {
    const path = resolve(opts.chartsDir, chart.file)
    await writeFile(path, chart.svg)
    files.push(path)
    links.push({ href: relative(from, path).split(sep).join('/'), title: chart.title })
  }
  const markdown = renderReport(report, table, links, opts.generatedBy)
  if (opts.markdownFile) {
    await mkdir(dirname(resolve(opts.markdownFile)), { recursive: true })
    await writeFile(opts.markdownFile, markdown)
    files.push(resolve(opts.markdownFile))
  }
  return { markdown, files }
}
