// Scenario 8, raw corestore side: the same n cores and the same changes, as an
// application without multifeed holds them — every core open, `store.replicate()`
// attaching them all to the connection; keys of cores created while apart are
// handed over in-process and opened right after connecting.
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { BenchTimeoutError, now, sleep } from './clock.js'
import { handshakeSteps, type Link, LockstepLink, pipeLink } from './link.js'
import { freshStore } from './raw.js'
import { BLOCK_SIZE, changePlan, type ReconnectOptions, type ReconnectSample } from './reconnect.js'
import { rmDir } from './tempStorage.js'
import { block, pool } from './workload.js'

interface RawSide {
  dir: string
  store: Corestore
  /** Our writers by name (names kept for a restart). */
  own: Map<string, Hypercore>
  /** The other side's cores, opened by key with a live download range. */
  remote: Map<string, Hypercore>
  names: string[]
  nextGrow: number
  /** Keys the other side created while apart: opened once connected. */
  learn: Buffer[]
}

interface PeerState {
  remoteSynced?: boolean
  remoteLength: number
}

function hex(key: Buffer): string {
  return key.toString('hex')
}

export class RawReconnectPair {
  /** The writer's length of every core, by key. */
  private readonly expected = new Map<string, number>()
  private changes = 0

  private constructor(
    readonly n: number,
    readonly sides: [RawSide, RawSide]
  ) {}

  static async create(n: number, timeoutMs: number): Promise<RawReconnectPair> {
    const mk = async (label: string): Promise<RawSide> => ({
      ...(await freshStore(label)),
      own: new Map(),
      remote: new Map(),
      names: [],
      nextGrow: 0,
      learn: []
    })
    const pair = new RawReconnectPair(n, [await mk('rc8r-a'), await mk('rc8r-b')])
    const jobs = Array.from({ length: n }, (_, i) => i)
    await pool(jobs, 16, (i) => pair.add(i % 2, `w${i}`, i))
    for (const side of pair.sides) {
      for (const key of side.learn.splice(0)) pair.open(side, key)
    }
    await pair.reconnect(0, { lockstep: false, quietMs: 0, timeoutMs })
    return pair
  }

  /** A new core on side s with one block; the other side will open it by key. */
  private async add(s: number, name: string, seed: number): Promise<void> {
    const side = this.sides[s]!
    const core = side.store.get({ name })
    await core.ready()
    await core.append(block(BLOCK_SIZE, seed))
    side.own.set(name, core)
    side.names.push(name)
    this.expected.set(hex(core.key!), core.length)
    this.sides[1 - s]!.learn.push(core.key!)
  }

  private open(side: RawSide, key: Buffer): void {
    const core = side.store.get({ key })
    core.download({ start: 0, end: -1 })
    side.remote.set(hex(key), core)
  }

  async change(d: number): Promise<{ adds: number; grows: number }> {
    let adds = 0
    let grows = 0
    for (const { side: s, kind } of changePlan(d)) {
      const seed = 1_000_000 + this.changes++
      if (kind === 'add') {
        adds++
        await this.add(s, `c${seed}`, seed)
      } else {
        grows++
        const side = this.sides[s]!
        const core = side.own.get(side.names[side.nextGrow++ % side.names.length]!)!
        await core.append(block(BLOCK_SIZE, seed))
        this.expected.set(hex(core.key!), core.length)
      }
    }
    return { adds, grows }
  }

  /** True when the side knows, for every core it holds, what the remote holds. */
  private knows(side: RawSide): boolean {
    for (const core of side.own.values()) {
      if (!core.peers.some((p) => (p as unknown as PeerState).remoteSynced)) return false
    }
    for (const [id, core] of side.remote) {
      const want = this.expected.get(id)!
      if (!core.peers.some((p) => p.remoteLength === want)) return false
    }
    return true
  }

  private downloaded(side: RawSide): boolean {
    for (const [id, core] of side.remote) {
      if (core.contiguousLength !== this.expected.get(id)) return false
    }
    return true
  }

  /** Connects the two stores over a plain pipe (the caller closes the link). */
  connect(): Link {
    const link = pipeLink(this.sides[0].store.replicate(true), this.sides[1].store.replicate(false))
    for (const side of this.sides) {
      for (const key of side.learn.splice(0)) this.open(side, key)
    }
    return link
  }

  /** A's writer `name` and B's core of it. */
  writerPair(name: string): [Hypercore, Hypercore] {
    const own = this.sides[0].own.get(name)!
    return [own, this.sides[1].remote.get(hex(own.key!))!]
  }

  async reconnect(
    d: number,
    opts: ReconnectOptions,
    changes = { adds: 0, grows: 0 },
    openMs?: number,
    t0Given?: number
  ): Promise<ReconnectSample> {
    const [A, B] = this.sides
    const t0 = t0Given ?? now()
    const s1 = A.store.replicate(true)
    const s2 = B.store.replicate(false)
    const link: Link = opts.lockstep ? new LockstepLink(s1, s2, opts.quietMs) : pipeLink(s1, s2)
    const handshake = handshakeSteps(link)
    for (const side of this.sides) {
      for (const key of side.learn.splice(0)) this.open(side, key)
    }
    try {
      const reconciled: Array<{ ms: number; steps: number } | null> = [null, null]
      const deadline = t0 + opts.timeoutMs
      for (;;) {
        for (const [i, side] of this.sides.entries()) {
          if (reconciled[i] === null && this.knows(side)) {
            reconciled[i] = { ms: now() - t0, steps: link.steps }
          }
        }
        if (reconciled[0] && reconciled[1] && this.downloaded(A) && this.downloaded(B)) break
        if (now() > deadline) {
          throw new BenchTimeoutError(
            `raw reconnect d=${d}: ${reconciled[0] && reconciled[1] ? 'downloaded' : 'every core knows the remote length'}`,
            opts.timeoutMs
          )
        }
        await sleep(5)
      }
      const downloadedMs = now() - t0
      const wireBytes = link.wireBytes()
      const hs = await handshake
      const cores = this.cores()
      return {
        d,
        ...changes,
        protocolBytes: null,
        pairingBytes: null,
        wireBytes,
        messages: null,
        symbols: null,
        coresAttached: cores,
        reconciledMs: [reconciled[0]!.ms, reconciled[1]!.ms],
        downloadedMs,
        flights: opts.lockstep ? Math.max(reconciled[0]!.steps, reconciled[1]!.steps) - hs : null,
        inSync: null,
        openCores: cores,
        ...(openMs === undefined ? {} : { openMs })
      }
    } finally {
      await link.close()
      await sleep(50)
    }
  }

  private cores(): number {
    return this.sides.reduce((sum, s) => sum + s.own.size + s.remote.size, 0)
  }

  /** Closes both stores, re-opens them and every core (what raw needs to replicate), reconnects. */
  async restart(opts: ReconnectOptions): Promise<ReconnectSample> {
    for (const side of this.sides) await side.store.close()
    const t0 = now()
    await Promise.all(
      this.sides.map(async (side) => {
        side.store = new CorestoreClass(side.dir)
        await side.store.ready()
        for (const name of side.names) side.own.set(name, side.store.get({ name }))
        const remote = [...side.remote.keys()]
        side.remote.clear()
        for (const id of remote) this.open(side, Buffer.from(id, 'hex'))
        await Promise.all([...side.own.values(), ...side.remote.values()].map((c) => c.ready()))
      })
    )
    const openMs = now() - t0
    return this.reconnect(0, opts, { adds: 0, grows: 0 }, openMs, t0)
  }

  async close(): Promise<void> {
    for (const side of this.sides) {
      await side.store.close().catch(() => {})
      await rmDir(side.dir)
    }
  }
}
