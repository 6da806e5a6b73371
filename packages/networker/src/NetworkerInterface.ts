import type { Multifeed as MultifeedOf, MultifeedPeer, PairingOutcome } from '@multifeed/core'
import type { NoiseSecretStream } from '@multifeed/holepunch-types'

/** A multifeed of any value encoding (`Multifeed<Buffer>`, `Multifeed<string>`, …). */
export type AnyMultifeed = MultifeedOf<unknown>
type Multifeed = AnyMultifeed

/** Options of `swarm()`: whether to announce ourselves on the topic and whether to look peers up. */
export interface SwarmOptions {
  /** Announce on the multifeed's topic so others can find us. Default true. */
  announce?: boolean
  /** Look up peers on the multifeed's topic. Default true. */
  lookup?: boolean
}

/** A remote peer as the networker sees it: one connection, any number of shared multifeeds. */
export interface NetworkPeer {
  /** The remote's Noise public key. */
  readonly remotePublicKey: Buffer
  /** The connection (one per peer pair). */
  readonly stream: NoiseSecretStream
  /** The multifeeds this peer has proved it shares with us on this connection. */
  multifeeds(): Multifeed[]
}

export interface NetworkerEvents {
  /** A connection became proven: the first shared multifeed verified on it (it joins `peers()`). */
  'peer-add': [peer: NetworkPeer]
  /** A proven peer left `peers()`: its connection closed, or no multifeed is shared on it any more. */
  'peer-remove': [peer: NetworkPeer]
  /** A multifeed's channel with a peer opened (capability proven). */
  'peer-multifeed': [peer: NetworkPeer, multifeed: Multifeed, session: MultifeedPeer]
  /**
   * Pairing on a connection concluded and it shares no multifeed with us: both
   * sides announced every multifeed they carry and none of ours is among the
   * remote's (`outcome.how` 'exchanged'), or the remote speaks no pairing
   * ('refused', 'fault'). The connection stays open: a multifeed swarmed later
   * on either side can still pair on it. Once per connection.
   */
  'connection-unpaired': [peer: NetworkPeer, outcome: PairingOutcome]
  /** A connection failed or errored. Never thrown: the networker handles every connection's errors. */
  'connection-error': [error: Error, peer: NetworkPeer | null]
}

/**
 * What a networker does for multifeeds. The Hyperswarm networker and the
 * in-process networker implement it; `@multifeed/testing` ships a conformance
 * suite any implementation can run.
 */
export interface NetworkerInterface {
  /** Join the multifeed's topic; resolves once announced/looked up. A second call is a no-op. */
  swarm(multifeed: Multifeed, options?: SwarmOptions): Promise<void>
  /** Leave the topic and detach the multifeed from live connections. */
  leave(multifeed: Multifeed): Promise<void>
  /** The multifeeds currently swarmed. */
  multifeeds(): Multifeed[]
  /**
   * The proven peers: connections on which at least one shared multifeed verified.
   * (`NetworkerBase` also lists every connection, proven or not, in `connections()`.)
   */
  peers(): NetworkPeer[]
  /** Leave everything and destroy what this networker owns. */
  close(): Promise<void>
  readonly closed: boolean
  on<E extends keyof NetworkerEvents>(
    event: E,
    listener: (...args: NetworkerEvents[E]) => void
  ): this
  off<E extends keyof NetworkerEvents>(
    event: E,
    listener: (...args: NetworkerEvents[E]) => void
  ): this
}
