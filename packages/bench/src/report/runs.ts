// What a report is drawn from: one or more results files of `pnpm bench`. A
// later file's scenarios replace the same scenarios of an earlier one (e.g. a
// full run, then `--only 12` measured apart), so every scenario comes from
// exactly one run, and the report says which.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Results, Row } from '../types.js'

/** One results file, without its rows. */
export interface Run extends Omit<Results, 'rows'> {
  /** The file it was read from, as given. */
  file: string
}

export interface ReportRow extends Row {
  /** Index in `Report.runs` of the run that measured it. */
  run: number
}

export interface Report {
  runs: Run[]
  rows: ReportRow[]
}

/** The scenario's number, for ordering ("12 mesh" → 12); unnumbered ones last. */
export function scenarioNumber(scenario: string): number {
  const n = Number.parseInt(scenario, 10)
  return Number.isNaN(n) ? Number.POSITIVE_INFINITY : n
}

/** Merges results in order: each scenario from the last run that measured it. */
export function reportOf(results: Array<{ file: string; results: Results }>): Report {
  const runs: Run[] = []
  const bySource = new Map<string, ReportRow[]>()
  results.forEach(({ file, results: { rows, ...meta } }, run) => {
    runs.push({ ...meta, file })
    const scenarios = new Map<string, ReportRow[]>()
    for (const row of rows) {
      const list = scenarios.get(row.scenario) ?? []
      list.push({ ...row, run })
      scenarios.set(row.scenario, list)
    }
    for (const [scenario, list] of scenarios) bySource.set(scenario, list)
  })
  const rows = [...bySource.entries()]
    .sort(([a], [b]) => scenarioNumber(a) - scenarioNumber(b))
    .flatMap(([, list]) => list)
  return { runs, rows }
}

/** Reads results files (paths relative to `dir`, named in the report as given). */
export async function readReport(files: string[], dir = '.'): Promise<Report> {
  const results = []
  for (const file of files) {
    const parsed = JSON.parse(await readFile(resolve(dir, file), 'utf8')) as Results
    if (!Array.isArray(parsed.rows)) throw new Error(`${file} is not a results file of pnpm bench`)
    results.push({ file, results: parsed })
  }
  return reportOf(results)
}
