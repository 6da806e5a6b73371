/**
 * The simulator's flags: what a run is made of. A seed and these options name
 * a run: the same ones give the same event schedule (schedule.ts), and a
 * violation prints them back as the command that reproduces it.
 */
import { parseArgs } from 'node:util'

export type Transport = 'inprocess' | 'testnet'

export interface SimOptions {
  /** Seeds to run, one after the other. */
  seeds: number[]
  /** Peers in the mesh, hostile ones included. */
  peers: number
  /** Length of the eventful part of a run; the quiet phase and the final checks follow. */
  seconds: number
  /** Multifeeds (sets); each peer is a member of some of them. */
  sets: number
  /** Share of the peers that are hostile members (0 to 0.5). */
  hostile: number
  /** Peers that run in child processes over the loopback testnet (crashed by SIGKILL). */
  children: number
  /** Most links an in-process peer makes itself (0: every pair sharing a set is linked). */
  degree: number
  /** How the in-process peers connect: an in-process hub (links we control) or the loopback testnet. */
  transport: Transport
  /** Longest wait for the mesh to converge after the last event, in seconds. */
  settle: number
  /**
   * Moderated sets: peer 0 founds every set, two honest peers are granted
   * moderators, a spammer floods new writers, and the schedule adds
   * moderation events (block, unblock, grant, revoke).
   */
  moderated: boolean
  /** Print every event as it runs. */
  verbose: boolean
}

export const DEFAULTS: Omit<SimOptions, 'seeds'> = {
  peers: 20,
  seconds: 30,
  sets: 3,
  hostile: 0.1,
  children: 2,
  degree: 12,
  transport: 'inprocess',
  settle: 60,
  moderated: false,
  verbose: false
}

export class UsageError extends Error {}

export const USAGE = `pnpm sim [options]

  --seed N[,N…]     seeds to run (default 1)
  --seeds K         run seeds 1..K (instead of --seed)
  --peers P         peers in the mesh, 2 to 200 (default ${DEFAULTS.peers})
  --seconds S       length of the eventful part (default ${DEFAULTS.seconds})
  --sets M          multifeeds (default ${DEFAULTS.sets})
  --hostile F       share of hostile members, 0 to 0.5 (default ${DEFAULTS.hostile})
  --children C      peers in child processes over the loopback testnet, crashed by SIGKILL (default ${DEFAULTS.children})
  --degree D        links an in-process peer makes itself, topped up when one closes; 0: full mesh (default ${DEFAULTS.degree})
  --transport T     inprocess (default) or testnet: how the in-process peers connect
  --settle S        longest wait for convergence after the last event (default ${DEFAULTS.settle})
  --moderated       moderated sets: a founder, moderators, a spammer, blocks and unblocks
  --verbose         print every event
`

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n)) throw new UsageError(`${name} expects a number, got ${value}`)
  return n
}

export function parseOptions(argv: string[]): SimOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      peers: { type: 'string' },
      seconds: { type: 'string' },
      sets: { type: 'string' },
      hostile: { type: 'string' },
      children: { type: 'string' },
      degree: { type: 'string' },
      transport: { type: 'string' },
      settle: { type: 'string' },
      moderated: { type: 'boolean' },
      verbose: { type: 'boolean' }
    },
    strict: true
  })
  let seeds = [1]
  if (v.seeds !== undefined) {
    const k = number(v.seeds, '--seeds', 1)
    seeds = Array.from({ length: k }, (_, i) => i + 1)
  } else if (v.seed !== undefined) {
    seeds = v.seed.split(',').map((s) => number(s, '--seed', 1))
  }
  const transport = (v.transport ?? DEFAULTS.transport) as Transport
  const options: SimOptions = {
    seeds,
    peers: number(v.peers, '--peers', DEFAULTS.peers),
    seconds: number(v.seconds, '--seconds', DEFAULTS.seconds),
    sets: number(v.sets, '--sets', DEFAULTS.sets),
    hostile: number(v.hostile, '--hostile', DEFAULTS.hostile),
    children: number(v.children, '--children', DEFAULTS.children),
    degree: number(v.degree, '--degree', DEFAULTS.degree),
    transport,
    settle: number(v.settle, '--settle', DEFAULTS.settle),
    moderated: v.moderated === true,
    verbose: v.verbose === true
  }
  const bad = checkOptions(options)
  if (bad !== null) throw new UsageError(bad)
  return options
}

export function checkOptions(o: SimOptions): string | null {
  if (o.seeds.some((s) => !Number.isInteger(s) || s < 0)) return 'seeds are integers ≥ 0'
  if (!Number.isInteger(o.peers) || o.peers < 2 || o.peers > 200) return '--peers is 2 to 200'
  if (!(o.seconds > 0)) return '--seconds must be > 0'
  if (!Number.isInteger(o.sets) || o.sets < 1 || o.sets > 16) return '--sets is 1 to 16'
  if (!(o.hostile >= 0 && o.hostile <= 0.5)) return '--hostile is 0 to 0.5'
  if (!Number.isInteger(o.children) || o.children < 0 || o.children > o.peers / 2) {
    return '--children is 0 to half the peers'
  }
  if (!Number.isInteger(o.degree) || o.degree < 0) return '--degree is an integer ≥ 0'
  if (o.transport !== 'inprocess' && o.transport !== 'testnet') {
    return '--transport is inprocess or testnet'
  }
  if (!(o.settle > 0)) return '--settle must be > 0'
  if (o.moderated && o.peers - Math.round(o.peers * o.hostile) - o.children < 4) {
    return '--moderated needs 4 honest in-process peers (a founder, a moderator, a member, the spammer)'
  }
  return null
}

/** The command that runs `seed` again with these options. */
export function reproduction(o: SimOptions, seed: number): string {
  const parts = ['pnpm sim', `--seed ${seed}`, `--peers ${o.peers}`, `--seconds ${o.seconds}`]
  if (o.sets !== DEFAULTS.sets) parts.push(`--sets ${o.sets}`)
  if (o.hostile !== DEFAULTS.hostile) parts.push(`--hostile ${o.hostile}`)
  if (o.children !== DEFAULTS.children) parts.push(`--children ${o.children}`)
  if (o.degree !== DEFAULTS.degree) parts.push(`--degree ${o.degree}`)
  if (o.transport !== DEFAULTS.transport) parts.push(`--transport ${o.transport}`)
  if (o.settle !== DEFAULTS.settle) parts.push(`--settle ${o.settle}`)
  if (o.moderated) parts.push('--moderated')
  return parts.join(' ')
}
