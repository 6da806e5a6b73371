// Hand-written SVG, no dependency: the pieces every chart of the report is
// drawn with. A panel of lines on log scales (x: categories or log), a legend,
// a panel of horizontal bars on a log scale (ratios), the document around them.

export const COLORS = {
  multifeed: '#1f77b4',
  raw: '#d62728',
  release: '#7f7f7f',
  target: '#2ca02c'
}
export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

export interface Series {
  name: string
  color: string
  dash?: string
  /** [x, y]; y null = no point. */
  points: Array<[number, number | null]>
  /** Markers only, no line. */
  markersOnly?: boolean
}

export interface Panel {
  title: string
  yLabel: string
  /** Category labels (x = index) or numeric x on a log scale. */
  x:
    | { kind: 'categories'; labels: string[] }
    | { kind: 'log'; values: number[]; format(v: number): string }
  yFormat(v: number): string
  series: Series[]
}

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Powers of ten covering [min, max]. */
export function decades(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min))
  const hi = Math.ceil(Math.log10(max))
  const out: number[] = []
  for (let e = lo; e <= hi; e++) out.push(10 ** e)
  return out
}

export function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
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

export function legend(series: Series[], x0: number, y0: number, width: number): string {
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

export function svg(width: number, height: number, body: string, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<title>${esc(title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
${body}
</svg>
`
}

export function bytesLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6} MB`
  if (v >= 1e3) return `${v / 1e3} kB`
  return `${v} B`
}

export function msLabel(v: number): string {
  return v >= 1000 ? `${v / 1000} s` : `${v} ms`
}

export interface Bar {
  label: string
  value: number
  color: string
  /** Shown at the end of the bar. */
  text: string
}

/**
 * Horizontal bars on a log scale around a reference value (`ref`, drawn as a
 * line): a bar grows from the reference to its value, left when smaller.
 */
export function barPanel(
  bars: Bar[],
  opts: { ref: number; refLabel: string; labelWidth: number; width: number; barHeight: number }
): { body: string; height: number } {
  const { ref, labelWidth, width, barHeight } = opts
  const top = 24
  // Room on both sides of the plot for the value written at a bar's end.
  const left = labelWidth + 70
  const right = 70
  const pw = width - left - right
  const values = [ref, ...bars.map((b) => b.value)].filter((v) => v > 0)
  const ticks = decades(Math.min(...values), Math.max(...values))
  const [l0, l1] = [Math.log10(ticks[0]!), Math.log10(ticks.at(-1)!)]
  const sx = (v: number) => left + ((Math.log10(v) - l0) / Math.max(l1 - l0, 1e-9)) * pw
  const height = top + bars.length * barHeight + 40
  const out: string[] = []
  for (const t of ticks) {
    const x = sx(t).toFixed(1)
    out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${height - 34}" stroke="#eee"/>`)
    const label = t >= 1 ? `${t}×` : `${t.toPrecision(1)}×`
    out.push(
      `<text x="${x}" y="${height - 20}" ${FONT} font-size="11" text-anchor="middle">${esc(label)}</text>`
    )
  }
  bars.forEach((b, i) => {
    const y = top + i * barHeight
    const x0 = sx(ref)
    const x1 = sx(b.value)
    const [x, w] = x1 >= x0 ? [x0, x1 - x0] : [x1, x0 - x1]
    out.push(
      `<text x="${labelWidth}" y="${(y + barHeight / 2).toFixed(1)}" ${FONT} font-size="12" text-anchor="end" dominant-baseline="middle">${esc(b.label)}</text>`
    )
    out.push(
      `<rect x="${x.toFixed(1)}" y="${(y + 4).toFixed(1)}" width="${Math.max(w, 1).toFixed(1)}" height="${barHeight - 8}" fill="${b.color}"><title>${esc(`${b.label}: ${b.text}`)}</title></rect>`
    )
    const tx = x1 >= x0 ? x1 + 4 : x1 - 4
    out.push(
      `<text x="${tx.toFixed(1)}" y="${(y + barHeight / 2).toFixed(1)}" ${FONT} font-size="11" text-anchor="${x1 >= x0 ? 'start' : 'end'}" dominant-baseline="middle">${esc(b.text)}</text>`
    )
  })
  const xr = sx(ref).toFixed(1)
  out.push(
    `<line x1="${xr}" x2="${xr}" y1="${top - 6}" y2="${height - 34}" stroke="#333" stroke-width="1.5"/>`
  )
  out.push(
    `<text x="${xr}" y="${top - 10}" ${FONT} font-size="11" text-anchor="middle">${esc(opts.refLabel)}</text>`
  )
  return { body: out.join('\n'), height }
}
