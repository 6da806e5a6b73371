// Scenario 8, multifeed side: two peers holding n feeds (half written on each
// side, one block each) sync fully once, then reconnect again and again, each
// time after d changes made while apart (feeds added or grown, alternately on
// A and on B). What one reconnect costs: multifeed protocol bytes, all wire
// bytes, one-way flights, cores attached, time to `reconciled` and to
// `downloaded()`.
import type {
  FeedInfo,
  IdentityKeyPair,
  Multifeed,
  MultifeedOptions,
  MultifeedPeer,
  SyncInfo
} from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { BenchTimeoutError, now, sleep, withTimeout } from './clock.js'
import { handshakeSteps, type Link, LockstepLink, pipeLink } from './link.js'
import { freshStore } from './raw.js'
import { rmDir } from './tempStorage.js'
import { block, pool } from './workload.js'

type Core = typeof import('@multifeed/core')

export const BLOCK_SIZE = 1024

/** What one reconnect cost (multifeed or raw corestore). */
export interface ReconnectSample {
  d: number
  /** Feeds added / grown by the changes, and the element differences that makes (a grown feed is 2). */
  adds: number
  grows: number
  /** Multifeed protocol bytes sent by both sides (every multifeed message + the pairing channel); null for raw. */
  protocolBytes: number | null
  pairingBytes: number | null
  /** Every byte both sides wrote on the connection until both downloaded (handshake included). */
  wireBytes: number
  /** Multifeed messages sent by A and by B (pairing excluded); null for raw. */
  messages: [number, number] | null
  symbols: number | null
  /** Cores attached to the stream, both sides together. */
  coresAttached: number
  /** From connect to `reconciled` on A and on B (raw: every core of that side sees the remote's length). */
  reconciledMs: [number, number]
  /** From connect until both sides hold every block the other holds. */
  downloadedMs: number
  /** Lockstep runs: one-way flights after the Noise handshake until both sides reconciled. */
  flights: number | null
  inSync: [boolean, boolean] | null
  /** Cores the two sides hold open once downloaded (the set's: `openCores`; raw: every core). */
  openCores: number
  /** Restart runs: time to re-open both sides, included in the times above. */
  openMs?: number
}

export interface ReconnectOptions {
  lockstep: boolean
  quietMs: number
  timeoutMs: number
}

/** Which side makes change i, and what it is: A, B, A, B …; add, add, grow, grow, add … */
export function changePlan(d: number): Array<{ side: 0 | 1; kind: 'add' | 'grow' }> {
  return Array.from({ length: d }, (_, i) => ({
    side: (i % 2) as 0 | 1,
    kind: Math.floor(i / 2) % 2 === 0 ? ('add' as const) : ('grow' as const)
  }))
}

interface Side {
  dir: string
  store: Corestore
  multi: Multifeed
  /** What the side's multifeed is opened with (a moderated founder: its identity). */
  options: MultifeedOptions<'binary'>
  /** Local writer names, in creation order. */
  names: string[]
  nextGrow: number
}

function waitReconciled(
  multi: Multifeed,
  t0: number,
  link: () => Link | null
): Promise<{ ms: number; steps: number; peer: MultifeedPeer; info: SyncInfo }> {
  return new Promise((resolve) => {
    multi.once('reconciled', (peer, info) =>
      resolve({ ms: now() - t0, steps: link()?.steps ?? 0, peer, info })
    )
  })
}

export class MultiReconnectPair {
  private constructor(
    readonly core: Core,
    readonly n: number,
    readonly sides: [Side, Side],
    readonly key: Buffer
  ) {}

  /**
   * Writes n feeds (even on A, odd on B) of one block and syncs them fully once (setup).
   * `founder`: a moderated set (scenario 14), founded by A with that identity, B a member.
   */
  static async create(
    core: Core,
    n: number,
    timeoutMs: number,
    founder?: IdentityKeyPair
  ): Promise<MultiReconnectPair> {
    const a = await freshStore(founder ? 'mod14-a' : 'rc8-a')
    const b = await freshStore(founder ? 'mod14-b' : 'rc8-b')
    const optionsA: MultifeedOptions<'binary'> = founder
      ? { moderated: true, identity: founder }
      : {}
    const multiA = await core.Multifeed.open(a.store, null, optionsA)
    // A member opens a moderated set by its invite (its key alone does not name the founder).
    const multiB = await core.Multifeed.open(b.store, multiA.invite ?? multiA.key)
    const sides: [Side, Side] = [
      { ...a, multi: multiA, options: optionsA, names: [], nextGrow: 0 },
      { ...b, multi: multiB, options: {}, names: [], nextGrow: 0 }
    ]
    const pair = new MultiReconnectPair(core, n, sides, multiA.key)
    const jobs = Array.from({ length: n }, (_, i) => i)
    await pool(jobs, 16, async (i) => {
      await pair.write(sides[i % 2]!, `w${i}`, i)
    })
    // The first sync: every feed of each side downloaded by the other.
    await pair.reconnect(0, { lockstep: false, quietMs: 0, timeoutMs })
    return pair
  }

  /** A new writer with one block, or one more block on an existing writer. */
  private async write(side: Side, name: string, seed: number): Promise<void> {
    const w = await side.multi.writer(name)
    try {
      await w.append(block(BLOCK_SIZE, seed))
    } finally {
      await w.close()
    }
    if (!side.names.includes(name)) side.names.push(name)
  }

  private changes = 0

  /** Makes d changes while disconnected. */
  async change(d: number): Promise<{ adds: number; grows: number }> {
    let adds = 0
    let grows = 0
    for (const { side: s, kind } of changePlan(d)) {
      const side = this.sides[s]
      const seed = 1_000_000 + this.changes++
      if (kind === 'add') {
        adds++
        await this.write(side, `c${seed}`, seed)
      } else {
        grows++
        const name = side.names[side.nextGrow++ % side.names.length]!
        await this.write(side, name, seed)
      }
    }
    return { adds, grows }
  }

  /** Connects the two sides over a plain pipe (the caller closes the link). */
  connect(): Link {
    return pipeLink(this.sides[0].multi.replicate(true), this.sides[1].multi.replicate(false))
  }

  /** Connects the two sides, waits until both reconciled and downloaded, disconnects. */
  async reconnect(
    d: number,
    opts: ReconnectOptions,
    changes = { adds: 0, grows: 0 },
    openMs?: number,
    t0Given?: number
  ): Promise<ReconnectSample> {
    const [A, B] = [this.sides[0].multi, this.sides[1].multi]
    let link: Link | null = null
    const t0 = t0Given ?? now()
    const reconciled = Promise.all([
      waitReconciled(A, t0, () => link),
      waitReconciled(B, t0, () => link)
    ])
    const s1 = A.replicate(true)
    const s2 = B.replicate(false)
    link = opts.lockstep ? new LockstepLink(s1, s2, opts.quietMs) : pipeLink(s1, s2)
    const handshake = handshakeSteps(link)
    try {
      const [ra, rb] = await withTimeout(reconciled, opts.timeoutMs, `reconnect d=${d}: reconciled`)
      await Promise.all([
        A.downloaded({ timeout: opts.timeoutMs }),
        B.downloaded({ timeout: opts.timeoutMs })
      ]).catch((err: Error) => {
        throw new BenchTimeoutError(
          `reconnect d=${d}: downloaded() (${err.message})`,
          opts.timeoutMs
        )
      })
      const downloadedMs = now() - t0
      const wireBytes = link.wireBytes()
      const diverged = this.divergence()
      if (diverged) throw new Error(`reconnect d=${d}: downloaded() resolved but ${diverged}`)
      const hs = await handshake
      const pairingBytes = ra.peer.replication.stats.bytesSent + rb.peer.replication.stats.bytesSent
      return {
        d,
        ...changes,
        protocolBytes: ra.peer.stats.bytesSent + rb.peer.stats.bytesSent + pairingBytes,
        pairingBytes,
        wireBytes,
        messages: [ra.peer.stats.messagesSent, rb.peer.stats.messagesSent],
        symbols: ra.peer.stats.symbolsSent + rb.peer.stats.symbolsSent,
        coresAttached: ra.peer.stats.coresAttached + rb.peer.stats.coresAttached,
        reconciledMs: [ra.ms, rb.ms],
        downloadedMs,
        flights: opts.lockstep ? Math.max(ra.steps, rb.steps) - hs : null,
        inSync: [ra.info.inSync, rb.info.inSync],
        openCores: A.openCores + B.openCores,
        ...(openMs === undefined ? {} : { openMs })
      }
    } finally {
      await link.close()
      await sleep(50)
    }
  }

  /** Closes both sides (keeping the directories), re-opens them, reconnects in sync. */
  async restart(opts: ReconnectOptions): Promise<ReconnectSample> {
    for (const side of this.sides) {
      await side.multi.close()
      await side.store.close()
    }
    const t0 = now()
    await Promise.all(
      this.sides.map(async (side) => {
        side.store = new CorestoreClass(side.dir)
        side.multi = await this.core.Multifeed.open(side.store, this.key, side.options)
      })
    )
    const openMs = now() - t0
    return this.reconnect(0, opts, { adds: 0, grows: 0 }, openMs, t0)
  }

  /**
   * Closes one side, runs `meanwhile` on its closed store (e.g. writes to it as
   * its own calls would have), opens it again. Not timed.
   */
  async reopen(s: 0 | 1, meanwhile: (store: Corestore) => Promise<void>): Promise<void> {
    const side = this.sides[s]
    await side.multi.close()
    await meanwhile(side.store)
    await side.store.close()
    side.store = new CorestoreClass(side.dir)
    side.multi = await this.core.Multifeed.open(side.store, this.key, side.options)
  }

  /** Null when both sides know the same feeds at the same lengths, else what differs. */
  divergence(): string | null {
    const [fa, fb] = this.sides.map((s) => s.multi.feeds()) as [FeedInfo[], FeedInfo[]]
    if (fa.length !== fb.length) return `A knows ${fa.length} feeds, B ${fb.length}`
    const lengths = new Map(fb.map((f) => [f.key.toString('hex'), f.length]))
    for (const f of fa) {
      const other = lengths.get(f.key.toString('hex'))
      if (other !== f.length)
        return `feed ${f.key.toString('hex').slice(0, 8)}: A ${f.length}, B ${other}`
    }
    return null
  }

  async close(): Promise<void> {
    for (const side of this.sides) {
      await side.multi.close().catch(() => {})
      await side.store.close().catch(() => {})
      await rmDir(side.dir)
    }
  }
}
