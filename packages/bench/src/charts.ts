#!/usr/bin/env node
// SVG charts drawn from the bench's JSON results (hand-written SVG, no
// dependency): the reconnect cost against the number of changes (scenario 8)
// and the open cost against the number of feeds (scenario 9), multifeed next
// to raw corestore and to release 0.1.0.
//   node dist/charts.js results.json [outDir]   (default: the results' directory)
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Results, Row } from './types.js'

const COLORS = { multifeed: '#1f77b4', raw: '#d62728', release: '#7f7f7f', target: '#2ca02c' }
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

interface Series {
  name: string
  color: string
  dash?: string
  /** [x, y]; y null = no point. */
  points: Array<[number, number | null]>
  /** Markers only, no line. */
  markersOnly?: boolean
}

interface Panel {
  title: string
  yLabel: string
  /** Category labels (x = index) or numeric x on a log scale. */
  x:
    | { kind: 'categories'; labels: string[] }
    | { kind: 'log'; values: number[]; format(v: number): string }
  yFormat(v: number): string
  series: Series[]
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Powers of ten covering [min, max]. */
function decades(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min))
  const hi = Math.ceil(Math.log10(max))
  const out: number[] = []
  for (let e = lo; e <= hi; e++) out.push(10 ** e)
  return out
}

function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const m = { left: 70, right: 16, top: 30, bottom: 44 }
  const pw = w - m.left - m.right
  const ph = h - m.top - m.bottom
  const ys = p.series
    .flatMap((s) => s.points.map(([, y]) => y))
    .filter((y): y is number => y !== null && y > 0)
  const ticksY = ys.length ? decades(Math.min(...ys), Math.max(...ys)) : [1, 10]
  const [ly0, ly1] = [Math.log10(ticksY[0]!), Math.log10(ticksY.at(-1)!)]
  const sy = (y: number) =>
    y0 + m.top + ph - ((Math.log10(y) - ly0) / Math.max(ly1 - ly0, 1e-9)) * ph
  let sx: (x: number) => number
  let ticksX: Array<[number, string]>
  if (p.x.kind === 'categories') {
    const n = p.x.labels.length
    sx = (i: number) => x0 + m.left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw * 0.9 + pw * 0.05)
    ticksX = p.x.labels.map((label, i) => [i, label])
  } else {
    const { values, format } = p.x
    const [lx0, lx1] = [Math.log10(Math.min(...values)), Math.log10(Math.max(...values))]
    const span = Math.max(lx1 - lx0, 1e-9)
    sx = (v: number) => x0 + m.left + pw * 0.05 + ((Math.log10(v) - lx0) / span) * pw * 0.9
    ticksX = values.map((v) => [v, format(v)])
  }
  const out: string[] = []
  out.push(
    `<text x="${x0 + m.left}" y="${y0 + 18}" ${FONT} font-size="14" font-weight="600">${esc(p.title)}</text>`
  )
  out.push(
    `<rect x="${x0 + m.left}" y="${y0 + m.top}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`
  )
  for (const t of ticksY) {
    const y = sy(t).toFixed(1)
    out.push(
      `<line x1="${x0 + m.left}" x2="${x0 + m.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`
    )
    out.push(
      `<text x="${x0 + m.left - 6}" y="${y}" ${FONT} font-size="11" text-anchor="end" dominant-baseline="middle">${esc(p.yFormat(t))}</text>`
    )
  }
  for (const [v, label] of ticksX) {
    const x = sx(v).toFixed(1)
    out.push(
      `<line x1="${x}" x2="${x}" y1="${y0 + m.top + ph}" y2="${y0 + m.top + ph + 4}" stroke="#999"/>`
    )
    out.push(
      `<text x="${x}" y="${y0 + m.top + ph + 17}" ${FONT} font-size="11" text-anchor="middle">${esc(label)}</text>`
    )
  }
  out.push(
    `<text x="${x0 + 14}" y="${y0 + m.top + ph / 2}" ${FONT} font-size="11" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${y0 + m.top + ph / 2})">${esc(p.yLabel)}</text>`
  )
  for (const s of p.series) {
    const pts = s.points.filter((pt): pt is [number, number] => pt[1] !== null && pt[1] > 0)
    if (!s.markersOnly && pts.length > 1) {
      const d = pts
        .map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ')
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`
      )
    }
    for (const [x, y] of pts) {
      const [cx, cy] = [sx(x).toFixed(1), sy(y).toFixed(1)]
      out.push(
        s.markersOnly
          ? `<path d="M${Number(cx) - 6},${cy} h12" stroke="${s.color}" stroke-width="3"><title>${esc(`${s.name}: ${p.yFormat(y)}`)}</title></path>`
          : `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${p.yFormat(y)}`)}</title></circle>`
      )
    }
  }
  return out.join('\n')
}

function legend(series: Series[], x0: number, y0: number, width: number): string {
  const out: string[] = []
  let x = x0
  let y = y0
  for (const s of series) {
    const w = 34 + s.name.length * 6.4
    if (x + w > x0 + width) {
      x = x0
      y += 18
    }
    out.push(
      s.markersOnly
        ? `<path d="M${x},${y} h18" stroke="${s.color}" stroke-width="3"/>`
        : `<path d="M${x},${y} h18" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`
    )
    out.push(
      `<text x="${x + 24}" y="${y}" ${FONT} font-size="11" dominant-baseline="middle">${esc(s.name)}</text>`
    )
    x += w
  }
  return out.join('\n')
}

function svg(width: number, height: number, body: string, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<title>${esc(title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
${body}
</svg>
`
}

function bytesLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6} MB`
  if (v >= 1e3) return `${v / 1e3} kB`
  return `${v} B`
}

function msLabel(v: number): string {
  return v >= 1000 ? `${v / 1000} s` : `${v} ms`
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
export function reconnectChart(results: Results): string | null {
  const rows = results.rows.filter((r) => r.scenario === '8 reconnect')
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
export function openChart(results: Results): string | null {
  const rows = results.rows.filter((r) => r.scenario === '9 open' && /^[\d,]+ feeds$/.test(r.case))
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

/** Every chart the results allow, as file name → SVG. */
export function charts(results: Results): Array<{ file: string; svg: string }> {
  const out: Array<{ file: string; svg: string }> = []
  const rc = reconnectChart(results)
  if (rc) out.push({ file: 'reconnect-bytes.svg', svg: rc })
  const oc = openChart(results)
  if (oc) out.push({ file: 'open-cost.svg', svg: oc })
  return out
}

/** Writes the charts next to the results file; returns the paths written. */
export async function writeCharts(results: Results, dir: string): Promise<string[]> {
  const written: string[] = []
  for (const { file, svg } of charts(results)) {
    const path = join(dir, file)
    await writeFile(path, svg)
    written.push(path)
  }
  return written
}

async function main(): Promise<void> {
  const [input, outDir] = process.argv.slice(2)
  if (!input) throw new Error('usage: charts <results.json> [outDir]')
  const results = JSON.parse(await readFile(input, 'utf8')) as Results
  for (const path of await writeCharts(results, resolve(outDir ?? dirname(input)))) {
    process.stdout.write(`${path}\n`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
