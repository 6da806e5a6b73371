import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import createTestnet from '@hyperswarm/testnet'
import type { HyperDHT as DHT, Hyperswarm, Testnet } from '@multifeed/holepunch-types'
import HyperswarmClass from 'hyperswarm'

/**
 * A loopback DHT testnet for one scenario. Every Hyperswarm (and Networker) gets
 * its DHT from `node()`, which binds 127.0.0.1: no traffic leaves the machine.
 */
export class Loopback {
  private constructor(readonly testnet: Testnet) {}
  private readonly swarms = new Set<Hyperswarm>()

  static async create(): Promise<Loopback> {
    return new Loopback(await createTestnet(3, { host: '127.0.0.1' }))
  }

  node(): DHT {
    return this.testnet.createNode()
  }

  swarm(): Hyperswarm {
    const swarm = new HyperswarmClass({ dht: this.node() })
    this.swarms.add(swarm)
    return swarm
  }

  async destroySwarm(swarm: Hyperswarm): Promise<void> {
    this.swarms.delete(swarm)
    for (const conn of swarm.connections) conn.destroy()
    await swarm.destroy({ force: true })
  }

  /** Swarms first, then the testnet. */
  async close(): Promise<void> {
    for (const swarm of [...this.swarms]) await this.destroySwarm(swarm)
    await this.testnet.destroy()
  }
}

/** Destroys the streams of a pipe and waits for them to close. */
export async function destroyStreams(...streams: Duplex[]): Promise<void> {
  const closed = streams.map((s) =>
    s.destroyed && s.closed ? Promise.resolve() : once(s, 'close').then(() => {})
  )
  for (const s of streams) s.destroy()
  await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2000))])
}

export function noop(): void {}
