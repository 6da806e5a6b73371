#!/usr/bin/env node
// pnpm bench [--quick] [--reps N] [--out FILE] [--markdown FILE] [--only 1,2,...] [--transport pipe|swarm|process] [--process 1,2|none]
// pnpm bench --report-only FILE.json [--report-only MORE.json] [--markdown FILE]
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { now } from './clock.js'
import { progress } from './progress.js'
import { readReport, reportOf } from './report/runs.js'
import { writeReport } from './report/write.js'
import { config } from './scenarios/config.js'
import { ISSUE7_SCENARIOS, issue7Config } from './scenarios/issue7/config.js'
import { Issue7Runner } from './scenarios/issue7/Issue7Runner.js'
import { Runner } from './scenarios/Runner.js'
import { TMP_ROOT } from './tempStorage.js'
import type { Results, Transport } from './types.js'

/** Every scenario number the bench runs. */
const SCENARIOS = [1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]

const HELP = `Usage: pnpm bench [options]

Runs every scenario through multifeed and as raw corestore replication of the
same cores (the physical limit), over a pipe and over Hyperswarm on a loopback
testnet, and reports both and the ratio multifeed / raw: the report (Markdown)
goes to stdout, and to --markdown FILE when given; its charts (SVG) are
written next to the results file.

Options:
  --quick            every scenario at small size (a few minutes in total)
  --reps N           repetitions per measurement, median reported (default 3; 1 with --quick)
  --out FILE         machine-readable results (default bench-results/latest.json)
  --markdown FILE    also write the report there (e.g. BENCHMARKS.md)
  --only LIST        scenarios to run, e.g. 1,3,8 (default all: ${SCENARIOS.join(',')})
  --transport T      pipe, swarm (default both) or process: scenarios 1 and 2
                     with the serving side in a child process only (no other
                     transport, so the other scenarios measure nothing)
  --process LIST     which of scenarios 1 and 2 also sync with the serving side
                     in a child process (rows of transport "process"; default 2,
                     "none" for neither)
  --report-only FILE run nothing: render the report from results file(s) (repeat
                     the option to merge runs; a later file's scenarios replace
                     an earlier one's), charts next to the first file, Markdown
                     to --markdown (default BENCHMARKS.md)
  -h, --help         this text

Scenarios: 1 bulk, 2 many feeds, 3 discovery latency, 6 many multifeeds,
7 scaling curve, 8 reconnect after d changes, 9 open cost against the number
of feeds, 10 first block after a reconnect, 11 live append latency, 12 meshes
(the demo's and a 20-peer one), 13 mirrors (a mirror of an encrypted set: its
first sync, a member served by it, its open), 14 a mirror of 1,000 sets × 100
feeds in one process (open, RSS, in-sync reconnect), 15 encrypted against plain
bulk sync (CPU), 16 a reader of 10,000 entries served by a mirror against by the
writer, 17 moderated sets (block → no member serves the feed, reconnect bytes
with records, d new records, verification CPU). Sizes and durations: packages/bench/README.md.`

/** The commit the libraries were built from, with `+dirty` when the tree has changes. */
function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], {
      encoding: 'utf8'
    }).trim()
    return dirty ? `${head}+dirty` : head
  } catch {
    return null
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      out: { type: 'string', default: 'bench-results/latest.json' },
      markdown: { type: 'string' },
      only: { type: 'string' },
      transport: { type: 'string' },
      process: { type: 'string' },
      'report-only': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const args = process.argv.slice(2)
  const command = `pnpm bench${args.length ? ` ${args.join(' ')}` : ''}`
  const inputs = values['report-only']
  if (inputs) {
    const report = await readReport(inputs)
    const markdownFile = values.markdown ?? 'BENCHMARKS.md'
    const { files } = await writeReport(report, {
      chartsDir: dirname(resolve(inputs[0]!)),
      markdownFile,
      generatedBy: command
    })
    process.stdout.write(files.map((f) => `written: ${f}\n`).join(''))
    return 0
  }
  const reps = values.reps === undefined ? undefined : Number(values.reps)
  if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) {
    throw new Error(`--reps must be a positive integer, got ${values.reps}`)
  }
  const only = values.only?.split(',').map((s) => Number(s.trim()))
  if (only?.some((n) => !SCENARIOS.includes(n))) {
    throw new Error(
      `--only takes scenario numbers among ${SCENARIOS.join(',')} (4 and 5 were removed: 8 and 9 measure the same), got ${values.only}`
    )
  }
  let transports: Transport[] | undefined
  let processIn: number[] | undefined
  if (values.process !== undefined) {
    processIn =
      values.process === 'none' ? [] : values.process.split(',').map((s) => Number(s.trim()))
    if (processIn.some((n) => n !== 1 && n !== 2)) {
      throw new Error(`--process takes 1, 2 or none, got ${values.process}`)
    }
  }
  if (values.transport !== undefined) {
    if (values.transport === 'process') {
      transports = []
      processIn ??= [1, 2]
    } else if (values.transport !== 'pipe' && values.transport !== 'swarm') {
      throw new Error(`--transport is pipe, swarm or process, got ${values.transport}`)
    } else transports = [values.transport]
  }
  const cfg = config({ quick: values.quick, reps, only, transports, processIn })
  progress(
    `multifeed bench: ${cfg.quick ? 'quick' : 'full'} mode, ${cfg.reps} rep(s), transports ${[...cfg.transports, ...(cfg.processIn.size ? [`process (scenario ${[...cfg.processIn].join(', ')})`] : [])].join(', ')}, stores in ${TMP_ROOT}`
  )

  // The libraries are loaded from their dist/ once, at the start (the open scenario's
  // child processes load them again later): record the commit at both ends.
  const commitStart = gitCommit()
  const loadStart = os.loadavg()[0]!
  const t0 = now()
  const runner = new Runner(cfg)
  await runner.run()
  const scenarioMs = { ...runner.scenarioMs }
  const issue7 = new Set(only ?? ISSUE7_SCENARIOS)
  if (ISSUE7_SCENARIOS.some((n) => issue7.has(n))) {
    const i7 = new Issue7Runner(issue7Config({ quick: cfg.quick, reps }), issue7)
    runner.rows.push(...(await i7.run()))
    Object.assign(scenarioMs, i7.scenarioMs)
  }
  const results: Results = {
    date: new Date().toISOString(),
    command,
    commit: commitStart,
    commitAtEnd: gitCommit(),
    mode: cfg.quick ? 'quick' : 'full',
    reps: cfg.reps,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    tmpRoot: TMP_ROOT,
    durationMs: now() - t0,
    loadAverage: { start: loadStart, end: os.loadavg()[0]! },
    scenarioMs,
    rows: runner.rows
  }
  const out = resolve(values.out)
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
  const { markdown, files } = await writeReport(reportOf([{ file: values.out, results }]), {
    chartsDir: dirname(out),
    markdownFile: values.markdown ?? null,
    generatedBy: `pnpm bench --report-only ${values.out}`
  })
  process.stdout.write(
    `${markdown}\nresults written to ${out}\n${files.map((f) => `written: ${f}\n`).join('')}`
  )
  return runner.rows.some((r) => r.error) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(2)
  }
)
