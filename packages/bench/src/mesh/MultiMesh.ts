// The multifeed side of a mesh (scenario 12): every peer a corestore with the
// same multifeeds, each peer writing its own feeds in each (setup, then the
// writers' sessions closed: the set opens its cores when replication needs
// them, as it does in use). Connected by pipes (one replication stream per
// pair, every multifeed on it) or by one Networker per peer on the loopback
// testnet, swarming every multifeed.
import { type FeedInfo, Multifeed, ReplicationStream } from '@multifeed/core'
import type { Corestore, ReplicationStream as WireStream } from '@multifeed/holepunch-types'
import type { Networker } from '@multifeed/networker'
import { cpuMs, now } from '../clock.js'
import { createNetworker } from '../multi.js'
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
  multis: Multifeed[]
  downloads: DownloadCounter
}

export class MultiMesh {
  private constructor(
    readonly shape: MeshShape,
    readonly peers: Peer[]
  ) {}

  static async create(shape: MeshShape): Promise<MultiMesh> {
    const peers: Peer[] = []
    const mesh = new MultiMesh(shape, peers)
    try {
      for (let i = 0; i < shape.peers; i++) {
        const { dir, store } = await freshStore(`mesh-multi-${i}`)
        peers.push({ dir, store, multis: [], downloads: new DownloadCounter(store) })
      }
      for (let m = 0; m < shape.multifeeds; m++) {
        let key: Buffer | undefined
        for (const peer of peers) {
          const multi = await Multifeed.open(peer.store, key)
          key = multi.key
          peer.multis.push(multi)
        }
      }
      const jobs: Array<{ multi: Multifeed; f: number; seed: number }> = []
      peers.forEach((peer, i) => {
        peer.multis.forEach((multi, m) => {
          for (let f = 0; f < shape.feeds; f++) {
            jobs.push({ multi, f, seed: ((i * shape.multifeeds + m) * shape.feeds + f) * 7919 })
          }
        })
      })
      await pool(jobs, 32, async ({ multi, f, seed }) => {
        const writer = await multi.writer(`w${f}`)
        await fill(writer, shape.entries, shape.blockSize, seed)
        await writer.close()
      })
      return mesh
    } catch (err) {
      await mesh.close()
      throw err
    }
  }

  /** One measured sync, from connect until every peer holds every block; once per mesh. */
  async sync(transport: Transport, loopback: Loopback | null, timeoutMs: number): Promise<MeshRun> {
    const { shape, peers } = this
    const converged = new Converged(shape, timeoutMs, 'multifeed mesh')
    const untrack = peers.flatMap((peer, i) =>
      peer.multis.map((multi) => {
        const onfeed = (info: FeedInfo) => converged.set(i, info.key.toString('hex'), info.length)
        multi.on('feed', onfeed)
        multi.on('append', onfeed)
        for (const info of multi.feeds()) onfeed(info)
        return () => {
          multi.off('feed', onfeed)
          multi.off('append', onfeed)
        }
      })
    )
    const networkers: Networker[] = []
    const streams: WireStream[] = []
    try {
      if (transport === 'swarm') {
        for (const peer of peers) networkers.push(createNetworker(peer.store, loopback!))
      }
      const cpu0 = cpuMs()
      const t0 = now()
      if (transport === 'pipe') {
        for (let i = 0; i < peers.length; i++) {
          for (let j = i + 1; j < peers.length; j++) {
            streams.push(...pipeStores(peers[i]!, peers[j]!))
          }
        }
      } else {
        const joined = Promise.all(
          networkers.flatMap((net, i) => peers[i]!.multis.map((multi) => net.swarm(multi)))
        )
        joined.catch(noop)
        await Promise.race([joined, converged.done])
        await joined
      }
      await converged.done
      const ms = now() - t0
      const cpu = cpuMs() - cpu0
      const connections =
        transport === 'pipe'
          ? streams.length / 2
          : networkers.reduce((sum, net) => sum + net.peers().length, 0) / 2
      const downloads = peers.map((peer) => peer.downloads)
      return meshRun(shape, ms, cpu, downloads, connections)
    } finally {
      converged.stop()
      for (const u of untrack) u()
      if (streams.length) await destroyStreams(...streams)
      await Promise.allSettled(networkers.map((net) => net.close()))
    }
  }

  async close(): Promise<void> {
    for (const peer of this.peers) {
      for (const multi of peer.multis) await multi.close().catch(noop)
      await peer.store.close().catch(noop)
      await rmDir(peer.dir)
    }
  }
}

/** One replication stream between two peers, every multifeed of each attached on its side. */
function pipeStores(a: Peer, b: Peer): [WireStream, WireStream] {
  const s1 = ReplicationStream.for(a.store, true).stream
  const s2 = ReplicationStream.for(b.store, false).stream
  s1.on('error', noop)
  s2.on('error', noop)
  s1.pipe(s2).pipe(s1)
  for (const multi of a.multis) multi.attach(s1)
  for (const multi of b.multis) multi.attach(s2)
  return [s1, s2]
}
