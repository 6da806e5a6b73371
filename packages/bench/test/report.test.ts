// The report generator, from a fixture results file: the opening table's rows
// are picked and computed from the results (change a number, the table
// follows), the Markdown opens with that table and the charts, runs merge by
// scenario, and `--report-only` renders BENCHMARKS.md without running.
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { charts } from '../src/report/charts.js'
import { renderReport } from '../src/report/markdown.js'
import { type Cost, costs, QUESTIONS } from '../src/report/questions.js'
import { type Report, readReport, reportOf } from '../src/report/runs.js'
import { renderFiles } from '../src/report/write.js'
import type { Results } from '../src/types.js'

const fixtureFile = fileURLToPath(new URL('./fixtures/results.json', import.meta.url))
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

async function fixture(): Promise<Results> {
  return JSON.parse(await readFile(fixtureFile, 'utf8')) as Results
}

function reportFrom(results: Results): Report {
  return reportOf([{ file: 'bench-results/latest.json', results }])
}

function byQuestion(table: Cost[], start: string): Cost {
  const found = table.filter((c) => c.question.startsWith(start))
  expect(found, start).toHaveLength(1)
  return found[0]!
}

describe('the opening table: what does multifeed cost me?', () => {
  let results: Results
  let table: Cost[]

  beforeAll(async () => {
    results = await fixture()
    table = costs(reportFrom(results).rows)
  })

  it('has one row per question, in order', () => {
    expect(table).toHaveLength(QUESTIONS.length)
    expect(table.map((c) => c.measured === '')).toEqual(QUESTIONS.map(() => false))
  })

  it('leaves out the two-process question for results without those rows (older runs)', () => {
    const older = { ...results, rows: results.rows.filter((r) => r.transport !== 'process') }
    const without = costs(reportFrom(older).rows)
    expect(without).toHaveLength(QUESTIONS.length - 1)
    expect(without.some((c) => c.question.includes('two processes'))).toBe(false)
    // the other questions stay, measured or not
    const noMesh = { ...older, rows: older.rows.filter((r) => r.scenario !== '12 mesh') }
    const meshless = costs(reportFrom(noMesh).rows)
    expect(meshless).toHaveLength(QUESTIONS.length - 1)
    expect(meshless.filter((c) => c.measured === '').length).toBe(2)
  })

  it('answers each question with the row the results hold for it, and its ratio', () => {
    const expected: Array<[string, number, number, string]> = [
      // question (start), multifeed, raw, measured
      ['First sync of 1,000 feeds, as used', 3000, 2000, 'sync time (pipe)'],
      ['First sync of 1,000 feeds, like for like', 3000, 2500, 'sync time, cold source (pipe)'],
      // the largest shape of the two-process rows
      ['First sync of 1,000 feeds, peers in two processes', 2200, 2000, 'sync time (process)'],
      ['Reconnect in sync, 1,000 feeds', 600, 200_000, 'all wire bytes'],
      // the largest d measured, not the last listed
      ['Reconnect after 10 changes, 1,000 feeds', 16_000, 210_000, 'all wire bytes'],
      ['open() of 1,000 feeds', 15, 200, 'open time (disk)'],
      ['open() of 10,000 feeds', 60, 1500, 'open time (disk)'],
      ['Memory per feed (RSS slope, 100 → 10,000 feeds)', 0.9, 30, 'RSS slope'],
      // the meshes over Hyperswarm, ordered by peers although listed 20 first
      ['Mesh of 6 peers', 94_000, 112_000, 'time to converge (swarm)'],
      ['Mesh of 20 peers', 90_000, 180_000, 'time to converge (swarm)'],
      // the bulk shape with most feeds, over a pipe
      ['Bulk transfer (50 feeds × 100 blocks × 1 KiB)', 1100, 1000, 'CPU time (both peers) (pipe)']
    ]
    // in the order of the questions
    expect(table.map((c, i) => c.question.startsWith(expected[i]![0]))).toEqual(
      expected.map(() => true)
    )
    for (const [start, multifeed, raw, measured] of expected) {
      const c = byQuestion(table, start)
      expect(c.multifeed, start).toBe(multifeed)
      expect(c.raw, start).toBe(raw)
      expect(c.ratio, start).toBeCloseTo(multifeed / raw, 12)
      expect(c.measured, start).toContain(measured)
    }
  })

  it('holds a row to its own target, or to the one the question names', () => {
    expect(byQuestion(table, 'open() of 10,000').target).toBe('≤ 1 s')
    expect(byQuestion(table, 'open() of 10,000').met).toBe(true)
    expect(byQuestion(table, 'Bulk transfer').met).toBe(false)
    // reconnect after d: the wire bytes, held to the protocol-bytes target of the same d
    const d = byQuestion(table, 'Reconnect after 10 changes')
    expect(d.target).toBe('protocol bytes ≤ 4 KiB')
    expect(d.met).toBe(true)
  })

  it('follows the results: another number gives another ratio, a missing row says so', async () => {
    const changed = await fixture()
    for (const row of changed.rows) {
      if (row.scenario === '12 mesh' && row.case.startsWith('6 peers')) row.raw = 47_000
    }
    changed.rows = changed.rows.filter((r) => r.scenario !== '9 open')
    const again = costs(reportFrom(changed).rows)
    expect(byQuestion(again, 'Mesh of 6 peers').ratio).toBeCloseTo(94_000 / 47_000, 12)
    const open = again.filter((c) => c.question.startsWith('open()'))
    expect(open).toHaveLength(2)
    for (const c of open) {
      expect(c.measured).toBe('')
      expect(c.multifeed).toBeNull()
      expect(c.ratio).toBeNull()
    }
  })
})

describe('the Markdown report', () => {
  let md = ''
  let table: Cost[]

  beforeAll(async () => {
    const report = reportFrom(await fixture())
    table = costs(report.rows)
    const links = charts(report.rows, table).map((c) => ({
      href: `bench-results/${c.file}`,
      title: c.title
    }))
    md = renderReport(report, table, links, 'pnpm bench --report-only bench-results/latest.json')
  })

  it('opens with the cost table and the charts, the details after them', () => {
    const heading = md.indexOf('## What does multifeed cost me?')
    const chart = md.indexOf('![')
    const details = md.indexOf('## Details')
    expect(md.startsWith('# Benchmarks\n')).toBe(true)
    expect(heading).toBeGreaterThan(0)
    expect(chart).toBeGreaterThan(heading)
    expect(details).toBeGreaterThan(chart)
    for (const file of ['cost-ratios.svg', 'reconnect-bytes.svg', 'open-cost.svg']) {
      expect(md).toContain(`(bench-results/${file})`)
    }
  })

  it('writes each question with its numbers and ratio in the table', () => {
    const lines = md.split('\n')
    const first = lines.find((l) => l.startsWith('| First sync of 1,000 feeds, as used'))!
    expect(first.split('|').map((c) => c.trim())).toEqual([
      '',
      'First sync of 1,000 feeds, as used (raw holds its cores open)',
      'sync time (pipe)',
      '3.00 s',
      '2.00 s',
      '1.50',
      'ratio ≤ 1.05',
      '**no**',
      ''
    ])
    const inSync = lines.find((l) => l.startsWith('| Reconnect in sync'))!
    expect(inSync).toContain('| 0.0030 ')
    expect(inSync).toContain('| 600 B ')
  })

  it('gives every scenario of the results a section with its rows', () => {
    for (const title of [
      '### 1. Bulk',
      '### 2. First sync',
      '### 3. Discovery',
      '### 8. Reconnect'
    ]) {
      expect(md).toContain(title)
    }
    expect(md.indexOf('### 3.')).toBeLessThan(md.indexOf('### 12.'))
    expect(md).toContain('| 0.1.0 ') // scenario 8's column of release 0.1.0's figures
    expect(md).toContain('load average 1.2 at the start, 1.5 at the end')
  })
})

describe('runs merged by scenario', () => {
  it('takes each scenario from the last run that measured it, and says which', async () => {
    const full = await fixture()
    const mesh = await fixture()
    mesh.command = 'pnpm bench --only 12 --reps 1 --transport swarm --out bench-results/mesh.json'
    mesh.rows = mesh.rows
      .filter((r) => r.scenario === '12 mesh' && r.transport === 'swarm')
      .map((r) => ({ ...r, multifeed: r.multifeed! / 2 }))
    const report = reportOf([
      { file: 'bench-results/latest.json', results: full },
      { file: 'bench-results/mesh.json', results: mesh }
    ])
    const meshRows = report.rows.filter((r) => r.scenario === '12 mesh')
    expect(meshRows).toHaveLength(2) // the pipe row of the first run is gone with its scenario
    expect(meshRows.every((r) => r.run === 1)).toBe(true)
    expect(report.rows.filter((r) => r.scenario === '1 bulk').every((r) => r.run === 0)).toBe(true)
    const table = costs(report.rows)
    expect(byQuestion(table, 'Mesh of 20 peers').ratio).toBeCloseTo(45_000 / 180_000, 12)
    const md = renderReport(report, table, [], 'test')
    expect(md).toContain('From run 2 (`bench-results/mesh.json`).')
    expect(md).toContain('**Run 2**, `bench-results/mesh.json`')
  })
})

describe('pnpm bench --report-only', () => {
  let dir = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multifeed-report-test-'))
  })

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('renders the Markdown and the charts from a results file, running nothing', async () => {
    const input = join(dir, 'latest.json')
    await copyFile(fixtureFile, input)
    const markdown = join(dir, 'BENCHMARKS.md')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, '--report-only', input, '--markdown', markdown],
      { timeout: 30_000 }
    )
    expect(stdout).toContain(`written: ${markdown}`)
    expect((await readdir(dir)).sort()).toEqual(
      [
        'BENCHMARKS.md',
        'cost-ratios.svg',
        'latest.json',
        'open-cost.svg',
        'reconnect-bytes.svg'
      ].sort()
    )
    const md = await readFile(markdown, 'utf8')
    expect(md).toContain('](cost-ratios.svg)')
    expect(md).toContain(`pnpm bench --report-only ${input} --markdown ${markdown}`)
    const svg = await readFile(join(dir, 'cost-ratios.svg'), 'utf8')
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('Mesh of 20 peers') // a bar per measured question
    expect(svg).toContain('0.50×')
  })
})

describe('the committed BENCHMARKS.md', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url))

  it('is what the generator renders from the committed results (the command at its top)', async () => {
    const committed = await readFile(join(root, 'BENCHMARKS.md'), 'utf8')
    const command = /^<!-- Generated by packages\/bench \(src\/report\/\) with `([^`]+)`/m.exec(
      committed
    )?.[1]
    expect(command, 'the generated-by line').toBeDefined()
    const inputs = [...command!.matchAll(/--report-only (\S+)/g)].map((m) => m[1]!)
    expect(inputs.length).toBeGreaterThan(0)
    const { markdown, charts } = renderFiles(await readReport(inputs, root), {
      chartsDir: dirname(join(root, inputs[0]!)),
      markdownFile: join(root, 'BENCHMARKS.md'),
      generatedBy: command!
    })
    // Re-render with that command after changing the generator or the results.
    expect(markdown).toBe(committed)
    for (const chart of charts) {
      expect(await readFile(chart.path, 'utf8'), chart.path).toBe(chart.svg)
    }
  })
})
