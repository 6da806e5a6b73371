// The raw corestore side of a mesh (scenario 12): the same cores, grouped as
// the multifeeds group them, every peer holding its own cores open (written at
// setup, as raw corestore is used) and handed every other key directly. Connected
// by `store.replicate()` pipes, or by one Hyperswarm per peer on the loopback
// testnet joining one topic per group (as the networker joins one per
// multifeed) with `store.replicate(conn)` on every connection. At connect each
// peer opens every core it lacks by key and downloads all of it.
import { randomBytes } from 'node:crypto'
import type { Corestore, Hypercore, Hyperswarm } from '@multifeed/holepunch-types'
import { cpuMs, now } from '../clock.js'
import { destroyStreams, type Loopback, noop } from '../net.js'
import { freshStore } from '../raw.js'
import { rmDir } from '../tempStorage.js'
import type { Transport } from '../types.js'
import { fill, pool } from '../workload.js'
import { Converged } from './Converged.js'
import { DownloadCounter, type MeshRun, type MeshShape, meshRun } from './shape.js'

interface Peer {
  dir: string
  store: Corestore
  /** The peer's own cores, open since setup. */
  own: Hypercore[]
  downloads: DownloadCounter
}

export class RawMesh {
  private constructor(
    readonly shape: MeshShape,
    readonly peers: Peer[],
    /** Every core's key. */
    readonly keys: Buffer[]
  ) {}

  static async create(shape: MeshShape): Promise<RawMesh> {
    const peers: Peer[] = []
    const mesh = new RawMesh(shape, peers, [])
    try {
      for (let i = 0; i < shape.peers; i++) {
        const { dir, store } = await freshStore(`mesh-raw-${i}`)
        const own: Hypercore[] = []
        for (let m = 0; m < shape.multifeeds; m++) {
          for (let f = 0; f < shape.feeds; f++) own.push(store.get({ name: `m${m}-w${f}` }))
        }
        peers.push({ dir, store, own, downloads: new DownloadCounter(store) })
        await pool(own, 32, async (core, k) => {
          await core.ready()
          await fill(core, shape.entries, shape.blockSize, (i * own.length + k) * 7919)
        })
        for (const core of own) mesh.keys.push(core.key!)
      }
      return mesh
    } catch (err) {
      await mesh.close()
      throw err
    }
  }

  /** One measured sync, from connect until every peer holds every block; once per mesh. */
  async sync(transport: Transport, loopback: Loopback | null, timeoutMs: number): Promise<MeshRun> {
    const { shape, peers, keys } = this
    const converged = new Converged(shape, timeoutMs, 'raw mesh')
    const swarms: Hyperswarm[] = []
    const streams: ReturnType<Corestore['replicate']>[] = []
    const readers: Hypercore[] = []
    try {
      if (transport === 'swarm') {
        for (const peer of peers) {
          const swarm = loopback!.swarm()
          swarm.on('connection', (conn) => {
            conn.on('error', noop)
            peer.store.replicate(conn)
          })
          swarms.push(swarm)
        }
      }
      const topics = Array.from({ length: shape.multifeeds }, () => randomBytes(32))
      const cpu0 = cpuMs()
      const t0 = now()
      let joined: Promise<unknown> = Promise.resolve()
      if (transport === 'pipe') {
        for (let i = 0; i < peers.length; i++) {
          for (let j = i + 1; j < peers.length; j++) {
            const s1 = peers[i]!.store.replicate(true)
            const s2 = peers[j]!.store.replicate(false)
            s1.on('error', noop)
            s2.on('error', noop)
            s1.pipe(s2).pipe(s1)
            streams.push(s1, s2)
          }
        }
      } else {
        // As the networker does: join, and once the announce is flushed look up once more.
        joined = Promise.all(
          swarms.flatMap((swarm) =>
            topics.map(async (topic) => {
              const discovery = swarm.join(topic, { server: true, client: true })
              await discovery.flushed()
              await discovery.refresh()
            })
          )
        )
        joined.catch(noop)
      }
      peers.forEach((peer, i) => {
        const own = new Set(peer.own.map((core) => core.id))
        for (const core of peer.own) converged.set(i, core.id!, core.contiguousLength)
        for (const key of keys) {
          const core = peer.store.get({ key })
          readers.push(core)
          core.ready().then(() => {
            if (own.has(core.id)) return
            const report = () => converged.set(i, core.id!, core.contiguousLength)
            core.on('download', report)
            core.download({ start: 0, end: shape.entries }).done().then(report, noop)
            report()
          }, noop)
        }
      })
      await Promise.race([joined, converged.done])
      await converged.done
      const ms = now() - t0
      const cpu = cpuMs() - cpu0
      await joined
      const connections =
        transport === 'pipe'
          ? streams.length / 2
          : swarms.reduce((sum, swarm) => sum + swarm.connections.size, 0) / 2
      const downloads = peers.map((peer) => peer.downloads)
      return meshRun(shape, ms, cpu, downloads, connections)
    } finally {
      converged.stop()
      await Promise.allSettled(readers.map((core) => core.close()))
      if (streams.length) await destroyStreams(...streams)
      for (const swarm of swarms) await loopback!.destroySwarm(swarm)
    }
  }

  async close(): Promise<void> {
    for (const peer of this.peers) {
      await peer.store.close().catch(noop)
      await rmDir(peer.dir)
    }
  }
}
