// The report's table of moderated sets (scenario 17): its figures come from
// the rows (another number, another ratio), the in-sync reconnect sits beside
// the plain set and raw corestore's scenario 8 figure at the same number of
// feeds, and a report without scenario 17 has no such table.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { renderReport } from '../src/report/markdown.js'
import { moderationFigures, moderationTable } from '../src/report/moderation.js'
import { costs } from '../src/report/questions.js'
import { reportOf } from '../src/report/runs.js'
import { completeRow, type RowInput } from '../src/scenarios/rows.js'
import type { Results, Row } from '../src/types.js'

const fixtureFile = fileURLToPath(new URL('./fixtures/results.json', import.meta.url))

const S = '17 moderation'
const IN_SYNC = 'all wire bytes, in-sync reconnect (both ways)'

function row(r: Partial<RowInput> & Pick<RowInput, 'case' | 'metric' | 'multifeed'>): Row {
  return completeRow({
    scenario: S,
    transport: 'pipe',
    unit: 'B',
    raw: null,
    target: null,
    ...r
  })
}

/** Scenario 17's rows at 1,000 feeds (the fixture's scenario 8 has 1,000 feeds). */
function moderationRows(plain: number): Row[] {
  return [
    row({
      case: '10 peers, F of 100 × 1 KiB',
      metric: 'block() → no member serves F, p50',
      unit: 'ms',
      multifeed: 400
    }),
    row({
      case: '10 peers, F of 100 × 1 KiB',
      metric: 'block() → no member serves F, p99',
      unit: 'ms',
      multifeed: 900
    }),
    row({
      case: '10 peers, F of 100 × 1 KiB',
      metric: 'blocks of F uploaded by a member after the block reached it',
      unit: 'count',
      multifeed: 0,
      target: '= 0',
      met: true
    }),
    row({ case: '1,000 feeds, plain set', metric: IN_SYNC, multifeed: plain }),
    row({
      case: '1,000 feeds, 0 records',
      metric: IN_SYNC,
      multifeed: 700,
      target: '≤ 1 KiB',
      met: true
    }),
    row({
      case: '1,000 feeds, 1,000 records',
      metric: IN_SYNC,
      multifeed: 780,
      target: '≤ 1 KiB',
      met: true
    }),
    row({
      case: 'd = 10 new records, 1,000 feeds, 1,000 records held',
      metric: 'multifeed protocol bytes (both ways, pairing incl.)',
      multifeed: 4800,
      extra: { d: 10, recordBytes: 1780 }
    }),
    row({
      case: '10,000 block records',
      transport: 'cpu',
      metric: 'CPU to verify',
      unit: 'ms',
      multifeed: 1300,
      raw: 520
    })
  ]
}

async function resultsWith(rows: Row[]): Promise<Results> {
  const results = JSON.parse(await readFile(fixtureFile, 'utf8')) as Results
  results.rows.push(...rows)
  return results
}

describe("the report's table of moderated sets", () => {
  it('takes each figure from the rows, beside the plain set, raw corestore or Ed25519', async () => {
    const report = reportOf([{ file: 'x.json', results: await resultsWith(moderationRows(600)) }])
    const figures = moderationFigures(report.rows)
    const find = (start: string) => {
      const found = figures.filter((f) => f.figure.startsWith(start))
      expect(found, start).toHaveLength(1)
      return found[0]!
    }
    expect(find('block() → no member serves F, p99').value).toBe(900)
    expect(find('blocks of F uploaded').met).toBe(true)
    const inSync = find('Reconnect in sync, 1,000 feeds, 1,000 records')
    expect(inSync.value).toBe(780)
    expect(inSync.againstValue).toBe(600)
    expect(inSync.ratio).toBeCloseTo(780 / 600, 12)
    // The fixture's scenario 8: raw corestore in sync at 1,000 feeds, d = 0.
    expect(inSync.raw).toBe(200_000)
    const d = find('Reconnect after d = 10 new records')
    expect([d.value, d.againstValue]).toEqual([4800, 1780])
    const cpu = find('CPU to verify 10,000 block records')
    expect(cpu.ratio).toBeCloseTo(1300 / 520, 12)

    const other = reportOf([{ file: 'x.json', results: await resultsWith(moderationRows(390)) }])
    expect(
      moderationFigures(other.rows).find((f) => f.figure.includes('1,000 records'))!.ratio
    ).toBeCloseTo(780 / 390, 12)
  })

  it('is in the Markdown after the opening table only when the report has scenario 17', async () => {
    const withRows = reportOf([{ file: 'x.json', results: await resultsWith(moderationRows(600)) }])
    const md = renderReport(withRows, costs(withRows.rows), [], 'test')
    const at = md.indexOf('### Moderated sets (issue 14)')
    expect(at).toBeGreaterThan(md.indexOf('## What does multifeed cost me?'))
    expect(at).toBeLessThan(md.indexOf('## Run'))
    expect(md).toContain('| 780 B ')
    expect(md).toContain('### 17. Moderated sets')

    const without = reportOf([{ file: 'x.json', results: await resultsWith([]) }])
    expect(moderationTable(without.rows)).toBeNull()
    expect(renderReport(without, costs(without.rows), [], 'test')).not.toContain('Moderated sets')
  })
})
