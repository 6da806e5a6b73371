// The physical limit: raw corestore replication of the same shape, with the
// feed keys handed over directly (no feed-list protocol at all).
import { randomBytes } from 'node:crypto'
import type {
  Corestore,
  Hypercore,
  NoiseSecretStream,
  ReplicationStream
} from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { cpuMs, now, withTimeout } from './clock.js'
import { destroyStreams, type Loopback, noop } from './net.js'
import { SyncTracker } from './SyncTracker.js'
import { rmDir, tmpDir } from './tempStorage.js'
import type { Shape, SyncHooks, Transport } from './types.js'
import { fill, pool } from './workload.js'

/**
 * Whether a source holds its cores open when the clock starts. `warm`: every
 * core open (raw: the writer's sessions since setup; multifeed: sessions taken
 * before connecting). `cold`: the store closed and re-opened over the same
 * directory just before the rep, so that no core of the source is open and the
 * serving side opens each one inside the measured window, when the peer asks.
 */
export type SourceTemperature = 'warm' | 'cold'

/**
 * The writer side: a corestore holding `shape.feeds` named cores, written once,
 * reused by every rep. Warm (every core open, as written) unless `prepare('cold')`.
 */
export class RawSource {
  private constructor(
    readonly dir: string,
    public store: Corestore,
    public cores: Hypercore[],
    readonly keys: Buffer[],
    readonly shape: Shape
  ) {}

  static async create(shape: Shape): Promise<RawSource> {
    const dir = await tmpDir('raw-src')
    const store = new CorestoreClass(dir)
    await store.ready()
    const cores = await RawSource.openAll(store, shape)
    await pool(cores, 64, (core, i) => fill(core, shape.blocks, shape.blockSize, i * 7919))
    return new RawSource(
      dir,
      store,
      cores,
      cores.map((c) => c.key!),
      shape
    )
  }

  /** Every named core of the source, open (`get` + `ready`). */
  private static async openAll(store: Corestore, shape: Shape): Promise<Hypercore[]> {
    const cores: Hypercore[] = []
    for (let i = 0; i < shape.feeds; i++) cores.push(store.get({ name: `feed-${i}` }))
    await pool(cores, 64, (core) => core.ready())
    return cores
  }

  /** True while the source holds every core open. */
  get warm(): boolean {
    return this.cores.length > 0
  }

  /**
   * Before a rep (setup, not measured). `cold`: the store closed and re-opened
   * with no core open, every time (a cold rep leaves the cores it served open
   * for a while: corestore closes idle cores only after a few seconds).
   * Corestore 7 opens a core from storage when a remote asks for its
   * discovery key (`_attachMaybe` in its `replicate()`'s `ondiscoverykey`), so
   * the reader's requests open them, inside the clock. `warm`: every core
   * open again, if the last rep was cold.
   */
  async prepare(temperature: SourceTemperature): Promise<void> {
    if (temperature === 'warm' && this.warm) return
    await this.store.close()
    this.store = new CorestoreClass(this.dir)
    await this.store.ready()
    this.cores = temperature === 'warm' ? await RawSource.openAll(this.store, this.shape) : []
  }

  async close(): Promise<void> {
    await this.store.close()
    await rmDir(this.dir)
  }
}

/**
 * How many cores `store` (and every namespace of it) holds open right now,
 * including the idle ones corestore has not closed yet.
 */
export function openCoreCount(store: Corestore): number {
  const tracker = (store as unknown as { cores: Iterable<{ opened: boolean }> }).cores
  let n = 0
  for (const core of tracker) if (core.opened) n++
  return n
}

/** A reader store in a fresh directory. */
export async function freshStore(label: string): Promise<{ dir: string; store: Corestore }> {
  const dir = await tmpDir(label)
  const store = new CorestoreClass(dir)
  await store.ready()
  return { dir, store }
}

export interface Link {
  /** The writer side's stream(s) and the reader side's, for byte counts. */
  streamsA: () => ReplicationStream[]
  streamsB: () => ReplicationStream[]
  close(): Promise<void>
}

/** A raw corestore link between two stores over a pipe. */
export function rawPipe(storeA: Corestore, storeB: Corestore): Link {
  const s1 = storeA.replicate(true)
  const s2 = storeB.replicate(false)
  s1.on('error', noop)
  s2.on('error', noop)
  s1.pipe(s2).pipe(s1)
  return {
    streamsA: () => [s1],
    streamsB: () => [s2],
    close: () => destroyStreams(s1, s2)
  }
}

/** A swarm of the loopback testnet on which `store` replicates every connection (raw corestore). */
function replicatingSwarm(
  loopback: Loopback,
  store: Corestore
): { swarm: ReturnType<Loopback['swarm']>; conns: NoiseSecretStream[] } {
  const swarm = loopback.swarm()
  const conns: NoiseSecretStream[] = []
  swarm.on('connection', (conn) => {
    conn.on('error', noop)
    conns.push(conn)
    store.replicate(conn)
  })
  return { swarm, conns }
}

/** Writer side of a raw Hyperswarm link: announces a fresh topic (setup, not measured). */
export async function rawSwarmServer(
  loopback: Loopback,
  store: Corestore
): Promise<{ topic: Buffer; conns: NoiseSecretStream[]; close(): Promise<void> }> {
  const { swarm, conns } = replicatingSwarm(loopback, store)
  const topic = randomBytes(32)
  await swarm.join(topic, { server: true, client: false }).flushed()
  return { topic, conns, close: () => loopback.destroySwarm(swarm) }
}

/** Reader side of a raw Hyperswarm link: looks the topic up and replicates on every connection. */
export function rawSwarmClient(
  loopback: Loopback,
  store: Corestore,
  topic: Buffer
): { conns: NoiseSecretStream[]; close(): Promise<void> } {
  const { swarm, conns } = replicatingSwarm(loopback, store)
  swarm.join(topic, { server: false, client: true })
  return { conns, close: () => loopback.destroySwarm(swarm) }
}

/**
 * One measured raw sync: a fresh reader, connect, open every core by its key,
 * download all of it. Timed from connect to synced.
 */
export async function rawSync(
  source: RawSource,
  transport: Transport,
  loopback: Loopback | null,
  timeoutMs: number,
  hooks: SyncHooks = {}
): Promise<{ ms: number; cpuMs: number; sourceOpen: number }> {
  const { shape } = source
  const { dir, store } = await freshStore('raw-dst')
  let server: Awaited<ReturnType<typeof rawSwarmServer>> | null = null
  let link: { close(): Promise<void> } | null = null
  try {
    if (transport === 'swarm') server = await rawSwarmServer(loopback!, source.store)
    const tracker = new SyncTracker(shape.feeds, shape.blocks, timeoutMs, 'raw sync')
    const sourceOpen = openCoreCount(source.store)
    const cpu0 = cpuMs()
    const t0 = now()
    link =
      transport === 'pipe'
        ? rawPipe(source.store, store)
        : rawSwarmClient(loopback!, store, server!.topic)
    const cores: Hypercore[] = []
    for (const key of source.keys) {
      const core = store.get({ key })
      cores.push(core)
      tracker.add(core, key.toString('hex'))
    }
    await tracker.done
    const ms = now() - t0
    const cpu = cpuMs() - cpu0
    await hooks.synced?.()
    SyncTracker.verify(cores, shape.feeds, shape.blocks)
    return { ms, cpuMs: cpu, sourceOpen }
  } finally {
    await link?.close()
    await server?.close()
    await store.close()
    await rmDir(dir)
  }
}

/**
 * The raw counterpart of discovery latency: the key of a new core on A is handed
 * over in-process; measured from B opening it by key to B's core having its peer
 * (the replication channel with A open). A lower bound for "B can use the feed".
 */
export async function rawDiscovery(
  count: number,
  transport: Transport,
  loopback: Loopback | null,
  timeoutMs: number
): Promise<number[]> {
  const a = await freshStore('rdisc-a')
  const b = await freshStore('rdisc-b')
  let server: Awaited<ReturnType<typeof rawSwarmServer>> | null = null
  let link: { close(): Promise<void> } | null = null
  try {
    // A live connection first, carrying one core so that the link is known to be up.
    const warm = a.store.get({ name: 'warm' })
    await warm.ready()
    await warm.append(Buffer.from('warm'))
    if (transport === 'pipe') link = rawPipe(a.store, b.store)
    else {
      server = await rawSwarmServer(loopback!, a.store)
      link = rawSwarmClient(loopback!, b.store, server.topic)
    }
    const warmB = b.store.get({ key: warm.key! })
    await withTimeout(warmB.get(0), timeoutMs, 'raw discovery connect')
    const latencies: number[] = []
    for (let i = 0; i < count; i++) {
      const core = a.store.get({ name: `d${i}` })
      await core.ready()
      const t0 = now()
      const remote = b.store.get({ key: core.key! })
      await withTimeout(
        new Promise<void>((resolve) => {
          if (remote.peers.length > 0) return resolve()
          remote.once('peer-add', () => resolve())
        }),
        timeoutMs,
        `raw feed ${i} peer`
      )
      latencies.push(now() - t0)
    }
    return latencies
  } finally {
    await link?.close()
    await server?.close()
    await a.store.close()
    await b.store.close()
    await rmDir(a.dir)
    await rmDir(b.dir)
  }
}
