#!/usr/bin/env node
// pnpm bench [--quick] [--reps N] [--out FILE] [--only 1,2,...] [--transport pipe|swarm]
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { writeCharts } from './charts.js'
import { now } from './clock.js'
import { NETWORKER_SCALE_SIZES, runNetworkerScale } from './networker-scale.js'
import { progress } from './progress.js'
import { summary } from './report.js'
import { config } from './scenarios/config.js'
import { ISSUE7_SCENARIOS, issue7Config } from './scenarios/issue7/config.js'
import { Issue7Runner } from './scenarios/issue7/Issue7Runner.js'
import { Runner } from './scenarios/Runner.js'
import { TMP_ROOT } from './tempStorage.js'
import type { Results, Transport } from './types.js'

const HELP = `Usage: pnpm bench [options]

Runs every scenario through multifeed and as raw corestore replication of the
same cores (the physical limit), over a pipe and over Hyperswarm on a loopback
testnet, and reports both times and the ratio multifeed / raw.

Options:
  --quick            every scenario at small size (seconds in total)
  --reps N           repetitions per measurement, median reported (default 3; 1 with --quick)
  --out FILE         machine-readable results (default bench-results/latest.json)
  --only LIST        scenarios to run, e.g. 1,3,8 (default all: 1..12)
  --transport T      pipe or swarm (default both)
  --networker-scale [SIZES]
                     only the networker scale scenario: two networkers sharing
                     M multifeeds, swarm() and close() times (default 10,100,300,1000)
  -h, --help         this text

Scenarios: 1 bulk, 2 many feeds, 3 discovery latency, 4 reconnect in sync,
5 open, 6 many multifeeds, 7 scaling curve; issue 7: 8 reconnect after d
changes, 9 open cost against the number of feeds, 10 first block after a
reconnect, 11 live append latency; issue 13: 12 meshes (the demo's and a
20-peer one). Charts (SVG) of 8 and 9 are written next
to the results file.`

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
      only: { type: 'string' },
      transport: { type: 'string' },
      'networker-scale': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const reps = values.reps === undefined ? undefined : Number(values.reps)
  if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) {
    throw new Error(`--reps must be a positive integer, got ${values.reps}`)
  }
  const only = values.only?.split(',').map((s) => Number(s.trim()))
  if (only?.some((n) => !Number.isInteger(n) || n < 1 || n > 12)) {
    throw new Error(`--only takes scenario numbers 1..12, got ${values.only}`)
  }
  let transports: Transport[] | undefined
  if (values.transport !== undefined) {
    if (values.transport !== 'pipe' && values.transport !== 'swarm') {
      throw new Error(`--transport is pipe or swarm, got ${values.transport}`)
    }
    transports = [values.transport]
  }
  const cfg = config({ quick: values.quick, reps, only, transports })
  const command = `pnpm bench${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`
  progress(
    `multifeed bench: ${cfg.quick ? 'quick' : 'full'} mode, ${cfg.reps} rep(s), transports ${cfg.transports.join(', ')}, stores in ${TMP_ROOT}`
  )

  // The libraries are loaded from their dist/ once, at the start (the open scenario's
  // child processes load them again later): record the commit at both ends.
  const commitStart = gitCommit()
  const t0 = now()
  const runner = new Runner(cfg)
  const scale = values['networker-scale']
  if (scale === undefined) {
    await runner.run()
    const issue7 = new Set(only ?? ISSUE7_SCENARIOS)
    if (ISSUE7_SCENARIOS.some((n) => issue7.has(n))) {
      const i7 = new Issue7Runner(issue7Config({ quick: cfg.quick, reps }), issue7)
      runner.rows.push(...(await i7.run()))
    }
  } else {
    const sizes = scale === '' ? NETWORKER_SCALE_SIZES : scale.split(',').map(Number)
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error(`--networker-scale takes sizes like 10,100, got ${scale}`)
    }
    runner.rows.push(...(await runNetworkerScale(sizes)))
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
    rows: runner.rows
  }
  const out = resolve(values.out)
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
  const charts = await writeCharts(results, dirname(out))
  process.stdout.write(
    `${summary(results)}\n\nresults written to ${out}${charts.map((c) => `\nchart written to ${c}`).join('')}\n`
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
