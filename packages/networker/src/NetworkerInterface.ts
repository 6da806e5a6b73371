import type { Multifeed as MultifeedOf, MultifeedPeer, PairingOutcome } from '@multifeed/core'
import type { HyperDHT, Hyperswarm, NoiseSecretStream } from '@multifeed/holepunch-types'

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

/** A Noise key pair: the identity of a swarm (and of its connections). */
export interface SwarmKeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** Options of `new Networker(corestore, options)`. Every option is checked (`ERR_INVALID_ARGUMENT`). */
export interface NetworkerOptions {
  /**
   * Use this Hyperswarm instead of creating one. Exclusive with `dht`, `bootstrap`,
   * `keyPair`, `maxPeers`, `firewall` (those configure the swarm we create).
   */
  swarm?: Hyperswarm
  /**
   * Whether `close()` destroys the given `swarm` (and, as Hyperswarm does, its DHT).
   * Default false: the swarm stays yours, and `close()` leaves nothing of ours on it
   * (our topics left, our listeners off, our multifeeds detached from its connections).
   */
  ownsSwarm?: boolean
  /** The DHT node for the swarm we create (tests: `testnet.createNode()`). */
  dht?: HyperDHT
  /**
   * Whether `close()` destroys the given `dht`. Default true, as Hyperswarm does with a
   * DHT it is given: a process that forgets `dht.destroy()` still exits. false: the DHT
   * outlives the networker and keeps nothing of ours (no server, no listener).
   */
  ownsDht?: boolean
  /**
   * Bootstrap nodes for the DHT we create (when no `dht` is given): `'host:port'` or `{ host, port }`.
   * Without `dht`, `swarm` or `bootstrap`, that DHT joins the public HyperDHT (Holepunch's
   * bootstrap nodes), as Hyperswarm does: what a real app wants; tests give a loopback testnet.
   */
  bootstrap?: Array<string | { host: string; port: number }>
  /**
   * The IP address the DHT we create binds to (hyperdht's `host`), e.g. `'127.0.0.1'` to keep
   * every packet on loopback. Default: all interfaces. Not with a given `dht` or `swarm`.
   */
  host?: string
  /** The swarm's identity (the `remotePublicKey` peers see). Random by default. */
  keyPair?: SwarmKeyPair
  /** Most connections the swarm keeps (Hyperswarm's `maxPeers`, default 64). */
  maxPeers?: number
  /** Return true to refuse a connection from/to this public key. */
  firewall?: (remotePublicKey: Buffer) => boolean
}
