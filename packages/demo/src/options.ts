import { parseArgs } from 'node:util'

export interface DemoOptions {
  /** Number of peers, each with its own corestore and networker. */
  peers: number
  /** Number of multifeeds every peer swarms. */
  multifeeds: number
  /** Writers per peer per multifeed. */
  feeds: number
  /** Entries each writer appends. */
  entries: number
  /** Bytes per entry. */
  size: number
  /** Bound of the whole sync, in seconds. */
  timeout: number
  /** Join a real DHT through these bootstrap nodes instead of the embedded loopback testnet. */
  bootstrap: Array<{ host: string; port: number }> | null
  /** Progress display: `auto` (live table on a TTY, lines otherwise), `live`, `plain` or `none`. */
  progress: 'auto' | 'live' | 'plain' | 'none'
  /** Moderated multifeeds founded by peer 0; the last peer floods junk writers, peer 0 blocks it. */
  spammer: boolean
  /** Encrypted sets, a mirror peer that stays, writers online one at a time (never together). */
  mirror: boolean
}

export const USAGE = `Usage: multifeed-demo [options]

Starts a loopback DHT testnet (127.0.0.1), several peers with one Hyperswarm
networker each, and several multifeeds shared by all peers. Every peer writes
to its own feeds of every multifeed; the demo shows live progress until every
peer holds every feed with all blocks, then prints a summary.

Options:
  --peers N          peers (default 4)
  --multifeeds N     multifeeds shared by all peers (default 5)
  --feeds N          writers per peer per multifeed (default 1)
  --entries N        entries per writer (default 200)
  --size BYTES       bytes per entry (default 64)
  --timeout SECONDS  give up (exit 1) if sync takes longer (default 120)
  --bootstrap HOST:PORT[,HOST:PORT]
                     join that DHT instead of the embedded loopback testnet
                     (traffic leaves this machine: never use it in tests)
  --progress MODE    auto | live | plain | none (default auto: live on a TTY)
  --spammer          moderated multifeeds (peer 0 founds them): the last peer
                     floods junk writers, peer 0 blocks its identity, and the
                     run ends when no peer lists any of its feeds
  --mirror           encrypted multifeeds and one more peer, a mirror (mirror
                     keys: it cannot read them), that stays online while the
                     others come one at a time, write, and leave, then come back
                     one at a time and catch up: the peers never meet
  -h, --help         this help

Exit status: 0 when every peer holds every block (with --spammer: and no
peer lists a feed of the spammer), 1 when sync did not finish
within --timeout, 2 on bad arguments.`

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Parses the command line; throws `UsageError` on bad input, returns null for --help. */
export function parseOptions(argv: string[]): DemoOptions | null {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  const v = parsed.values
  if (v.help === true) return null
  const progress = v.progress ?? 'auto'
  if (progress !== 'auto' && progress !== 'live' && progress !== 'plain' && progress !== 'none') {
    throw new UsageError(`--progress must be auto, live, plain or none, got ${progress}`)
  }
  if (v.spammer === true && v.mirror === true) {
    throw new UsageError(
      '--spammer and --mirror cannot be combined (a moderated set and a mirror of an encrypted set are two demos)'
    )
  }
  return {
    peers: int('peers', v.peers, 4, 2, 64),
    multifeeds: int('multifeeds', v.multifeeds, 5, 1, 1000),
    feeds: int('feeds', v.feeds, 1, 1, 1000),
    entries: int('entries', v.entries, 200, 0, 10_000_000),
    size: int('size', v.size, 64, 1, 1 << 20),
    timeout: int('timeout', v.timeout, 120, 1, 86_400),
    bootstrap: v.bootstrap === undefined ? null : parseBootstrap(v.bootstrap),
    progress,
    spammer: v.spammer === true,
    mirror: v.mirror === true
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      peers: { type: 'string' },
      multifeeds: { type: 'string' },
      feeds: { type: 'string' },
      entries: { type: 'string' },
      size: { type: 'string' },
      timeout: { type: 'string' },
      bootstrap: { type: 'string' },
      progress: { type: 'string' },
      spammer: { type: 'boolean' },
      mirror: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}

function int(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got ${raw}`)
  const n = Number(raw)
  if (n < min || n > max)
    throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

function parseBootstrap(raw: string): Array<{ host: string; port: number }> {
  return raw.split(',').map((part) => {
    const m = /^(.+):(\d{1,5})$/.exec(part.trim())
    const port = m === null ? 0 : Number(m[2])
    if (m === null || port < 1 || port > 65535) {
      throw new UsageError(`--bootstrap expects host:port[,host:port], got ${part}`)
    }
    return { host: m[1]!, port }
  })
}
