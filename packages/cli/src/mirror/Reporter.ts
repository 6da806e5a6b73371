import { type SetSnapshot, statusLine } from './SetState.js'

/** What a reporter writes to: stderr, or a fake one in tests. */
export interface Output {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

/** How often a TTY's status line is redrawn at most, and at least (bytes move meanwhile). */
const REDRAW_MS = 200
const HEARTBEAT_MS = 1_000
/** How often a plain log repeats a set's "syncing" line at most. */
const SYNCING_EVERY_MS = 1_000

/**
 * What `mirror run` tells the user. On a TTY: one status line, rewritten in place
 * (sets, peers, feeds, blocks, bytes, what is still syncing), the log lines above
 * it. Otherwise plain lines: the log, and for each set a line when it starts
 * syncing (then at most once a second while it does) and when it is in sync.
 */
export class Reporter {
  readonly #out: Output
  readonly #tty: boolean
  readonly #current: () => { sets: SetSnapshot[]; peers: number }
  /** Plain mode: what was last said of each set. */
  readonly #said = new Map<string, { state: string; line: string; at: number }>()
  #redraw: NodeJS.Timeout | null = null
  #heartbeat: NodeJS.Timeout | null = null
  #shown = false

  /** `heartbeat`: ms between redraws when nothing changes (tests set it out of their way). */
  constructor(
    out: Output,
    current: () => { sets: SetSnapshot[]; peers: number },
    heartbeat = HEARTBEAT_MS
  ) {
    this.#out = out
    this.#tty = out.isTTY === true
    this.#current = current
    if (this.#tty) {
      this.#heartbeat = setInterval(() => this.#draw(), heartbeat)
      this.#heartbeat.unref()
    }
  }

  /** A log line (above the status line on a TTY). */
  log(line: string): void {
    if (!this.#tty) {
      this.#out.write(`${line}\n`)
      return
    }
    this.#out.write(`${this.#shown ? '\r\x1b[K' : ''}${line}\n`)
    this.#shown = false
    this.#draw()
  }

  /** A set's state may have changed (a peer, a feed, a block). */
  changed(set: SetSnapshot, now = Date.now()): void {
    if (this.#tty) {
      this.#redraw ??= setTimeout(() => {
        this.#redraw = null
        this.#draw()
      }, REDRAW_MS)
      return
    }
    const said = this.#said.get(set.key)
    const line = plainLine(set)
    if (line === null || said?.line === line) return
    const repeat = said?.state === set.state
    if (set.state === 'syncing' && repeat && now - said.at < SYNCING_EVERY_MS) return
    this.#said.set(set.key, { state: set.state, line, at: now })
    this.#out.write(`${line}\n`)
  }

  /** A set left the mirror: forget what was said of it. */
  forget(key: string): void {
    this.#said.delete(key)
  }

  /** Stops redrawing; a TTY keeps the last status line. */
  close(): void {
    if (this.#redraw !== null) clearTimeout(this.#redraw)
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
    this.#redraw = this.#heartbeat = null
    if (this.#tty && this.#shown) this.#out.write('\n')
    this.#shown = false
  }

  #draw(): void {
    const { sets, peers } = this.#current()
    const line = statusLine(sets, peers)
    const width = this.#out.columns ?? 0
    const fitted = width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line
    this.#out.write(`\r\x1b[K${fitted}`)
    this.#shown = true
  }
}

/** A set's plain log line (its whole key: logs are read by programs too), or null for none (no peer: the peer lines say so). */
export function plainLine(set: SetSnapshot): string | null {
  const peers = `${set.peers} peer${set.peers === 1 ? '' : 's'}`
  if (set.state === 'in-sync') {
    return `${set.key} in sync: ${set.feeds} feeds, ${set.blocks} blocks (${peers})`
  }
  if (set.state === 'syncing') {
    return `${set.key} syncing: ${set.blocks} blocks held, ${set.left} left (${peers})`
  }
  return null
}
