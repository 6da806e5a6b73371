/**
 * What a conformance case runs on: the peers a factory builds (a networker
 * and its corestore each) and how they are torn down; `conformanceFactory()`
 * builds them with `createPeers()`.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import type { NetworkerInterface } from '@multifeed/networker'
import {
  type CreatePeersOptions,
  checkCreatePeersOptions,
  createPeers
} from '../peers/PeerGroup.js'

/** One peer of a conformance setup: a networker and the corestore it was built on. */
export interface ConformancePeer {
  readonly networker: NetworkerInterface
  readonly corestore: Corestore
  /**
   * Takes this peer off the network for good, so that the others see its
   * connections close. Default `networker.close()`; a factory whose networker
   * runs on a transport it does not own (e.g. a Hyperswarm given to the
   * networker, which the networker leaves alive at close) destroys it here.
   */
  disconnect?(): Promise<void>
}

/** What the factory returns: `count` connected-capable peers and how to tear them all down. */
export interface ConformanceSetup {
  readonly networkers: readonly ConformancePeer[]
  /** Closes every networker (again: close is idempotent), corestore and whatever else the factory made. */
  teardown(): Promise<void>
}

/** Builds `count` peers whose networkers can reach each other. */
export type ConformanceFactory = (count: number) => Promise<ConformanceSetup>

/**
 * A factory that builds each case's peers with `createPeers(count, options)`:
 * a corestore in a temporary directory each, the networker `options.networker`
 * names or builds, a loopback testnet when it needs one; `disconnect` is
 * `peer.disconnect()`, `teardown` closes the group.
 *
 * ```ts
 * runNetworkerConformance({ describe, test }, conformanceFactory({ networker: 'in-process' }))
 * ```
 */
export function conformanceFactory(options: CreatePeersOptions = {}): ConformanceFactory {
  checkCreatePeersOptions(options, 'conformanceFactory()')
  return async (count) => {
    const group = await createPeers(count, options)
    return {
      networkers: group.peers.map((peer) => ({
        networker: peer.networker,
        corestore: peer.corestore,
        disconnect: () => peer.disconnect()
      })),
      teardown: () => group.close()
    }
  }
}
