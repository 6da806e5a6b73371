// Narrow, hand-written declarations for the parts of the Holepunch stack that
// multifeed uses. None of these modules publish types. Each declaration was
// written from the module's source at the version pinned in the workspace
// (hypercore 11.37.1, corestore 7.12.5, protomux 3.12.1, hyperswarm 4.17.2,
// hyperdht 6.34, compact-encoding 3.5.2, hypercore-crypto 3.x): what is here
// exists there; what we do not use is left out rather than guessed.

/// <reference types="node" />

declare module 'compact-encoding' {
  export interface State {
    start: number
    end: number
    buffer: Buffer | null
  }
  export interface Encoding<T> {
    preencode(state: State, value: T): void
    encode(state: State, value: T): void
    decode(state: State): T
  }
  export const uint: Encoding<number>
  export const uint8: Encoding<number>
  export const uint32: Encoding<number>
  export const bool: Encoding<boolean>
  export const buffer: Encoding<Buffer | null>
  export const raw: Encoding<Buffer>
  export const string: Encoding<string>
  export const utf8: Encoding<string>
  export const fixed32: Encoding<Buffer>
  export const fixed64: Encoding<Buffer>
  export const json: Encoding<unknown>
  export function array<T>(enc: Encoding<T>): Encoding<T[]>
  export function state(start?: number, end?: number, buffer?: Buffer | null): State
  export function encode<T>(enc: Encoding<T>, value: T): Buffer
  export function decode<T>(enc: Encoding<T>, buffer: Buffer): T
}

declare module 'hypercore-crypto' {
  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }
  export function keyPair(seed?: Buffer): KeyPair
  export function randomBytes(n: number): Buffer
  export function discoveryKey(key: Buffer): Buffer
  export function hash(data: Buffer | Buffer[], out?: Buffer): Buffer
  export function sign(message: Buffer, secretKey: Buffer): Buffer
  export function verify(message: Buffer, signature: Buffer, publicKey: Buffer): boolean
  export function namespace(name: string, count: number): Buffer[]
}

declare module 'sodium-universal' {
  export const crypto_generichash_BYTES: number
  export const crypto_generichash_KEYBYTES: number
  export function crypto_generichash(out: Buffer, input: Buffer, key?: Buffer): void
  export function crypto_generichash_batch(out: Buffer, inputs: Buffer[], key?: Buffer): void
  export function randombytes_buf(out: Buffer): void
  export function sodium_memcmp(a: Buffer, b: Buffer): boolean
}

declare module 'hypercore-id-encoding' {
  /** Accepts a 32-byte buffer, 64 hex characters or 52 z-base-32 characters; throws otherwise. */
  export function decode(id: string | Buffer | Uint8Array): Buffer
  export function normalize(id: string | Buffer | Uint8Array): string
  /** z-base-32 encoding of a 32-byte key. */
  export function encode(key: Buffer): string
}

declare module 'protomux' {
  import type { Duplex } from 'node:stream'
  import type { Encoding } from 'compact-encoding'

  export interface MessageOptions<T> {
    encoding?: Encoding<T>
    /** Returning a promise delays reading later messages of the same batch until it settles. */
    onmessage?: (message: T, channel: Channel) => void | Promise<void>
    autoBatch?: boolean
  }
  export interface Message<T> {
    type: number
    send(message: T, channel?: Channel): boolean
  }
  export interface ChannelOptions<H> {
    userData?: unknown
    protocol: string
    aliases?: string[]
    id?: Buffer | null
    unique?: boolean
    handshake?: Encoding<H> | null
    messages?: MessageOptions<never>[]
    onopen?: (handshake: H, channel: Channel) => void | Promise<void>
    onclose?: (isRemote: boolean, channel: Channel) => void | Promise<void>
    ondestroy?: (channel: Channel) => void | Promise<void>
    ondrain?: (channel: Channel) => void
  }
  export class Channel {
    readonly protocol: string
    readonly id: Buffer | null
    readonly opened: boolean
    readonly closed: boolean
    readonly destroyed: boolean
    userData: unknown
    readonly messages: Message<unknown>[]
    readonly drained: boolean
    open(handshake?: unknown): void
    addMessage<T>(options: MessageOptions<T>): Message<T>
    close(): void
    cork(): void
    uncork(): void
    fullyOpened(): Promise<boolean>
    fullyClosed(): Promise<void>
  }
  export default class Protomux {
    constructor(stream: Duplex)
    static from(stream: Duplex): Protomux
    static isProtomux(value: unknown): value is Protomux
    readonly stream: NoiseSecretStream
    isProtomux: true
    readonly drained: boolean
    createChannel<H = unknown>(options: ChannelOptions<H>): Channel | null
    pair(
      options: { protocol: string; id?: Buffer | null },
      notify: (id: Buffer | null) => void | Promise<void>
    ): void
    unpair(options: { protocol: string; id?: Buffer | null }): void
    opened(options: { protocol: string; id?: Buffer | null }): boolean
    cork(): void
    uncork(): void
    destroy(err?: Error): void
    [Symbol.iterator](): Iterator<Channel>
  }

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
    readonly noiseStream: NoiseSecretStream
    setKeepAlive(ms: number): void
    readonly rawBytesWritten: number
    readonly rawBytesRead: number
  }
}

declare module 'hypercore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type { Encoding } from 'compact-encoding'
  import type Protomux from 'protomux'
  import type { NoiseSecretStream } from 'protomux'

  export type ValueEncoding = 'binary' | 'utf-8' | 'json' | Encoding<unknown>

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer | null
  }

  export interface HypercoreGetOptions {
    wait?: boolean
    timeout?: number
    valueEncoding?: ValueEncoding
  }

  export interface Download {
    done(): Promise<void>
    destroy(): void
  }

  export interface ReplicationStream extends NoiseSecretStream {}

  export interface PeerInfo {
    readonly remotePublicKey: Buffer
    readonly remoteLength: number
    readonly remoteContiguousLength: number
    readonly protomux: Protomux
    readonly stream: NoiseSecretStream
  }

  export interface HypercoreEvents {
    append: []
    truncate: [ancestors: number, forkId: number]
    ready: []
    close: []
    'peer-add': [peer: PeerInfo]
    'peer-remove': [peer: PeerInfo]
    download: [index: number, byteLength: number, from: PeerInfo]
    upload: [index: number, byteLength: number, from: PeerInfo]
  }

  /** A session on an append-only log. `T` is the block type after `valueEncoding`. */
  export default class Hypercore<T = Buffer> extends EventEmitter {
    static getProtocolMuxer(stream: Duplex): Protomux
    static createProtocolStream(
      isInitiator: boolean | Duplex,
      opts?: Record<string, unknown>
    ): ReplicationStream
    static discoveryKey(key: Buffer): Buffer

    /** Null until ready for cores opened by name. */
    readonly key: Buffer | null
    readonly discoveryKey: Buffer | null
    readonly id: string | null
    readonly keyPair: KeyPair | null
    /** Who signs the core; null until known (a core created by key learns it from a peer). */
    readonly manifest: Record<string, unknown> | null
    readonly length: number
    readonly contiguousLength: number
    readonly byteLength: number
    readonly fork: number
    readonly writable: boolean
    readonly readable: boolean
    readonly opened: boolean
    readonly closed: boolean
    readonly closing: Promise<void> | null
    readonly peers: PeerInfo[]
    readonly core: {
      readonly replicator: {
        attached(mux: Protomux): boolean
        attachTo(mux: Protomux): void
        detachFrom(mux: Protomux): void
        readonly peers: Array<{ readonly protomux: Protomux; readonly channel: { close(): void } }>
      }
    } | null

    ready(): Promise<void>
    close(): Promise<void>
    append(block: T | T[]): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: HypercoreGetOptions): Promise<T | null>
    has(start: number, end?: number): Promise<boolean>
    update(opts?: { wait?: boolean }): Promise<boolean>
    download(range?: {
      start?: number
      end?: number
      blocks?: number[]
      linear?: boolean
    }): Download
    replicate(
      isInitiator: boolean | Duplex | Protomux,
      opts?: Record<string, unknown>
    ): ReplicationStream
    findingPeers(): () => void
    createReadStream(opts?: { start?: number; end?: number; live?: boolean }): AsyncIterable<T>
    info(opts?: Record<string, unknown>): Promise<Record<string, unknown>>
    setActive(active: boolean): void

    on<E extends keyof HypercoreEvents>(
      event: E,
      listener: (...args: HypercoreEvents[E]) => void
    ): this
    once<E extends keyof HypercoreEvents>(
      event: E,
      listener: (...args: HypercoreEvents[E]) => void
    ): this
    off<E extends keyof HypercoreEvents>(
      event: E,
      listener: (...args: HypercoreEvents[E]) => void
    ): this
  }
}

declare module 'corestore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex, Readable } from 'node:stream'
  import type Hypercore from 'hypercore'
  import type { KeyPair, ReplicationStream, ValueEncoding } from 'hypercore'

  export interface GetOptions {
    /** Local name, resolved within the store's namespace. */
    name?: string
    /** Buffer, hex or z-base-32. */
    key?: Buffer | string
    keyPair?: KeyPair
    valueEncoding?: ValueEncoding
    /** false: this session does not make the core replicate on its own. */
    active?: boolean
    createIfMissing?: boolean
    exclusive?: boolean
    writable?: boolean
    wait?: boolean
    timeout?: number
  }

  export interface CorestoreOptions {
    primaryKey?: Buffer
    unsafe?: boolean
    /** false: the store session does not attach its cores to replication streams by itself. */
    active?: boolean
    readOnly?: boolean
    wait?: boolean
    suspend?: boolean
  }

  export default class Corestore extends EventEmitter {
    constructor(storage: string, opts?: CorestoreOptions)
    /** The root store, or null for the root itself. */
    readonly root: Corestore | null
    readonly opened: boolean
    readonly closed: boolean
    readonly closing: Promise<void> | null
    readonly active: boolean
    readonly primaryKey: Buffer | null
    readonly storage: {
      hasCore(discoveryKey: Buffer): Promise<boolean>
    }
    ready(): Promise<void>
    close(): Promise<void>
    get<T = Buffer>(opts: GetOptions | Buffer | string): Hypercore<T>
    session(opts?: CorestoreOptions): Corestore
    namespace(name: string | Buffer, opts?: CorestoreOptions): Corestore
    replicate(isInitiator: boolean | Duplex, opts?: Record<string, unknown>): ReplicationStream
    findingPeers(): () => void
    createKeyPair(name: string): Promise<KeyPair>
    /** Streams the discovery keys of the cores stored under a namespace. */
    list(namespace?: Buffer): Readable
  }
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events'

  export interface DHTOptions {
    bootstrap?: Array<string | { host: string; port: number }>
    host?: string
    port?: number
    ephemeral?: boolean
    firewalled?: boolean
  }
  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    readonly destroyed: boolean
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    address(): { host: string; port: number }
    destroy(opts?: { force?: boolean }): Promise<void>
  }
}

declare module 'hyperdht/testnet' {
  import type DHT from 'hyperdht'
  import type { DHTOptions } from 'hyperdht'

  export interface Testnet {
    readonly nodes: DHT[]
    readonly bootstrap: Array<{ host: string; port: number }>
    /** An ephemeral node bound to the testnet's host (127.0.0.1 by default). */
    createNode(opts?: DHTOptions): DHT
    destroy(): Promise<void>
    [Symbol.iterator](): Iterator<DHT>
  }
  export default function createTestnet(
    size?: number,
    opts?: { host?: string; port?: number; bootstrap?: Array<{ host: string; port: number }> }
  ): Promise<Testnet>
}

declare module '@hyperswarm/testnet' {
  import createTestnet from 'hyperdht/testnet'

  export type { Testnet } from 'hyperdht/testnet'
  export default createTestnet
}

declare module 'hyperswarm' {
  import type { EventEmitter } from 'node:events'
  import type DHT from 'hyperdht'
  import type { NoiseSecretStream } from 'protomux'

  export interface HyperswarmOptions {
    keyPair?: { publicKey: Buffer; secretKey: Buffer }
    seed?: Buffer
    maxPeers?: number
    firewall?: (remotePublicKey: Buffer) => boolean
    dht?: DHT
    bootstrap?: Array<string | { host: string; port: number }>
  }

  export interface PeerInfo {
    readonly publicKey: Buffer
    /** Filled only on the side that dialed (client side). */
    readonly topics: Buffer[]
    readonly client: boolean
    ban(value?: boolean): void
  }

  export interface PeerDiscovery {
    flushed(): Promise<void>
    refresh(opts?: { client?: boolean; server?: boolean }): Promise<void>
    destroy(): Promise<void>
  }

  export interface HyperswarmEvents {
    connection: [connection: NoiseSecretStream, info: PeerInfo]
    update: []
  }

  export default class Hyperswarm extends EventEmitter {
    constructor(opts?: HyperswarmOptions)
    readonly dht: DHT
    readonly keyPair: { publicKey: Buffer; secretKey: Buffer }
    readonly connections: Set<NoiseSecretStream>
    readonly peers: Map<string, PeerInfo>
    readonly destroyed: boolean
    readonly connecting: number
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean }): PeerDiscovery
    leave(topic: Buffer): Promise<void>
    status(topic: Buffer): PeerDiscovery | undefined
    flush(): Promise<void>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    on<E extends keyof HyperswarmEvents>(
      event: E,
      listener: (...args: HyperswarmEvents[E]) => void
    ): this
    off<E extends keyof HyperswarmEvents>(
      event: E,
      listener: (...args: HyperswarmEvents[E]) => void
    ): this
  }
}

declare module 'z32' {
  export function encode(data: Buffer | Uint8Array | string): string
  /** Throws on characters outside the z-base-32 alphabet. */
  export function decode(s: string, out?: Buffer): Buffer
}

declare module '@hyperswarm/secret-stream' {
  import type { Duplex } from 'node:stream'
  import type { NoiseSecretStream as NoiseSecretStreamShape } from 'protomux'

  export interface NoiseSecretStreamOptions {
    /** Our static key pair; random when omitted. */
    keyPair?: { publicKey: Buffer; secretKey: Buffer }
    /** The remote's expected public key (required for the responder of some patterns). */
    remotePublicKey?: Buffer
    /** Send a keep-alive every `keepAlive` ms (0: none). */
    keepAlive?: number
    /** false: do not start until `start(rawStream, opts)` is called. */
    autoStart?: boolean
  }

  interface NoiseSecretStream extends NoiseSecretStreamShape {}
  /**
   * With `rawStream` null, the stream creates an in-memory duplex (a bridge)
   * as its `rawStream`: pipe two such raw streams into each other.
   */
  class NoiseSecretStream {
    constructor(isInitiator: boolean, rawStream?: Duplex | null, opts?: NoiseSecretStreamOptions)
    static keyPair(seed?: Buffer): { publicKey: Buffer; secretKey: Buffer }
  }
  export default NoiseSecretStream
}
