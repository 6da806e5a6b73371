import type {
  Corestore,
  HyperDHT,
  Hyperswarm,
  NoiseSecretStream,
  PeerDiscovery
} from '@multifeed/holepunch-types'
import HyperDHTClass from 'hyperdht'
import HyperswarmClass from 'hyperswarm'
import { NetworkerBase, type SwarmedMultifeed } from './NetworkerBase.js'
import type { NetworkerOptions, SwarmKeyPair } from './NetworkerInterface.js'
import { validateNetworkerOptions } from './options.js'

export type { NetworkerOptions, SwarmKeyPair }

/**
 * The Hyperswarm networker: one swarm, any number of multifeeds, each on its
 * own topic (its discovery key). Two peers hold one connection however many
 * multifeeds they share; on it the corestore replicates once and every
 * swarmed multifeed opens its own channel.
 */
export class Networker extends NetworkerBase {
  /** The Hyperswarm this networker runs on (created by it or given to it). */
  readonly hyperswarm: Hyperswarm
  /** True when `close()` destroys the swarm: we created it, or `ownsSwarm` was set. */
  readonly ownsSwarm: boolean
  /** True when `close()` destroys the swarm's DHT. */
  readonly ownsDht: boolean
  /** The given DHT wrapped so that the swarm's destroy() keeps it (only when !ownsDht). */
  readonly #keptDht: KeptDht | null
  readonly #discoveries = new Map<SwarmedMultifeed, PeerDiscovery>()
  /** Topics joined since the last flush: one lookup refresh each, batched. */
  readonly #toRefresh = new Set<PeerDiscovery>()
  #refreshing: Promise<void> | null = null
  readonly #onconnection = (conn: NoiseSecretStream): void => {
    if (this.closing) {
      // A dial that completes while (or after) we close an owned swarm.
      if (this.ownsSwarm) {
        conn.on('error', noop)
        conn.destroy()
      }
      return
    }
    this._handleConnection(conn, conn.remotePublicKey ?? Buffer.alloc(32))
  }

  constructor(corestore: Corestore, options: NetworkerOptions = {}) {
    const checked = validateNetworkerOptions(options)
    super(corestore)
    const { swarm, dht, bootstrap, keyPair, maxPeers, firewall, host } = checked
    if (swarm !== undefined) {
      this.hyperswarm = swarm
      this.ownsSwarm = checked.ownsSwarm ?? false
      this.ownsDht = this.ownsSwarm
      this.#keptDht = null
    } else {
      this.ownsSwarm = true
      this.ownsDht = dht === undefined || checked.ownsDht !== false
      this.#keptDht = dht !== undefined && !this.ownsDht ? new KeptDht(dht) : null
      // Hyperswarm does not pass `host` to the DHT it creates: with a host we create
      // it (the swarm destroys it with itself, as it would its own).
      const created =
        host !== undefined
          ? new HyperDHTClass({ host, ...(bootstrap !== undefined ? { bootstrap } : {}) })
          : undefined
      const swarmDht = dht !== undefined ? (this.#keptDht?.view ?? dht) : created
      this.hyperswarm = new HyperswarmClass({
        ...(swarmDht !== undefined ? { dht: swarmDht } : {}),
        ...(bootstrap !== undefined && created === undefined ? { bootstrap } : {}),
        ...(keyPair !== undefined ? { keyPair } : {}),
        ...(maxPeers !== undefined ? { maxPeers } : {}),
        ...(firewall !== undefined ? { firewall } : {})
      })
    }
    this.hyperswarm.on('connection', this.#onconnection)
    // A given swarm may be connected already: those connections serve us too.
    for (const conn of this.hyperswarm.connections) this.#onconnection(conn)
  }

  /** This swarm's public key: the `remotePublicKey` other peers see for us. */
  get publicKey(): Buffer {
    return this.hyperswarm.keyPair.publicKey
  }

  protected async _joinTopic(entry: SwarmedMultifeed): Promise<void> {
    if (!entry.announce && !entry.lookup) return
    // update({ wait: true }) on our cores waits for the swarm instead of resolving false at once:
    // the store's sessions, and the multifeed's (its namespace, which the store's does not reach).
    const doneSet = entry.multifeed.findingPeers()
    const doneStore = this.corestore.findingPeers()
    const doneFinding = (): void => {
      doneStore()
      doneSet()
    }
    let handedOver = false
    try {
      const discovery = this.hyperswarm.join(entry.topic, {
        server: entry.announce,
        client: entry.lookup
      })
      this.#discoveries.set(entry, discovery)
      await discovery.flushed()
      if (entry.left || this.closing || !entry.lookup) return
      // Two peers that announce at the same instant may each look up before
      // the other's announce lands, and then wait for the 10-minute automatic
      // refresh. One more lookup once our announce is flushed finds the peer
      // (swarm() does not wait for it; our cores' update() does).
      this.#refreshSoon(discovery).finally(doneFinding)
      handedOver = true
    } finally {
      if (!handedOver) doneFinding()
    }
  }

  /**
   * Refreshes `discovery` once more, batched with every other topic flushed by
   * now: one pass over the batch, each topic refreshed once, whatever the number
   * of concurrent swarm() calls.
   */
  #refreshSoon(discovery: PeerDiscovery): Promise<void> {
    this.#toRefresh.add(discovery)
    if (this.#refreshing === null) {
      this.#refreshing = (async () => {
        // Let every join that flushed in this tick land in the batch.
        await new Promise<void>((resolve) => setImmediate(resolve))
        while (this.#toRefresh.size > 0 && !this.closing) {
          const batch = [...this.#toRefresh]
          this.#toRefresh.clear()
          await Promise.all(batch.map((d) => (d.destroyed ? false : d.refresh().then(noop, noop))))
        }
        this.#toRefresh.clear()
        this.#refreshing = null
      })()
    }
    return this.#refreshing
  }

  protected async _leaveTopic(entry: SwarmedMultifeed): Promise<void> {
    const discovery = this.#discoveries.get(entry)
    if (discovery === undefined) return
    this.#discoveries.delete(entry)
    this.#toRefresh.delete(discovery)
    // A session: the topic is left only when no other session (of a shared swarm) holds it.
    await discovery.destroy().catch(noop)
  }

  protected async _closeTransport(entries: SwarmedMultifeed[]): Promise<void> {
    if (!this.ownsSwarm) {
      this.hyperswarm.off('connection', this.#onconnection)
      // Our sessions only: the swarm's other topics stay. Hyperswarm unannounces a
      // topic when its last session goes; that is the swarm's own work, and it goes on.
      await Promise.all(entries.map((entry) => this._leaveTopic(entry)))
      await this.#refreshing
      return
    }
    // The swarm is ours: connections end cleanly (the remote sees a close, not a reset).
    await endConnections([...this.hyperswarm.connections], CLOSE_GRACE_MS)
    // Destroyed without unannouncing: the swarm and its key go away, so its records
    // expire by themselves; unannouncing each topic cost ~20 ms per topic.
    // destroy() closes the server, resolves pending flushes, destroys the DHT (or,
    // when kept, nothing: see KeptDht).
    await this.hyperswarm.destroy({ force: true })
    // Then the topics' discoveries (their refresh timers), every one of the swarm's:
    // with the DHT destroyed this is quick.
    this.#discoveries.clear()
    await this.hyperswarm.clear()
    await this.#refreshing
    for (const conn of [...this.hyperswarm.connections]) {
      conn.on('error', noop)
      conn.destroy()
    }
    this.#keptDht?.release()
  }
}

function noop(): void {}

/** How long close() waits for connections to end cleanly before destroying them. */
const CLOSE_GRACE_MS = 500

/** Ends every connection; destroys those still open after `grace` ms. */
async function endConnections(conns: NoiseSecretStream[], grace: number): Promise<void> {
  const closing = conns
    .filter((conn) => !conn.destroyed)
    .map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.once('close', () => resolve())
          conn.end()
        })
    )
  if (closing.length === 0) return
  let timer: NodeJS.Timeout | null = null
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const conn of conns) conn.destroy()
      resolve()
    }, grace)
  })
  await Promise.race([Promise.all(closing), late])
  if (timer !== null) clearTimeout(timer)
}

/**
 * A DHT the user keeps (`ownsDht: false`), as the swarm we create sees it: the
 * same node, except that `destroy()` does nothing, and every listener the swarm
 * adds is remembered so that `release()` takes it off. Hyperswarm's own
 * `destroy()` then tears the swarm down with public calls only, and the DHT is
 * left as it was given.
 */
class KeptDht {
  readonly view: HyperDHT
  readonly #dht: HyperDHT
  readonly #added: Array<[string | symbol, (...args: unknown[]) => void]> = []

  constructor(dht: HyperDHT) {
    this.#dht = dht
    const added = this.#added
    this.view = new Proxy(dht, {
      get(target, prop) {
        if (prop === 'destroy') return async () => {}
        if (prop === 'on' || prop === 'addListener' || prop === 'once') {
          return (event: string | symbol, listener: (...args: unknown[]) => void) => {
            added.push([event, listener])
            target[prop](event, listener)
            return this
          }
        }
        const value: unknown = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
  }

  release(): void {
    for (const [event, listener] of this.#added.splice(0)) this.#dht.off(event, listener)
  }
}
