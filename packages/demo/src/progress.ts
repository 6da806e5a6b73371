import type { Reporter, Snapshot, Summary } from './run.js'

/** Writes to a stream: the subset of `process.stdout` the reporters use. */
export interface Output {
  write(chunk: string): boolean
  readonly columns?: number
}

const BAR = 24

/** A progress bar and a peers × multifeeds table, redrawn in place (for a TTY). */
export function liveReporter(
  out: Output,
  options: { multifeeds: number; perCell: number; entries: number }
): Reporter {
  let drawn = 0
  let last = 0
  return {
    info(line) {
      out.write(`${line}\n`)
    },
    progress(s) {
      const now = Date.now()
      if (!s.done && now - last < 100) return
      last = now
      // Lines wider than the terminal would wrap and break the redraw: cut them.
      const width = Math.max(20, (out.columns ?? 120) - 1)
      const lines = [header(s), ...table(s, options)].map((line) => line.slice(0, width))
      let frame = drawn > 0 ? `\x1b[${drawn}F` : ''
      for (const line of lines) frame += `\x1b[2K${line}\n`
      out.write(frame)
      drawn = lines.length
    }
  }
}

/** One plain line per `everyMs` (for logs and pipes). */
export function plainReporter(out: Output, everyMs = 1000): Reporter {
  let last = -Infinity
  return {
    info(line) {
      out.write(`${line}\n`)
    },
    progress(s) {
      const now = Date.now()
      if (!s.done && now - last < everyMs) return
      last = now
      out.write(
        `[${s.seconds.toFixed(1).padStart(6)} s] ${pct(s.blocksHeld, s.blocksTarget).padStart(6)} blocks ${s.blocksHeld}/${s.blocksTarget}, feeds ${s.feedsHeld}/${s.feedsTarget}, connections ${s.connections}\n`
      )
    }
  }
}

export function silentReporter(): Reporter {
  return { info() {}, progress() {} }
}

function header(s: Snapshot): string {
  const ratio = s.blocksTarget === 0 ? 1 : s.blocksHeld / s.blocksTarget
  const full = Math.round(ratio * BAR)
  const bar = `${'█'.repeat(full)}${'░'.repeat(BAR - full)}`
  return `${bar} ${pct(s.blocksHeld, s.blocksTarget).padStart(6)} ${s.seconds.toFixed(1)} s  blocks ${s.blocksHeld}/${s.blocksTarget}  feeds ${s.feedsHeld}/${s.feedsTarget}  conns ${s.connections}`
}

function table(s: Snapshot, o: { multifeeds: number; perCell: number; entries: number }): string[] {
  const shown = Math.min(o.multifeeds, 8)
  const head = ['        ']
  for (let m = 0; m < shown; m++) head.push(`mf${m}`.padStart(12))
  if (shown < o.multifeeds) head.push(`  (+${o.multifeeds - shown} more)`)
  const rows = [head.join('')]
  s.cells.forEach((row, p) => {
    const cols = [`peer ${p}`.padEnd(8)]
    for (const cell of row.slice(0, shown)) {
      const target = o.perCell * o.entries
      cols.push(`${cell.feeds}/${o.perCell} ${pct(cell.blocks, target)}`.padStart(12))
    }
    rows.push(cols.join(''))
  })
  return rows
}

function pct(n: number, of: number): string {
  return `${of === 0 ? 100 : Math.floor((n / of) * 1000) / 10}%`
}

/** The summary block, ending with the one-line summary the tests look for. */
export function formatSummary(s: Summary): string {
  const pairs: number[] = []
  for (let i = 0; i < s.peers; i++) {
    for (let j = i + 1; j < s.peers; j++) {
      // A connection is counted on both ends; take the larger view of the pair.
      pairs.push(Math.max(s.connections[i]?.[j] ?? 0, s.connections[j]?.[i] ?? 0))
    }
  }
  const min = Math.min(...pairs)
  const max = Math.max(...pairs)
  const perPair = min === max ? `${min}` : `${min}-${max}`
  if (s.mirror !== undefined) {
    return `${[
      '',
      'summary',
      `  peers         ${s.peers} and a mirror (mirror keys: it cannot read the sets)`,
      `  multifeeds    ${s.multifeeds} (encrypted)`,
      `  feeds         ${s.feeds} (every peer holds all of them)`,
      `  blocks        ${s.blocks} written, ${s.replicatedBlocks} through the mirror`,
      `  seconds       ${s.seconds.toFixed(2)}`,
      `  meetings      ${s.mirror.meetings} connections between two peers`,
      '',
      `synced through a mirror: ${s.peers} peers, ${s.multifeeds} multifeeds, ${s.feeds} feeds, ${s.blocks} blocks, ${s.bytes} bytes in ${s.seconds.toFixed(2)} s; peers met: ${s.mirror.meetings}`
    ].join('\n')}\n`
  }
  const lines = [
    '',
    'summary',
    `  peers         ${s.peers}`,
    `  multifeeds    ${s.multifeeds}`,
    `  feeds         ${s.feeds} (every peer holds all of them)`,
    `  blocks        ${s.blocks} written, ${s.replicatedBlocks} replicated`,
    `  bytes         ${s.bytes} written, ${s.replicatedBytes} replicated`,
    `  protocol      ${s.protocolBytes} bytes sent by the multifeed protocol over ${s.protocolPeers} multifeed peers`,
    `  seconds       ${s.seconds.toFixed(2)}`,
    `  connections   ${perPair} per peer pair (${pairs.length} pairs)`,
    ...matrix(s),
    ...spamLines(s),
    '',
    `synced: ${s.peers} peers, ${s.multifeeds} multifeeds, ${s.feeds} feeds, ${s.blocks} blocks, ${s.bytes} bytes in ${s.seconds.toFixed(2)} s; connections per peer pair: ${perPair}`
  ]
  return `${lines.join('\n')}\n`
}

function spamLines(s: Summary): string[] {
  const spam = s.spam
  if (spam === null) return []
  const at = spam.blockedAt === null ? 'never' : `at ${spam.blockedAt.toFixed(2)} s`
  return [
    `  spammer       peer ${spam.peer}: ${spam.feeds} junk feeds (${spam.blocks} blocks) written, ${spam.refused} writer(s) refused after the block`,
    `  moderation    peer 0 blocked its identity ${at}; ${spam.tookBlock}/${s.peers} peers took the block`,
    `  spam listed   ${spam.listed} feed(s) on ${s.peers} peers: gone everywhere`
  ]
}

function matrix(s: Summary): string[] {
  if (s.peers > 12) return []
  const head = `                ${s.connections.map((_, j) => `p${j}`.padStart(4)).join('')}`
  return [
    head,
    ...s.connections.map(
      (row, i) =>
        `             p${i}`.padEnd(16) +
        row.map((n, j) => (i === j ? '   -' : `${n}`.padStart(4))).join('')
    )
  ]
}
