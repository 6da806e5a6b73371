import { InvalidArgumentError } from '@multifeed/core'
import type {
  Corestore,
  HyperDHT as DHT,
  Hyperswarm,
  NoiseSecretStream,
  PeerDiscovery
} from '@multifeed/holepunch-types'
import HyperswarmClass from 'hyperswarm'
import { NetworkerBase, type SwarmedMultifeed } from './NetworkerBase.js'

/** A Noise key pair: the identity of a swarm (and of its connections). */
export interface SwarmKeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** Options of `new Networker(corestore, options)`. */
export interface NetworkerOptions {
  /**
   * Use this Hyperswarm instead of creating one. The networker only listens to
   * it: at close it leaves its own topics and detaches its multifeeds, but
   * neither destroys the swarm nor closes its connections.
   * Exclusive with `dht`, `bootstrap`, `keyPair`.
   */
  swarm?: Hyperswarm
  /**
   * The DHT node for the swarm the networker creates (tests: `testnet.createNode()`).
   * It stays yours: closing the networker does not destroy it.
   */
  dht?: DHT
  /** Bootstrap nodes for the DHT the networker creates (when no `dht` is given). */
  bootstrap?: Array<string | { host: string; port: number }>
  /** The swarm's identity (the `remotePublicKey` peers see). Random by default. */
  keyPair?: SwarmKeyPair
  /** Most connections the swarm keeps (Hyperswarm's `maxPeers`, default 64). */
  maxPeers?: number
  /** Return true to refuse a connection from/to this public key. */
  firewall?: (remotePublicKey: Buffer) => boolean
}

/** The parts of Hyperswarm 4.17 we need to tear a swarm down without destroying its DHT. */
interface HyperswarmInternals {
  destroyed: boolean
  suspended: boolean
  readonly _timer: { destroy(): void }
  readonly _allConnections: Iterable<NoiseSecretStream>
  readonly server: { close(): Promise<void> }
  clear(): Promise<unknown>
}

/**
 * The Hyperswarm networker: one swarm, any number of multifeeds, each on its
 * own topic (its discovery key). Two peers hold one connection however many
 * multifeeds they share; on it the corestore replicates once and every
 * swarmed multifeed opens its own channel.
 */
export class Networker extends NetworkerBase {
  /** The Hyperswarm this networker runs on (created by it or given to it). */
  readonly hyperswarm: Hyperswarm
  /** True when the networker created the swarm and destroys it at close. */
  readonly ownsSwarm: boolean
  readonly #ownsDht: boolean
  readonly #discoveries = new Map<SwarmedMultifeed, PeerDiscovery>()
  readonly #refreshes = new Set<Promise<void>>()
  readonly #onconnection = (conn: NoiseSecretStream): void => {
    this._handleConnection(conn, conn.remotePublicKey ?? Buffer.alloc(32))
  }

  constructor(corestore: Corestore, options: NetworkerOptions = {}) {
    super(corestore)
    const { swarm, dht, bootstrap, keyPair, maxPeers, firewall } = options
    if (swarm !== undefined) {
      if (dht !== undefined || bootstrap !== undefined || keyPair !== undefined) {
        throw new InvalidArgumentError(
          'Give either a swarm or the options to create one (dht, bootstrap, keyPair), not both'
        )
      }
      if (swarm.destroyed) throw new InvalidArgumentError('The given swarm is destroyed')
      this.hyperswarm = swarm
      this.ownsSwarm = false
      this.#ownsDht = false
    } else {
      this.hyperswarm = new HyperswarmClass({
        ...(dht !== undefined ? { dht } : {}),
        ...(bootstrap !== undefined ? { bootstrap } : {}),
        ...(keyPair !== undefined ? { keyPair } : {}),
        ...(maxPeers !== undefined ? { maxPeers } : {}),
        ...(firewall !== undefined ? { firewall } : {})
      })
      this.ownsSwarm = true
      this.#ownsDht = dht === undefined
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
    // update({ wait: true }) on our cores waits for the swarm instead of resolving false at once.
    const doneFinding = this.corestore.findingPeers()
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
      // refresh. One more lookup once our announce is flushed finds the peer.
      const refresh = discovery
        .refresh()
        .then(
          () => {},
          () => {}
        )
        .finally(() => {
          doneFinding()
          this.#refreshes.delete(refresh)
        })
      this.#refreshes.add(refresh)
      handedOver = true
    } finally {
      if (!handedOver) doneFinding()
    }
  }

  protected async _leaveTopic(entry: SwarmedMultifeed): Promise<void> {
    const discovery = this.#discoveries.get(entry)
    if (discovery === undefined) return
    this.#discoveries.delete(entry)
    // A session: the topic is left only when no other session (of a shared swarm) holds it.
    await discovery.destroy().catch(() => {})
  }

  protected async _closeTransport(entries: SwarmedMultifeed[]): Promise<void> {
    this.hyperswarm.off('connection', this.#onconnection)
    if (!this.ownsSwarm) {
      await Promise.all(entries.map((entry) => this._leaveTopic(entry)))
      return
    }
    this.#discoveries.clear()
    // Ended rather than destroyed: the remote sees a clean close, not ECONNRESET.
    await endConnections([...this.hyperswarm.connections], CLOSE_GRACE_MS)
    if (this.#ownsDht) await this.hyperswarm.destroy()
    else await destroyKeepingDht(this.hyperswarm)
    await Promise.all(this.#refreshes)
  }
}

/** How long close() waits for connections to end cleanly before destroying them. */
const CLOSE_GRACE_MS = 2000

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
 * `Hyperswarm.destroy()` also destroys the swarm's DHT, which must outlive us
 * when the user gave it. Same steps as `destroy()` (Hyperswarm 4.17.2,
 * index.js) minus the DHT, plus closing the connections, which the DHT's
 * destruction would otherwise have closed.
 */
async function destroyKeepingDht(swarm: Hyperswarm): Promise<void> {
  const internals = swarm as unknown as HyperswarmInternals
  if (internals.destroyed) return
  internals.destroyed = true
  // No reconnect on the DHT's network-change events from now on.
  internals.suspended = true
  internals._timer.destroy()
  await internals.clear()
  await internals.server.close()
  const closing: Promise<void>[] = []
  for (const conn of [...internals._allConnections]) {
    if (conn.destroyed) continue
    closing.push(new Promise((resolve) => conn.once('close', () => resolve())))
    conn.on('error', () => {})
    conn.destroy()
  }
  await Promise.all(closing)
}
