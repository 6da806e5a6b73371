import createLoopbackTestnet from '@hyperswarm/testnet'
import type {
  HyperDHT as DHT,
  Hyperswarm,
  HyperswarmOptions,
  Testnet
} from '@multifeed/holepunch-types'
import HyperswarmClass from 'hyperswarm'

export interface TestnetOptions {
  /** Number of bootstrap/DHT nodes. Default 3. */
  size?: number
}

/** Options of `createSwarm()`: any Hyperswarm option except the DHT, which always comes from the testnet. */
export type TestSwarmOptions = Omit<HyperswarmOptions, 'dht' | 'bootstrap'>

/**
 * A DHT testnet on 127.0.0.1 and the Hyperswarms built on it. Closing it
 * destroys every swarm it made first, then every DHT node.
 */
export class TestDHT implements AsyncDisposable {
  readonly testnet: Testnet
  #swarms = new Set<Hyperswarm>()
  #closing: Promise<void> | null = null

  constructor(testnet: Testnet) {
    this.testnet = testnet
  }

  /** Bootstrap addresses of the testnet (all on 127.0.0.1). */
  get bootstrap(): Array<{ host: string; port: number }> {
    return this.testnet.bootstrap
  }

  get closed(): boolean {
    return this.#closing !== null
  }

  /** The swarms made by `createSwarm()` and not yet destroyed. */
  swarms(): Hyperswarm[] {
    return [...this.#swarms]
  }

  /** An ephemeral DHT node bound to 127.0.0.1, destroyed with the testnet. */
  createNode(): DHT {
    if (this.#closing !== null) throw new Error('The testnet is closed')
    return this.testnet.createNode()
  }

  /**
   * A Hyperswarm whose DHT is a fresh loopback node of this testnet (never
   * bootstrap-only, which would bind 0.0.0.0). Destroyed by `close()`.
   */
  createSwarm(options: TestSwarmOptions = {}): Hyperswarm {
    const swarm = new HyperswarmClass({ ...options, dht: this.createNode() })
    this.#swarms.add(swarm)
    // A connection without an error listener crashes the process on reset.
    swarm.on('connection', (conn) => {
      conn.on('error', noop)
    })
    return swarm
  }

  /** Destroys one swarm made here (and its DHT node). */
  async destroySwarm(swarm: Hyperswarm): Promise<void> {
    this.#swarms.delete(swarm)
    await swarm.destroy()
  }

  /** Destroys every swarm, then every DHT node. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) this.#closing = this.#close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #close(): Promise<void> {
    const swarms = [...this.#swarms]
    this.#swarms.clear()
    await Promise.allSettled(swarms.map((swarm) => swarm.destroy()))
    await this.testnet.destroy()
  }
}

/**
 * Starts a DHT testnet on 127.0.0.1.
 *
 * ```ts
 * await using net = await createTestnet()
 * const swarm = net.createSwarm()
 * ```
 */
export async function createTestnet(options: TestnetOptions = {}): Promise<TestDHT> {
  const testnet = await createLoopbackTestnet(options.size ?? 3, { host: '127.0.0.1' })
  return new TestDHT(testnet)
}

function noop(): void {}
