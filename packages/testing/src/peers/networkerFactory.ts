/**
 * How a peer of a group gets its networker: the factory a test may give
 * (`createPeers(n, { networker })`), what it is handed and returns, and the
 * two built-in kinds (a Hyperswarm `Networker` on the group's loopback
 * testnet, an `InProcessNetworker` on the group's hub).
 */
import type { Corestore, Hyperswarm } from '@multifeed/holepunch-types'
import type { NetworkerInterface } from '@multifeed/networker'
import type { TestDHT } from '../Testnet.js'
import type { GroupRef } from './GroupRef.js'

/** What a networker factory gets for each peer. */
export interface PeerContext {
  /** 0-based index of the peer in its group. */
  readonly index: number
  /** `peer0`, `peer1`, … */
  readonly name: string
  /** The peer's corestore (on a temporary directory). */
  readonly corestore: Corestore
  /** The group's loopback testnet; null for a group without one (`'in-process'`, `testnet: false`). */
  readonly testnet: TestDHT | null
  /** The group; its `shared` map holds state common to its peers (e.g. an in-process hub). */
  readonly group: GroupRef<unknown>
}

/** What a networker factory returns: the networker, and optionally the Hyperswarm it was built on. */
export interface BuiltNetworker {
  readonly networker: NetworkerInterface
  /** Destroyed after the networker closed, whether or not the networker destroys it itself. */
  readonly swarm?: Hyperswarm | null
}

/** Builds a peer's networker. */
export type NetworkerFactory = (
  context: PeerContext
) => NetworkerInterface | BuiltNetworker | Promise<NetworkerInterface | BuiltNetworker>

/** `'hyperswarm'`: `Networker` on a loopback testnet swarm; `'in-process'`: `InProcessNetworker`. */
export type NetworkerKind = 'hyperswarm' | 'in-process'

/** A peer's networker and the swarm under it (null when there is none). */
export interface Built {
  readonly networker: NetworkerInterface
  readonly swarm: Hyperswarm | null
}

/** Builds the networker of peer `index` of `group`, on `corestore`. */
export async function buildNetworker(
  group: GroupRef<unknown>,
  index: number,
  corestore: Corestore
): Promise<Built> {
  const kind = group.options.networker ?? 'hyperswarm'
  const context: PeerContext = {
    index,
    name: `peer${index}`,
    corestore,
    testnet: group.testnet,
    group
  }
  if (typeof kind === 'function') {
    const built = await kind(context)
    if ('networker' in built) return { networker: built.networker, swarm: built.swarm ?? null }
    return { networker: built, swarm: null }
  }
  const networkerModule = await import('@multifeed/networker')
  if (kind === 'in-process') {
    // One hub per group: the group's peers meet each other and nobody else.
    let hub = group.shared.get('in-process-hub')
    if (!(hub instanceof networkerModule.InProcessHub)) {
      hub = new networkerModule.InProcessHub()
      group.shared.set('in-process-hub', hub)
    }
    return {
      networker: new networkerModule.InProcessNetworker(corestore, {
        hub: hub as InstanceType<typeof networkerModule.InProcessHub>
      }),
      swarm: null
    }
  }
  if (group.testnet === null) throw new Error('A Hyperswarm networker needs a testnet')
  const swarm = group.testnet.createSwarm()
  return { networker: new networkerModule.Networker(corestore, { swarm }), swarm }
}
