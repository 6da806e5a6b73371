/**
 * @multifeed/holepunch-types — interfaces for the parts of the Holepunch stack
 * that multifeed's public API exposes (hypercore, corestore, protomux,
 * @hyperswarm/secret-stream, hyperswarm, hyperdht). None of these modules
 * publish type declarations.
 *
 * This is an ordinary module: it exports named interfaces and declares no
 * ambient module, so it never collides with anyone's declarations for
 * 'hypercore' & co (corestore.d.ts beside it declares 'corestore', for the
 * users of @multifeed/core, whose declarations refer to it). Each interface was written from the module's source
 * (hypercore 11.39.5, corestore 7.12.5, protomux 3.12.1, hyperswarm 4.17.2,
 * hyperdht 6.34.0, @hyperswarm/secret-stream 6.9.2): what is here exists there;
 * what is not here was left out rather than guessed.
 *
 * A project that imports the others itself (hyperswarm, hypercore, …) can type
 * its own import in three lines with the `…Constructor` interfaces, e.g.
 * `declare module 'hyperswarm' { const H: import('@multifeed/holepunch-types').HyperswarmConstructor; export default H }`.
 */

import type { EventEmitter } from 'node:events'
import type { Duplex, Readable } from 'node:stream'

// ---------------------------------------------------------------------------
// compact-encoding

/** The cursor a compact-encoding codec reads from and writes to. */
export interface EncodingState {
  start: number
  end: number
  buffer: Buffer | null
}

/** A compact-encoding codec (`{ preencode, encode, decode }`). */
export interface Encoding<T> {
  preencode(state: EncodingState, value: T): void
  encode(state: EncodingState, value: T): void
  decode(state: EncodingState): T
}

// ---------------------------------------------------------------------------
// keys

/** A signing key pair (ed25519): the identity of a swarm or a Noise stream. */
export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** A hypercore's key pair: `secretKey` is null for a core we cannot write. */
export interface HypercoreKeyPair {
  publicKey: Buffer
  secretKey: Buffer | null
}

// ---------------------------------------------------------------------------
// @hyperswarm/secret-stream and protomux

/** `@hyperswarm/secret-stream`: the encrypted duplex every replication stream is built on. */
export interface NoiseSecretStream extends Duplex {
  readonly isInitiator: boolean
  /** 64 bytes, equal on both sides; null until the Noise handshake completed. */
  readonly handshakeHash: Buffer | null
  readonly publicKey: Buffer | null
  readonly remotePublicKey: Buffer | null
  /** Resolves true once the handshake completed, false if the stream closed first. */
  readonly opened: Promise<boolean>
  readonly rawStream: Duplex
  /** The stream's Protomux once replication started on it. */
  userData: unknown
  /** The stream itself (so any replication stream has a `noiseStream`). */
  readonly noiseStream: NoiseSecretStream
  readonly keepAlive: number
  readonly rawBytesWritten: number
  readonly rawBytesRead: number
  setKeepAlive(ms: number): void
  sendKeepAlive(): void
  setTimeout(ms: number): void
}

/** Options of `new NoiseSecretStream(isInitiator, rawStream, options)`. */
export interface NoiseSecretStreamOptions {
  /** Our static key pair; random when omitted. */
  keyPair?: KeyPair
  /** The remote's expected public key. */
  remotePublicKey?: Buffer
  /** Send a keep-alive every `keepAlive` ms (0: none). */
  keepAlive?: number
  /** false: do not start until `start(rawStream, opts)` is called. */
  autoStart?: boolean
}

/** The default export of `@hyperswarm/secret-stream`. */
export interface NoiseSecretStreamConstructor {
  /**
   * With `rawStream` null, the stream creates an in-memory duplex (a bridge)
   * as its `rawStream`: pipe two such raw streams into each other.
   */
  new (
    isInitiator: boolean,
    rawStream?: Duplex | null,
    options?: NoiseSecretStreamOptions
  ): NoiseSecretStream
  keyPair(seed?: Buffer): KeyPair
}

/** One message type of a Protomux channel. */
export interface ProtomuxMessage<T> {
  readonly type: number
  send(message: T, channel?: ProtomuxChannel): boolean
}

/** Options of `channel.addMessage()`. */
export interface ProtomuxMessageOptions<T> {
  encoding?: Encoding<T>
  /** Returning a promise delays reading later messages of the same batch until it settles. */
  onmessage?: (message: T, channel: ProtomuxChannel) => void | Promise<void>
  autoBatch?: boolean
}

/** Options of `mux.createChannel()`. */
export interface ProtomuxChannelOptions<H = unknown> {
  userData?: unknown
  protocol: string
  aliases?: string[]
  id?: Buffer | null
  unique?: boolean
  handshake?: Encoding<H> | null
  messages?: ProtomuxMessageOptions<never>[]
  onopen?: (handshake: H, channel: ProtomuxChannel) => void | Promise<void>
  onclose?: (isRemote: boolean, channel: ProtomuxChannel) => void | Promise<void>
  ondestroy?: (channel: ProtomuxChannel) => void | Promise<void>
  ondrain?: (channel: ProtomuxChannel) => void
}

/** A Protomux channel: one protocol + id on one stream. */
export interface ProtomuxChannel {
  readonly protocol: string
  readonly aliases: string[]
  readonly id: Buffer | null
  readonly opened: boolean
  readonly closed: boolean
  readonly destroyed: boolean
  userData: unknown
  readonly messages: ProtomuxMessage<unknown>[]
  readonly drained: boolean
  open(handshake?: unknown): void
  addMessage<T>(options: ProtomuxMessageOptions<T>): ProtomuxMessage<T>
  close(): void
  cork(): void
  uncork(): void
  fullyOpened(): Promise<boolean>
  fullyClosed(): Promise<void>
}

/** Protocol + id: what pairs a local channel with a remote one. */
export interface ProtomuxPairing {
  protocol: string
  id?: Buffer | null
}

/** The channel multiplexer on a Noise stream (`Protomux.from(stream)`). */
export interface Protomux extends Iterable<ProtomuxChannel> {
  readonly stream: NoiseSecretStream
  readonly isProtomux: true
  readonly drained: boolean
  createChannel<H = unknown>(options: ProtomuxChannelOptions<H>): ProtomuxChannel | null
  /** Calls `notify(id)` when the remote opens a channel of `protocol` that no local channel awaits. */
  pair(options: ProtomuxPairing, notify: (id: Buffer | null) => void | Promise<void>): void
  unpair(options: ProtomuxPairing): void
  opened(options: ProtomuxPairing): boolean
  isIdle(): boolean
  cork(): void
  uncork(): void
  destroy(err?: Error): void
}

/** The default export of `protomux`. */
export interface ProtomuxConstructor {
  new (stream: Duplex): Protomux
  from(stream: Duplex): Protomux
  isProtomux(value: unknown): value is Protomux
}

// ---------------------------------------------------------------------------
// hypercore

/** How a core encodes its blocks: a name hypercore knows, or a compact-encoding codec. */
export type ValueEncoding = 'binary' | 'utf-8' | 'json' | Encoding<unknown>

/**
 * A replication stream: the outer duplex `replicate()` returns (the raw side
 * of a fresh Noise stream, or the stream it was given), with its Noise stream.
 */
export interface ReplicationStream extends Duplex {
  readonly noiseStream: NoiseSecretStream
}

/** Options of `core.get(index, options)`. */
export interface HypercoreGetOptions {
  /** Wait for a peer to provide the block (default true). */
  wait?: boolean
  /** Give up after this many ms (0: never). */
  timeout?: number
  valueEncoding?: ValueEncoding
  /** The block as stored (no decryption, no decoding). */
  raw?: boolean
}

/** Options of `core.append(blocks, options)`. */
export interface HypercoreAppendOptions {
  keyPair?: HypercoreKeyPair
  signature?: Buffer
  maxLength?: number
}

/** A range to download (`core.download(range)`). */
export interface HypercoreDownloadRange {
  start?: number
  end?: number
  blocks?: number[]
  linear?: boolean
}

/** A running download. */
export interface HypercoreDownload {
  done(): Promise<void>
  destroy(): void
}

/** What `core.info()` returns. */
export interface HypercoreInfo {
  key: Buffer
  discoveryKey: Buffer
  length: number
  contiguousLength: number
  byteLength: number
  fork: number
  padding: number
  storage: { oplog: number; tree: number; blocks: number; bitfield: number } | null
}

/** A remote peer of one core (an entry of `core.peers`). */
export interface HypercorePeer {
  readonly remotePublicKey: Buffer
  readonly remoteLength: number
  readonly remoteContiguousLength: number
  readonly protomux: Protomux
  readonly stream: NoiseSecretStream
}

/** The replicator of an open core (`core.core.replicator`): which streams it is attached to. */
export interface HypercoreReplicator {
  attached(mux: Protomux): boolean
  attachTo(mux: Protomux): void
  detachFrom(mux: Protomux): void
  readonly peers: ReadonlyArray<{
    readonly protomux: Protomux
    readonly channel: { close(): void }
  }>
}

/** The events of a hypercore session. */
export interface HypercoreEvents {
  append: []
  truncate: [ancestors: number, forkId: number]
  ready: []
  close: []
  'peer-add': [peer: HypercorePeer]
  'peer-remove': [peer: HypercorePeer]
  download: [index: number, byteLength: number, from: HypercorePeer]
  upload: [index: number, byteLength: number, from: HypercorePeer]
}

type Listener<Events, E extends keyof Events> = Events[E] extends unknown[]
  ? (...args: Events[E]) => void
  : never

/** A session on an append-only log. `T` is the block type after `valueEncoding`. */
export interface Hypercore<T = Buffer> extends EventEmitter {
  /** Null until ready for cores opened by name. */
  readonly key: Buffer | null
  readonly discoveryKey: Buffer | null
  readonly id: string | null
  readonly keyPair: HypercoreKeyPair | null
  /** Who signs the core; null until known (a core created by key learns it from a peer). */
  readonly manifest: Record<string, unknown> | null
  readonly length: number
  readonly signedLength: number
  readonly contiguousLength: number
  /** Bytes an encrypted core reserves before each block (0 unencrypted). */
  readonly padding: number
  /**
   * Hypercore's `encodeBatch` option of this session (corestore's `get()` does not pass it on):
   * encodes every batch `append()` gets instead of `valueEncoding`; blocks are stored as returned.
   */
  encodeBatch: ((blocks: unknown[]) => Buffer[]) | null
  /** Deprecated by hypercore: use `(await core.info()).byteLength`. */
  readonly byteLength: number
  readonly fork: number
  readonly writable: boolean
  readonly readable: boolean
  readonly opened: boolean
  readonly closed: boolean
  readonly closing: Promise<void> | null
  readonly peers: HypercorePeer[]
  /** The shared core under every session; null until open. */
  readonly core: { readonly replicator: HypercoreReplicator } | null

  ready(): Promise<void>
  close(options?: { error?: Error }): Promise<void>
  append(
    block: T | T[],
    options?: HypercoreAppendOptions
  ): Promise<{
    length: number
    byteLength: number
  }>
  get(index: number, options?: HypercoreGetOptions): Promise<T | null>
  has(start: number, end?: number): Promise<boolean>
  /** How many blocks of [start, end) are stored locally. */
  count(start: number, end: number): Promise<number>
  /** Frees the blocks [start, end) locally; `{ diff: true }` reports how many. */
  clear(
    start: number,
    end?: number,
    options?: { diff?: boolean }
  ): Promise<{ blocks: number } | null>
  /** Closes the core and deletes its storage. */
  purge(): Promise<void>
  truncate(newLength?: number, options?: number | { fork?: number }): Promise<void>
  update(options?: { wait?: boolean; force?: boolean }): Promise<boolean>
  seek(
    bytes: number,
    options?: { wait?: boolean; timeout?: number }
  ): Promise<[number, number] | null>
  download(range?: HypercoreDownloadRange): HypercoreDownload
  replicate(
    isInitiator: boolean | Duplex | Protomux,
    options?: Record<string, unknown>
  ): ReplicationStream
  /** A new session on the same core. */
  session(options?: {
    valueEncoding?: ValueEncoding
    writable?: boolean
    active?: boolean
  }): Hypercore<T>
  /** Call the returned function once the peers you were looking for are found. */
  findingPeers(): () => void
  createReadStream(options?: {
    start?: number
    end?: number
    live?: boolean
  }): Readable & AsyncIterable<T>
  info(options?: { storage?: boolean }): Promise<HypercoreInfo>
  /** Local metadata kept with the core's storage, never replicated. */
  getUserData(key: string): Promise<Buffer | null>
  setUserData(key: string, value: Buffer | string | null): Promise<void>
  setActive(active: boolean): void

  on<E extends keyof HypercoreEvents>(event: E, listener: Listener<HypercoreEvents, E>): this
  once<E extends keyof HypercoreEvents>(event: E, listener: Listener<HypercoreEvents, E>): this
  off<E extends keyof HypercoreEvents>(event: E, listener: Listener<HypercoreEvents, E>): this
}

/** The default export of `hypercore` (its static side). */
export interface HypercoreStatic {
  getProtocolMuxer(stream: Duplex): Protomux
  /** Hypercore's protocol stream on `stream` (or a new Noise stream), with no core attached. */
  createProtocolStream(
    isInitiator: boolean | Duplex | Protomux,
    options?: { ondiscoverykey?: (discoveryKey: Buffer) => unknown; keepAlive?: boolean }
  ): ReplicationStream
  discoveryKey(key: Buffer): Buffer
  /** The key of a core whose manifest has the one signer `publicKey` (the default manifest). */
  key(publicKey: Buffer): Buffer
}

// ---------------------------------------------------------------------------
// corestore

/** Options of `store.get(options)`. */
export interface CorestoreGetOptions {
  /** Local name, resolved within the store's namespace. */
  name?: string
  /** Buffer, hex or z-base-32. */
  key?: Buffer | string
  keyPair?: HypercoreKeyPair
  valueEncoding?: ValueEncoding
  /** false: this session does not make the core replicate on its own. */
  active?: boolean
  /**
   * Hypercore's block encryption for this session: appends are encrypted
   * with a block key derived from `key` and the core's key, `get()` decrypts.
   * Per session: a session without it reads the stored ciphertext.
   */
  encryption?: { key: Buffer }
  createIfMissing?: boolean
  exclusive?: boolean
  writable?: boolean
  wait?: boolean
  timeout?: number
}

/** Options of `new Corestore(storage, options)` and `store.session(options)`. */
export interface CorestoreOptions {
  primaryKey?: Buffer
  unsafe?: boolean
  /** false: the store session does not attach its cores to replication streams by itself. */
  active?: boolean
  readOnly?: boolean
  /** Wait for the storage lock instead of failing when another store holds it. */
  wait?: boolean
  suspend?: boolean
}

/** A core's storage read without opening the core (hypercore-storage's `resumeCore`). */
export interface StoredCore {
  /** A read batch: nothing resolves until `tryFlush()`. */
  read(): {
    getHead(): Promise<{ fork: number; length: number; rootHash: Buffer } | null>
    getUserData(key: string): Promise<Buffer | null>
    getBlock(index: number): Promise<Buffer | null>
    tryFlush(): void
  }
  /** Lets go of the storage session (the store stays open). */
  close(): Promise<void>
}

/** A factory of hypercores stored together (corestore 7: a RocksDB directory). */
export interface Corestore extends EventEmitter {
  /** The root store, or null for the root itself. */
  readonly root: Corestore | null
  readonly opened: boolean
  readonly closed: boolean
  readonly closing: Promise<void> | null
  readonly active: boolean
  readonly primaryKey: Buffer | null
  readonly storage: {
    hasCore(discoveryKey: Buffer): Promise<boolean>
    /** Heads of many cores in one storage batch; null for a core the store does not hold. */
    getInfos(
      discoveryKeys: Buffer[],
      options?: { auth?: boolean; head?: boolean; hints?: boolean }
    ): Promise<Array<object | null>>
    /** One core's storage, without opening it as a hypercore; null when the store does not hold it. */
    resumeCore(discoveryKey: Buffer): Promise<StoredCore | null>
  }
  ready(): Promise<void>
  close(): Promise<void>
  get<T = Buffer>(options: CorestoreGetOptions | Buffer | string): Hypercore<T>
  session(options?: CorestoreOptions): Corestore
  namespace(name: string | Buffer, options?: CorestoreOptions): Corestore
  replicate(isInitiator: boolean | Duplex, options?: Record<string, unknown>): ReplicationStream
  findingPeers(): () => void
  createKeyPair(name: string): Promise<KeyPair>
  /** Streams the discovery keys of the cores stored under a namespace. */
  list(namespace?: Buffer): Readable & AsyncIterable<Buffer>
}

/** The default export of `corestore`. */
export type CorestoreConstructor = new (storage: string, options?: CorestoreOptions) => Corestore

// ---------------------------------------------------------------------------
// hyperdht

/** Options of `new HyperDHT(options)`. */
export interface HyperDHTOptions {
  bootstrap?: Array<string | { host: string; port: number }>
  host?: string
  port?: number
  ephemeral?: boolean
  firewalled?: boolean
  keyPair?: KeyPair
  /** The `udx-native` instance the node's sockets are made with (default: a new one). */
  udx?: unknown
}

/** A HyperDHT node. */
export interface HyperDHT extends EventEmitter {
  readonly destroyed: boolean
  ready(): Promise<void>
  fullyBootstrapped(): Promise<void>
  address(): { host: string; port: number }
  /** The nodes of its routing table. */
  toArray(options?: { limit?: number }): Array<{ host: string; port: number }>
  destroy(options?: { force?: boolean }): Promise<void>
}

/** The default export of `hyperdht`. */
export interface HyperDHTConstructor {
  new (options?: HyperDHTOptions): HyperDHT
  keyPair(seed?: Buffer): KeyPair
  /**
   * A persistent node bound to `port` (exactly) whose id is `host:port` from the start, as a
   * DHT's first node must be: without another node to tell it its address, a node started
   * with `bootstrap: []` never gets a routable id.
   */
  bootstrapper(port: number, host: string, options?: HyperDHTOptions): HyperDHT
}

/** A local DHT (`hyperdht/testnet`, `@hyperswarm/testnet`). */
export interface Testnet extends Iterable<HyperDHT> {
  readonly nodes: HyperDHT[]
  readonly bootstrap: Array<{ host: string; port: number }>
  /** An ephemeral node bound to the testnet's host (127.0.0.1 by default). */
  createNode(options?: HyperDHTOptions): HyperDHT
  destroy(): Promise<void>
}

/** The default export of `hyperdht/testnet` and `@hyperswarm/testnet`. */
export type CreateTestnet = (
  size?: number,
  options?: { host?: string; port?: number; bootstrap?: Array<{ host: string; port: number }> }
) => Promise<Testnet>

// ---------------------------------------------------------------------------
// hyperswarm

/** Options of `new Hyperswarm(options)`. */
export interface HyperswarmOptions {
  keyPair?: KeyPair
  seed?: Buffer
  maxPeers?: number
  maxParallel?: number
  /** Return true to refuse a connection from/to this public key. */
  firewall?: (remotePublicKey: Buffer) => boolean
  /** The DHT node to use; Hyperswarm creates one when omitted (and destroys it either way). */
  dht?: HyperDHT
  bootstrap?: Array<string | { host: string; port: number }>
}

/** What Hyperswarm knows of a remote peer. */
export interface HyperswarmPeerInfo {
  readonly publicKey: Buffer
  /** Filled only on the side that dialed (client side). */
  readonly topics: Buffer[]
  readonly client: boolean
  readonly banned: boolean
  ban(value?: boolean): void
}

/** A session on a topic (`swarm.join(topic)`). */
export interface PeerDiscovery {
  readonly topic: Buffer
  readonly isClient: boolean
  readonly isServer: boolean
  readonly destroyed: boolean
  /** Resolves once the current announce/lookup of the topic completed. */
  flushed(): Promise<boolean>
  refresh(options?: { client?: boolean; server?: boolean }): Promise<boolean>
  /** Ends this session; the topic is left when no session of it remains. */
  destroy(): Promise<void>
}

/** The events of a Hyperswarm. */
export interface HyperswarmEvents {
  connection: [connection: NoiseSecretStream, info: HyperswarmPeerInfo]
  update: []
  ban: [info: HyperswarmPeerInfo, error: Error]
}

/** A Hyperswarm: finds peers by topic on a HyperDHT and holds one connection per peer. */
export interface Hyperswarm extends EventEmitter {
  readonly dht: HyperDHT
  readonly keyPair: KeyPair
  readonly connections: Set<NoiseSecretStream>
  readonly peers: Map<string, HyperswarmPeerInfo>
  readonly destroyed: boolean
  readonly suspended: boolean
  readonly connecting: number
  join(topic: Buffer, options?: { server?: boolean; client?: boolean }): PeerDiscovery
  /** Leaves a topic (every session of it); live connections stay. */
  leave(topic: Buffer): Promise<void>
  status(topic: Buffer): PeerDiscovery | null
  /** Resolves once every topic is flushed and the peers found so far were tried. */
  flush(): Promise<boolean>
  listen(): Promise<void>
  /** Destroys every topic's discovery (unannouncing those announced). */
  clear(): Promise<unknown>
  joinPeer(publicKey: Buffer): void
  leavePeer(publicKey: Buffer): void
  /** Destroys the swarm and its DHT (`force`: without unannouncing its topics). */
  destroy(options?: { force?: boolean }): Promise<void>
  on<E extends keyof HyperswarmEvents>(event: E, listener: Listener<HyperswarmEvents, E>): this
  once<E extends keyof HyperswarmEvents>(event: E, listener: Listener<HyperswarmEvents, E>): this
  off<E extends keyof HyperswarmEvents>(event: E, listener: Listener<HyperswarmEvents, E>): this
}

/** The default export of `hyperswarm`. */
export type HyperswarmConstructor = new (options?: HyperswarmOptions) => Hyperswarm
