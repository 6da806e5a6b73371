import { InvalidArgumentError, Resource } from '@multifeed/core'
import type {
  HyperDHT as DHT,
  Hyperswarm,
  HyperswarmOptions,
  Testnet
} from '@multifeed/holepunch-types'
import HyperswarmClass from 'hyperswarm'
import { startLoopbackTestnet } from './LoopbackTestnet.js'
import { aFunction, anObject, aPositiveCount, checkOptions } from './options.js'
import { inOrder, type NoEvents, settle } from './Teardown.js'

/** Hyperswarm's options that `createSwarm()` passes on (its DHT is always the testnet's). */
const SWARM = {
  keyPair: anObject,
  seed: [(v: unknown) => Buffer.isBuffer(v) && v.byteLength === 32, 'a 32-byte Buffer'],
  maxPeers: aPositiveCount,
  maxParallel: aPositiveCount,
  firewall: aFunction
} as const

export interface TestnetOptions {
  /**
   * Number of bootstrap/DHT nodes, every one routable. Default 3, the fewest with which
   * hyperdht can classify a peer's NAT and holepunch: with fewer, a connection between two
   * peers relies on hyperdht's LAN shortcut alone, which at times stalls ~15 s (hyperdht
   * issue #304, notes/testnet-stall.md).
   */
  size?: number
}

/** Options of `createSwarm()`: any Hyperswarm option except the DHT, which always comes from the testnet. */
export type TestSwarmOptions = Omit<HyperswarmOptions, 'dht' | 'bootstrap'>

/**
 * A DHT testnet on 127.0.0.1 and the Hyperswarms built on it. Closing it
 * destroys every swarm it made first, then every DHT node.
 */
export class TestDHT extends Resource<NoEvents> {
  readonly testnet: Testnet
  #swarms = new Set<Hyperswarm>()

  /** Takes charge of a started testnet; `createTestnet()` starts one on 127.0.0.1. */
  constructor(testnet: Testnet) {
    super()
    this.testnet = testnet
  }

  /** Bootstrap addresses of the testnet: every node of it, all on 127.0.0.1. */
  get bootstrap(): Array<{ host: string; port: number }> {
    return this.testnet.bootstrap
  }

  /** The swarms made by `createSwarm()` and not yet destroyed. */
  swarms(): Hyperswarm[] {
    return [...this.#swarms]
  }

  /** An ephemeral DHT node bound to 127.0.0.1, destroyed with the testnet. */
  createNode(): DHT {
    this.assertOpen('The testnet')
    return this.testnet.createNode()
  }

  /**
   * A Hyperswarm whose DHT is a fresh loopback node of this testnet (never
   * bootstrap-only, which would bind 0.0.0.0). Destroyed by `close()`.
   */
  createSwarm(options: TestSwarmOptions = {}): Hyperswarm {
    for (const key of ['dht', 'bootstrap']) {
      if (Object.hasOwn(options ?? {}, key)) {
        throw new InvalidArgumentError(
          `createSwarm(): ${key} is not an option: the swarm's DHT is always a node of this testnet on 127.0.0.1`
        )
      }
    }
    checkOptions(options, 'createSwarm()', SWARM)
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

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    const swarms = [...this.#swarms]
    this.#swarms.clear()
    await inOrder(
      [
        () =>
          settle(
            swarms.map((swarm) => swarm.destroy()),
            'destroying swarms'
          ),
        () => this.testnet.destroy()
      ],
      'closing the testnet'
    )
  }
}

/**
 * Starts a DHT testnet on 127.0.0.1 whose nodes are all routable (unlike `hyperdht/testnet`'s,
 * whose first node never is: see LoopbackTestnet.ts).
 *
 * ```ts
 * await using net = await createTestnet()
 * const swarm = net.createSwarm()
 * ```
 */
export async function createTestnet(options: TestnetOptions = {}): Promise<TestDHT> {
  checkOptions(options, 'createTestnet()', { size: aPositiveCount })
  const dht = new TestDHT(await startLoopbackTestnet(options.size ?? 3))
  await dht.ready()
  return dht
}

function noop(): void {}
