// Smoke test: the quick mode of the benchmark runs every scenario once, in a
// child process, and reports positive numbers for each. No time limit is
// asserted: the numbers are measured, not tested.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { costs } from '../src/report/questions.js'
import { reportOf } from '../src/report/runs.js'
import type { Results } from '../src/types.js'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const run = promisify(execFile)

describe('bench --quick', () => {
  let dir = ''
  let results: Results
  let stdout = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multifeed-bench-test-'))
    const out = join(dir, 'quick.json')
    const res = await run(process.execPath, [cli, '--quick', '--out', out], {
      maxBuffer: 16 * 1024 * 1024,
      // A generous bound so a hang fails instead of blocking CI; not a performance assertion.
      timeout: 15 * 60_000
    })
    stdout = res.stdout
    results = JSON.parse(await readFile(out, 'utf8')) as Results
  }, 16 * 60_000)

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('writes quick-mode results and prints the report', () => {
    expect(results.mode).toBe('quick')
    expect(stdout).toContain('## What does multifeed cost me?')
    expect(stdout).toContain('## Details')
  })

  it("answers every question of the report's opening table at quick size", () => {
    const table = costs(reportOf([{ file: 'quick.json', results }]).rows)
    const unanswered = table.filter((c) => c.ratio === null).map((c) => c.question)
    expect(unanswered).toEqual([])
  })

  it('reports no error in any scenario', () => {
    const errors = results.rows.filter((r) => r.error).map((r) => `${r.scenario}: ${r.error}`)
    expect(errors).toEqual([])
  })

  const scenarios = [
    '1 bulk',
    '2 many feeds',
    '3 discovery',
    '6 many multifeeds',
    '7 scaling',
    '8 reconnect',
    '9 open',
    '10 first block',
    '11 live latency',
    '12 mesh',
    '13 mirror',
    '14 mirror scale',
    '15 encryption',
    '16 mirror reader',
    '17 moderation'
  ]

  for (const scenario of scenarios) {
    it(`scenario ${scenario} completed with positive numbers`, () => {
      const rows = results.rows.filter((r) => r.scenario === scenario)
      expect(rows.length).toBeGreaterThan(0)
      for (const row of rows) {
        const label = `${row.scenario} / ${row.case} / ${row.transport} / ${row.metric}`
        expect(row.multifeed, label).not.toBeNull()
        expect(Number.isFinite(row.multifeed), label).toBe(true)
        // A memory delta can be negative (the collector ran) and a latency can
        // round to 0 on loopback: only counts, bytes and durations are signed.
        if (/RSS|heap/.test(row.metric)) continue
        // Counts may be 0 (an in-sync reconnect attaches no core).
        if (row.metric.includes('latency') || row.unit === 'count' || row.metric.includes('→')) {
          expect(row.multifeed!, label).toBeGreaterThanOrEqual(0)
        } else expect(row.multifeed!, label).toBeGreaterThan(0)
        if (row.raw !== null) expect(row.raw, label).toBeGreaterThanOrEqual(0)
      }
    })
  }

  it('measures moderated sets: the block in a mesh, reconnects beside a plain set, verification', () => {
    expect(stdout).toContain('### Moderated sets (issue 14)')
    const rows = results.rows.filter((r) => r.scenario === '17 moderation')
    const moved = rows.filter((r) => r.metric.startsWith('blocks of F'))
    expect(moved.length).toBe(4) // uploads and downloads; blocked while F spreads, and once held
    // Nothing of a blocked feed moves after the block reached a member.
    for (const r of moved) expect([r.metric, r.multifeed]).toEqual([r.metric, 0])
    const inSync = rows.filter((r) => r.metric.startsWith('all wire bytes, in-sync'))
    expect(inSync.map((r) => r.case)).toEqual([
      '100 feeds, plain set',
      '100 feeds, 0 records',
      '100 feeds, 10 records',
      '100 feeds, 100 records'
    ])
    for (const r of inSync.slice(1)) expect(r.extra?.plainSet, r.case).toBe(inSync[0]!.multifeed)
    const cpu = rows.find((r) => r.metric === 'CPU to verify')!
    expect(cpu.raw).toBeGreaterThan(0)
    expect(cpu.ratio).toBeCloseTo(cpu.multifeed! / cpu.raw!, 6)
  })

  it('measures raw corestore next to multifeed for the sync scenarios', () => {
    for (const scenario of ['1 bulk', '2 many feeds']) {
      for (const row of results.rows.filter((r) => r.scenario === scenario)) {
        expect(row.raw, `${scenario} ${row.transport}`).toBeGreaterThan(0)
      }
    }
    const transports = new Set(results.rows.map((r) => r.transport))
    expect(transports).toContain('pipe')
    expect(transports).toContain('swarm')
  })

  it('measures each mesh through multifeed and raw corestore in the same run, with their ratio', () => {
    const rows = results.rows.filter((r) => r.scenario === '12 mesh')
    const cases = new Set(rows.map((r) => `${r.case} / ${r.transport}`))
    expect(cases.size).toBe(4) // two meshes, two transports
    for (const c of cases) {
      const of = rows.filter((r) => `${r.case} / ${r.transport}` === c)
      expect(of.map((r) => r.metric).sort(), c).toEqual(
        [
          'time to converge',
          'blocks moved per second',
          'CPU time (all peers)',
          'blocks downloaded twice'
        ].sort()
      )
      const time = of.find((r) => r.metric === 'time to converge')!
      expect(time.raw, c).toBeGreaterThan(0)
      expect(time.ratio, c).toBeCloseTo(time.multifeed! / time.raw!, 6)
      if (time.transport === 'pipe') {
        // a pipe between every two peers (the swarm may hold a duplicate connection a moment)
        const peers = Number(/^(\d+) peers/.exec(time.case)![1])
        expect(time.extra?.connectionsMultifeed, c).toBe((peers * (peers - 1)) / 2)
        expect(time.extra?.connectionsRaw, c).toBe((peers * (peers - 1)) / 2)
      }
    }
  })

  it('reports scenario 2 like for like: both sources cold, and both warm', () => {
    const rows = results.rows.filter(
      (r) => r.scenario === '2 many feeds' && r.transport !== 'process'
    )
    const cases = new Set(rows.map((r) => `${r.case} / ${r.transport}`))
    expect(cases.size).toBe(4) // two shapes, two transports
    for (const c of cases) {
      const of = rows.filter((r) => `${r.case} / ${r.transport}` === c)
      expect(of.map((r) => r.metric).sort(), c).toEqual(
        [
          'sync time',
          'CPU time (both peers)',
          'sync time, cold source',
          'CPU time (both peers), cold source',
          'sync time, warm source',
          'CPU time (both peers), warm source'
        ].sort()
      )
      const feeds = Number(/^([\d,]+) feeds/.exec(of[0]!.case)![1]!.replace(/,/g, ''))
      for (const row of of) {
        const label = `${c} / ${row.metric}`
        expect(row.multifeed, label).toBeGreaterThan(0)
        expect(row.raw, label).toBeGreaterThan(0)
        const open = {
          multi: row.extra?.multifeedSourceCoresOpen,
          raw: row.extra?.rawSourceCoresOpen
        }
        // Multifeed's own: the store's owner record. A set that closed cleanly re-opens with
        // its membership log read from storage; the log's core opens with the set's first
        // core (to write the "opened" mark), so a warm source holds it too.
        const own = 1
        if (row.metric.endsWith('cold source')) {
          // No feed core open when the clock starts.
          expect(open, label).toEqual({ multi: own, raw: 0 })
        } else if (row.metric.endsWith('warm source')) {
          expect(open, label).toEqual({ multi: feeds + own + 1, raw: feeds })
        } else {
          // The rows as before: raw warm against multifeed cold.
          expect(open, label).toEqual({ multi: own, raw: feeds })
        }
      }
    }
  })

  it('reports scenario 2 with the serving side in a child process: wall time and each process CPU', () => {
    const rows = results.rows.filter(
      (r) => r.scenario === '2 many feeds' && r.transport === 'process'
    )
    const cases = new Set(rows.map((r) => r.case))
    expect(cases.size).toBe(2) // two shapes
    for (const c of cases) {
      const of = rows.filter((r) => r.case === c)
      expect(of.map((r) => r.metric).sort(), c).toEqual(
        ['sync time', 'CPU time (reader process)', 'CPU time (serving process)'].sort()
      )
      const feeds = Number(/^([\d,]+) feeds/.exec(c)![1]!.replace(/,/g, ''))
      for (const row of of) {
        const label = `${c} / ${row.metric}`
        expect(row.multifeed, label).toBeGreaterThan(0)
        expect(row.raw, label).toBeGreaterThan(0)
        // Counted in the child: raw warm holds every core, multifeed cold only the owner record.
        expect(
          { multi: row.extra?.multifeedSourceCoresOpen, raw: row.extra?.rawSourceCoresOpen },
          label
        ).toEqual({ multi: 1, raw: feeds })
      }
    }
    // Scenario 1 adds them only when asked (--process 1).
    expect(
      results.rows.filter((r) => r.scenario === '1 bulk' && r.transport === 'process')
    ).toEqual([])
  })

  it('measures a mirror of many sets in one process against raw corestore holding the same cores', () => {
    const rows = results.rows.filter((r) => r.scenario === '14 mirror scale')
    const metric = (m: string) => rows.find((r) => r.metric === m)!
    const bytes = metric('in-sync reconnect wire bytes (both ways)')
    expect(bytes.raw).toBeGreaterThan(0)
    expect(bytes.ratio).toBeCloseTo(bytes.multifeed! / bytes.raw!, 6)
    // The mirror opens no feed's core to open or to reconcile in sync: one log core per set.
    const sets = Number(/^([\d,]+) sets/.exec(bytes.case)![1]!.replace(/,/g, ''))
    const feeds = Number(/× ([\d,]+) feeds/.exec(bytes.case)![1]!.replace(/,/g, ''))
    expect(metric('cores open after the reconnect').multifeed).toBeLessThanOrEqual(sets + 1)
    expect(metric('cores open after the reconnect').raw).toBe(sets * feeds)
  })

  it('compares the CPU of an encrypted bulk sync with a plain one, against the target 1.10', () => {
    const rows = results.rows.filter(
      (r) => r.scenario === '15 encryption' && r.target === 'ratio ≤ 1.10'
    )
    expect(rows.length).toBe(4) // two shapes, two transports
    for (const row of rows) {
      const plain = results.rows.find(
        (r) =>
          r.scenario === row.scenario &&
          r.case === row.case &&
          r.transport === row.transport &&
          r.metric === 'plain set: CPU time (both peers)'
      )!
      expect(row.raw).toBe(plain.multifeed)
      expect(row.met).toBe(row.ratio! <= 1.1)
    }
  })

  it('compares a reader served by a mirror with one served by the writer', () => {
    const rows = results.rows.filter(
      (r) => r.scenario === '16 mirror reader' && r.metric.includes('raw column: by the writer')
    )
    expect(rows.length).toBe(2) // two transports
    for (const row of rows) expect(row.raw).toBeGreaterThan(0)
  })
})
