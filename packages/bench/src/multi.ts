// The multifeed side of every scenario: the same shapes as raw.ts, through
// @multifeed/core (pipe) and @multifeed/networker (Hyperswarm on the loopback testnet).
import { type FeedInfo, Multifeed, type MultifeedPeer, ReplicationStream } from '@multifeed/core'
import type {
  Corestore,
  Hypercore,
  ReplicationStream as WireStream
} from '@multifeed/holepunch-types'
import { Networker } from '@multifeed/networker'
import CorestoreClass from 'corestore'
import { BenchTimeoutError, cpuMs, now, withTimeout } from './clock.js'
import { destroyStreams, type Loopback, noop } from './net.js'
import { freshStore, openCoreCount, type SourceTemperature } from './raw.js'
import { SyncTracker } from './SyncTracker.js'
import { rmDir, tmpDir } from './tempStorage.js'
import type { Shape, SyncHooks, Transport } from './types.js'
import { fill, pool } from './workload.js'

/** A networker whose Hyperswarm gets its DHT node from the loopback testnet. */
export function createNetworker(store: Corestore, loopback: Loopback): Networker {
  return new Networker(store, { dht: loopback.node() })
}

function hex(key: Buffer | null | undefined): string {
  return key ? key.toString('hex') : ''
}

/**
 * Watches `multi` for remote feeds and hands each one to the tracker. The
 * multifeed's cores are its own: the tracker sees each feed through a view
 * holding the length the set holds contiguously (`FeedInfo.length`), kept
 * current by the set's `feed` and `append` events (every change of a feed's
 * length emits `append`). Reading it costs what raw's `core.contiguousLength`
 * costs: the tracker's 50 ms poll does not ask the multifeed anything (it
 * used to call `multi.feed(key)` for every pending feed, ~0.3 s of a
 * 10,000-feed sync counted against multifeed). Opens no core.
 */
export function trackRemoteFeeds(multi: Multifeed, tracker: SyncTracker): () => void {
  const views = new Map<string, { length: number; listener: () => void }>()
  const view = (info: FeedInfo): Hypercore<unknown> => {
    const state = { length: info.length, listener: () => {} }
    views.set(hex(info.key), state)
    // What SyncTracker.add reads of a core (download = false): its contiguous length and `download`.
    const feed = {
      get contiguousLength(): number {
        return state.length
      },
      on(_event: 'download', listener: () => void) {
        state.listener = listener
        return feed
      }
    }
    return feed as unknown as Hypercore<unknown>
  }
  const onfeed = (info: FeedInfo) => {
    if (!info.local) tracker.add(view(info), hex(info.key), false)
  }
  const onappend = (info: FeedInfo) => {
    const state = views.get(hex(info.key))
    if (state === undefined) return
    state.length = info.length
    state.listener()
  }
  multi.on('feed', onfeed)
  multi.on('append', onappend)
  for (const info of multi.feeds()) onfeed(info)
  return () => {
    multi.off('feed', onfeed)
    multi.off('append', onappend)
  }
}

/** The definition of synced on what the reader's multifeeds list: `expected` feeds of `length` blocks. */
export function verifySynced(feeds: FeedInfo[], expected: number, length: number): void {
  if (feeds.length !== expected) {
    throw new Error(`reader holds ${feeds.length} feeds, expected ${expected}`)
  }
  for (const info of feeds) {
    if (info.length !== length)
      throw new Error(`feed has length ${info.length}, expected ${length}`)
  }
}

/**
 * The writer side: one corestore, `count` multifeeds of `shape.feeds` writers
 * each. Between reps it is as the last rep left it (the cores a rep served stay
 * open for a few seconds in corestore once released) unless `prepare()`d.
 */
export class MultiSource {
  /** User sessions of every feed, taken by `prepare('warm')`. */
  private held: Hypercore<unknown>[] = []

  private constructor(
    readonly dir: string,
    public store: Corestore,
    public multis: Multifeed[],
    readonly shape: Shape
  ) {}

  /** A source of `count` multifeeds of `shape`, written here (encrypted sets with `encrypted`). */
  static async create(shape: Shape, count = 1, encrypted = false): Promise<MultiSource> {
    const dir = await tmpDir('multi-src')
    const store = new CorestoreClass(dir)
    await store.ready()
    const multis: Multifeed[] = []
    for (let m = 0; m < count; m++) multis.push(await Multifeed.open(store, null, { encrypted }))
    const jobs: Array<[Multifeed, number, number]> = []
    multis.forEach((multi, m) => {
      for (let i = 0; i < shape.feeds; i++) jobs.push([multi, m, i])
    })
    await pool(jobs, 32, async ([multi, m, i]) => {
      const w = await multi.writer(`w${i}`)
      await fill(w, shape.blocks, shape.blockSize, (m * shape.feeds + i) * 7919)
      await w.close()
    })
    return new MultiSource(dir, store, multis, shape)
  }

  /** A source of multifeeds filled elsewhere (a mirror synced from a source: mirror.ts). */
  static of(dir: string, store: Corestore, multis: Multifeed[], shape: Shape): MultiSource {
    return new MultiSource(dir, store, multis, shape)
  }

  get multi(): Multifeed {
    return this.multis[0]!
  }

  /**
   * Before a rep (setup, not measured). `cold`: the multifeeds and the store
   * closed and re-opened over the same directory, every time, so that no feed's
   * core is open (`Multifeed.open` opens the set's own core only): the serving
   * side opens each one when the peer asks for it, as the library does.
   * `warm`: a session of every feed held open, as raw's source holds its cores
   * (taken once; kept until the next cold rep or `close()`).
   */
  async prepare(temperature: SourceTemperature): Promise<void> {
    if (temperature === 'warm') {
      if (this.held.length > 0) return
      const feeds = this.multis.flatMap((multi) => multi.feeds().map((info) => ({ multi, info })))
      const held: Hypercore<unknown>[] = new Array(feeds.length)
      await pool(feeds, 64, async ({ multi, info }, i) => {
        held[i] = await multi.get(info.key)
      })
      this.held = held
      return
    }
    const keys = this.multis.map((multi) => multi.key)
    await this.closeKeep()
    this.store = new CorestoreClass(this.dir)
    await this.store.ready()
    this.multis = []
    for (const key of keys) this.multis.push(await Multifeed.open(this.store, key))
  }

  async close(): Promise<void> {
    await this.closeKeep()
    await rmDir(this.dir)
  }

  /** Closes the held sessions, the multifeeds and the store, keeping the directory. */
  async closeKeep(): Promise<string> {
    for (const core of this.held) await core.close()
    this.held = []
    for (const multi of this.multis) await multi.close()
    await this.store.close()
    return this.dir
  }
}

/** Which key a reader opens each multifeed of the source with (default: the source's own). */
export type ReaderKey = (source: Multifeed, index: number) => Buffer

/** A reader: a fresh corestore with the same multifeeds (by `keyOf`), empty. */
async function openReader(source: MultiSource, label: string, keyOf: ReaderKey) {
  const { dir, store } = await freshStore(label)
  const multis: Multifeed[] = []
  for (const [i, m] of source.multis.entries()) {
    multis.push(await Multifeed.open(store, keyOf(m, i)))
  }
  return {
    dir,
    store,
    multis,
    async close() {
      for (const multi of multis) await multi.close().catch(noop)
      await store.close()
      await rmDir(dir)
    }
  }
}

/**
 * One measured sync through multifeed: a fresh reader, connect, until every
 * feed of every multifeed is downloaded. Timed from connect to synced.
 * Over a pipe all multifeeds share one stream (the library's `ReplicationStream` + `attach`);
 * over Hyperswarm both sides use a Networker and B swarms every multifeed.
 * `readerKey`: the key the reader opens each multifeed with (a mirror key,
 * or the member key of a mirror's set; default the source's key).
 */
export async function multiSync(
  source: MultiSource,
  transport: Transport,
  loopback: Loopback | null,
  timeoutMs: number,
  hooks: SyncHooks = {},
  readerKey: ReaderKey = (m) => m.key
): Promise<{
  ms: number
  cpuMs: number
  connections: number
  joinMs: number
  sourceOpen: number
}> {
  const { shape } = source
  const reader = await openReader(source, 'multi-dst', readerKey)
  const total = shape.feeds * source.multis.length
  const tracker = new SyncTracker(total, shape.blocks, timeoutMs, 'multifeed sync')
  const untrack = reader.multis.map((m) => trackRemoteFeeds(m, tracker))
  let netA: Networker | null = null
  let netB: Networker | null = null
  let streams: WireStream[] = []
  try {
    if (transport === 'swarm') {
      netA = createNetworker(source.store, loopback!)
      for (const m of source.multis) await netA.swarm(m)
      netB = createNetworker(reader.store, loopback!)
    }
    const sourceOpen = openCoreCount(source.store)
    const cpu0 = cpuMs()
    const t0 = now()
    let joinMs = 0
    if (transport === 'pipe') {
      streams = pipeMultifeeds(source.multis, reader.multis)
    } else {
      const b = netB!
      const joined = Promise.all(reader.multis.map((m) => b.swarm(m))).then(() => {
        joinMs = now() - t0
      })
      joined.catch(noop)
      await Promise.race([joined, tracker.done])
      await joined
    }
    await tracker.done
    const ms = now() - t0
    const cpu = cpuMs() - cpu0
    await hooks.synced?.()
    const feeds = reader.multis.flatMap((m) => m.feeds())
    verifySynced(feeds, total, shape.blocks)
    const connections =
      transport === 'pipe' ? 1 : Math.max(netA!.peers().length, netB!.peers().length)
    return { ms, cpuMs: cpu, connections, joinMs, sourceOpen }
  } finally {
    for (const u of untrack) u()
    tracker.stop()
    if (streams.length) await destroyStreams(...streams)
    await netB?.close().catch(noop)
    await netA?.close().catch(noop)
    await reader.close()
  }
}

/**
 * One replication pipe between the stores of `as` and `bs` (each list in one
 * store), every multifeed attached on its side: what `multi.replicate()` does
 * for one multifeed, for any number sharing the stream.
 */
export function pipeMultifeeds(as: Multifeed[], bs: Multifeed[]): [WireStream, WireStream] {
  const s1 = ReplicationStream.for(as[0]!.corestore, true).stream
  const s2 = ReplicationStream.for(bs[0]!.corestore, false).stream
  s1.on('error', noop)
  s2.on('error', noop)
  s1.pipe(s2).pipe(s1)
  for (const m of as) m.attach(s1)
  for (const m of bs) m.attach(s2)
  return [s1, s2]
}

/** Resolves with the next `peer-add` of `multi`. */
function nextPeer(multi: Multifeed): Promise<MultifeedPeer> {
  return new Promise((resolve) => multi.once('peer-add', resolve))
}

/**
 * Discovery latency on a live connection: from `writer()` resolving on A to the
 * `feed` event on B, for `count` new feeds one after another.
 */
export async function multiDiscovery(
  count: number,
  transport: Transport,
  loopback: Loopback | null,
  timeoutMs: number
): Promise<{ latencies: number[]; fromCall: number[]; early: number }> {
  const a = await freshStore('disc-a')
  const b = await freshStore('disc-b')
  const multiA = await Multifeed.open(a.store)
  const multiB = await Multifeed.open(b.store, multiA.key)
  let netA: Networker | null = null
  let netB: Networker | null = null
  let streams: WireStream[] = []
  const arrivals = new Map<string, number>()
  const waiters = new Map<string, () => void>()
  multiB.on('feed', (info) => {
    const id = hex(info.key)
    arrivals.set(id, now())
    waiters.get(id)?.()
  })
  try {
    const peerA = nextPeer(multiA)
    const peerB = nextPeer(multiB)
    if (transport === 'pipe') {
      streams = pipeMultifeeds([multiA], [multiB])
    } else {
      netA = createNetworker(a.store, loopback!)
      netB = createNetworker(b.store, loopback!)
      await netA.swarm(multiA)
      await netB.swarm(multiB)
    }
    const [pa, pb] = await withTimeout(Promise.all([peerA, peerB]), timeoutMs, 'discovery connect')
    await withTimeout(Promise.all([pa.synced, pb.synced]), timeoutMs, 'discovery initial sync')
    const latencies: number[] = []
    const fromCall: number[] = []
    let early = 0
    for (let i = 0; i < count; i++) {
      const called = now()
      const w = await multiA.writer(`d${i}`)
      const t0 = now()
      const id = hex(w.key)
      await w.close()
      let arrived = arrivals.get(id)
      if (arrived === undefined) {
        await withTimeout(
          new Promise<void>((resolve) => waiters.set(id, resolve)),
          timeoutMs,
          `feed ${i} on B`
        )
        waiters.delete(id)
        arrived = arrivals.get(id)!
      }
      // The key may reach B before writer() resolved on A: that counts as 0.
      if (arrived < t0) early++
      latencies.push(Math.max(0, arrived - t0))
      fromCall.push(arrived - called)
    }
    return { latencies, fromCall, early }
  } finally {
    if (streams.length) await destroyStreams(...streams)
    await netB?.close().catch(noop)
    await netA?.close().catch(noop)
    await multiA.close().catch(noop)
    await multiB.close().catch(noop)
    await a.store.close()
    await b.store.close()
    await rmDir(a.dir)
    await rmDir(b.dir)
  }
}

export { BenchTimeoutError }
