// The report's charts, drawn from the measured rows (svg.ts draws): the cost
// ratios of the opening table (questions.ts), the reconnect cost against the
// number of changes (scenario 8) and the open cost against the number of
// feeds (scenario 9), multifeed next to raw corestore (and release 0.1.0).
import type { Row } from '../types.js'
import { formatRatio } from './format.js'
import type { Cost } from './questions.js'
import {
  type Bar,
  barPanel,
  bytesLabel,
  COLORS,
  FONT,
  legend,
  msLabel,
  panel,
  type Series,
  svg
} from './svg.js'

export interface Chart {
  file: string
  /** Alt text: what the chart shows. */
  title: string
  svg: string
}

function row(
  rows: Row[],
  scenario: string,
  metric: string,
  caseTest: (c: string) => boolean
): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.metric === metric && caseTest(r.case))
}

/** Reconnect bytes against d (scenario 8), or null without those rows. */
export function reconnectChart(all: Row[]): string | null {
  const rows = all.filter((r) => r.scenario === '8 reconnect')
  const ds = [
    ...new Set(
      rows
        .map((r) => /^d = (\d+)/.exec(r.case)?.[1])
        .filter(Boolean)
        .map(Number)
    )
  ].sort((a, b) => a - b)
  if (ds.length === 0) return null
  const n = /, ([\d,]+) feeds/.exec(rows[0]!.case)?.[1] ?? ''
  const at = (d: number) => (c: string) => c.startsWith(`d = ${d},`)
  const protocol = ds.map((d) =>
    row(rows, '8 reconnect', 'multifeed protocol bytes (both ways, pairing incl.)', at(d))
  )
  const wire = ds.map((d) =>
    row(rows, '8 reconnect', 'all wire bytes (both ways, until downloaded)', at(d))
  )
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  const targets: Record<number, number> = { 0: 1024, 1: 1024, 10: 4096, 100: 32768 }
  const series: Series[] = [
    {
      name: 'multifeed: protocol bytes',
      color: COLORS.multifeed,
      points: protocol.map((r, i) => [i, r?.multifeed ?? null])
    },
    {
      name: 'multifeed: all wire bytes',
      color: COLORS.multifeed,
      dash: '6 4',
      points: wire.map((r, i) => [i, r?.multifeed ?? null])
    },
    {
      name: 'raw corestore: all wire bytes',
      color: COLORS.raw,
      points: wire.map((r, i) => [i, r?.raw ?? null])
    },
    {
      name: '0.1.0: protocol bytes',
      color: COLORS.release,
      points: protocol.map((r, i) => [i, num(r?.extra?.release010Bytes)])
    },
    {
      name: '0.1.0: all wire bytes (in sync)',
      color: COLORS.release,
      dash: '6 4',
      markersOnly: true,
      points: wire.map((r, i) => [i, num(r?.extra?.release010Bytes)])
    },
    {
      name: 'issue 7 target (d = 0: wire; else protocol)',
      color: COLORS.target,
      markersOnly: true,
      points: ds.map((d, i) => [i, targets[d] ?? null])
    }
  ]
  const width = 720
  const body = [
    panel(
      {
        title: `Reconnect after d changes, ${n} feeds (log scale)`,
        yLabel: 'bytes, both directions',
        x: { kind: 'categories', labels: ds.map((d) => `d = ${d}`) },
        yFormat: bytesLabel,
        series
      },
      0,
      0,
      width,
      360
    ),
    legend(series, 70, 378, width - 80)
  ].join('\n')
  return svg(width, 420, body, `Reconnect bytes against the number of changes, ${n} feeds`)
}

/** Open time and RSS against the number of feeds (scenario 9), or null without those rows. */
export function openChart(all: Row[]): string | null {
  const rows = all.filter((r) => r.scenario === '9 open' && /^[\d,]+ feeds$/.test(r.case))
  const sizes = [...new Set(rows.map((r) => Number(r.case.replace(/[^\d]/g, ''))))].sort(
    (a, b) => a - b
  )
  if (sizes.length === 0) return null
  const get = (metric: string) =>
    sizes.map((n) => row(rows, '9 open', metric, (c) => Number(c.replace(/[^\d]/g, '')) === n))
  const fmtN = (v: number) => (v >= 1000 ? `${v / 1000}k` : String(v))
  const open = get('open time')
  const rss = get('RSS after open (whole process)')
  const sync = get('RSS after the first sync (whole process)')
  const largest = sizes.at(-1)!
  const s1: Series[] = [
    {
      name: 'multifeed: Multifeed.open()',
      color: COLORS.multifeed,
      points: open.map((r, i) => [sizes[i]!, r?.multifeed ?? null])
    },
    {
      name: 'raw corestore: get() + ready() of every core',
      color: COLORS.raw,
      points: open.map((r, i) => [sizes[i]!, r?.raw ?? null])
    },
    {
      name: 'target at 100k: 1 s',
      color: COLORS.target,
      markersOnly: true,
      points: largest >= 100_000 ? [[100_000, 1000]] : []
    }
  ]
  const s2: Series[] = [
    {
      name: 'multifeed after open',
      color: COLORS.multifeed,
      points: rss.map((r, i) => [sizes[i]!, r?.multifeed ?? null])
    },
    {
      name: 'multifeed after first sync',
      color: COLORS.multifeed,
      dash: '6 4',
      points: sync.map((r, i) => [sizes[i]!, r?.multifeed ?? null])
    },
    {
      name: 'raw after open',
      color: COLORS.raw,
      points: rss.map((r, i) => [sizes[i]!, r?.raw ?? null])
    },
    {
      name: 'raw after first sync',
      color: COLORS.raw,
      dash: '6 4',
      points: sync.map((r, i) => [sizes[i]!, r?.raw ?? null])
    },
    {
      name: 'target at 100k: 200 MB',
      color: COLORS.target,
      markersOnly: true,
      points: largest >= 100_000 ? [[100_000, 200e6 / 2 ** 20]] : []
    }
  ]
  const x = { kind: 'log' as const, values: sizes, format: fmtN }
  const body = [
    panel(
      {
        title: 'Open time against feeds (log–log)',
        yLabel: 'time',
        x,
        yFormat: msLabel,
        series: s1
      },
      0,
      0,
      460,
      340
    ),
    panel(
      {
        title: 'Resident memory (RSS, whole process)',
        yLabel: 'MiB',
        x,
        yFormat: (v) => `${v}`,
        series: s2
      },
      460,
      0,
      460,
      340
    ),
    legend(s1, 70, 360, 380),
    legend(s2, 530, 360, 380),
    `<text x="460" y="430" ${FONT} font-size="11" text-anchor="middle" fill="#555">number of feeds (log scale)</text>`
  ].join('\n')
  return svg(920, 440, body, 'Open cost against the number of feeds')
}

/** The opening table's ratios as bars around 1 (left: multifeed costs less than raw corestore). */
export function ratioChart(costs: Cost[]): string | null {
  const measured = costs.filter((c) => c.ratio !== null && c.ratio > 0)
  if (measured.length === 0) return null
  const bars: Bar[] = measured.map((c) => ({
    label: c.question.length > 64 ? `${c.question.slice(0, 63)}…` : c.question,
    value: c.ratio!,
    color: c.ratio! <= 1 ? COLORS.multifeed : '#ff7f0e',
    text: `${formatRatio(c.ratio)}×`
  }))
  const width = 1040
  const labelWidth = 450
  const { body, height } = barPanel(bars, {
    ref: 1,
    refLabel: 'same as raw corestore',
    labelWidth,
    width,
    barHeight: 26
  })
  // Centred under the plot (barPanel leaves 70 px beside it on each side).
  const caption = `<text x="${(labelWidth + width) / 2}" y="${height - 4}" ${FONT} font-size="11" text-anchor="middle" fill="#555">multifeed / raw corestore, same run (log scale): left of the line multifeed costs less</text>`
  return svg(width, height, `${body}\n${caption}`, 'What multifeed costs against raw corestore')
}

/** Every chart the rows allow, the ratio chart first. */
export function charts(rows: Row[], costs: Cost[]): Chart[] {
  const out: Chart[] = []
  const ratios = ratioChart(costs)
  if (ratios) {
    out.push({
      file: 'cost-ratios.svg',
      title: 'multifeed / raw corestore for each question of the table above (log scale)',
      svg: ratios
    })
  }
  const rc = reconnectChart(rows)
  if (rc) {
    out.push({
      file: 'reconnect-bytes.svg',
      title:
        'Reconnect bytes against the number of changes: multifeed protocol and wire bytes, raw corestore, 0.1.0, targets',
      svg: rc
    })
  }
  const oc = openChart(rows)
  if (oc) {
    out.push({
      file: 'open-cost.svg',
      title: 'Open time and RSS against the number of feeds: multifeed and raw corestore',
      svg: oc
    })
  }
  return out
}
