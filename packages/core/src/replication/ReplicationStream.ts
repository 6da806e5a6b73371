/**
 * The library's replication stream: Hypercore's protocol stream over a Noise
 * connection, built so that corestore does not track it. Corestore attaches
 * every active core to every stream it made itself; this one carries only
 * the cores a multifeed attached here, after the remote proved that
 * multifeed's key (see MultifeedPeer), whatever else the process opens.
 *
 * One per connection, shared by every multifeed on it. It runs the pairing
 * channel: each side announces a 16-byte token per multifeed it carries
 * (pairing.ts); a multifeed opens its own channel only once the remote
 * announced the token that proves the same key. A peer without the key sees
 * one channel and random tokens, nothing it can link to a multifeed.
 *
 * When the remote opens a hypercore channel we did not open (it wants a
 * core), the multifeeds proven on this stream decide whether to serve it
 * (`serve()`): a core outside every proven multifeed's set is refused.
 */
import type { Duplex } from 'node:stream'
import type {
  ProtomuxChannel as Channel,
  Corestore,
  ReplicationStream as HypercoreStream,
  ProtomuxMessage as Message,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import Hypercore from 'hypercore'
import { InvalidArgumentError, LimitExceededError } from '../errors.js'
import {
  decodeTokens,
  decodeVersion,
  encodePairingOpen,
  encodeTokens,
  MAX_REMOTE_TOKENS,
  MAX_TOKENS_PER_MESSAGE,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR
} from '../protocol/messages.js'
import { pairingToken } from '../protocol/pairing.js'

/** A multifeed on the stream, as the stream sees it (MultifeedPeer implements it). */
export interface StreamMember {
  /** The multifeed key. */
  readonly key: Buffer
  /** The handshake is done: be ready for the remote opening the multifeed's channel first. */
  prepare(): void
  /** The remote announced the token of our key: open the multifeed's channel. */
  pair(): void
  /** The remote opened a hypercore channel for this discovery key: attach the core if ours to serve. */
  serve(discoveryId: string, discoveryKey: Buffer): Promise<void> | null
  /** The stream closed. */
  onStreamClose(): void
  /** The multifeed's discovery key, to recognise a peer of multifeed 0.1 (`multifeed/1`). */
  readonly discoveryKey?: Buffer
  /** The remote speaks another major version for this multifeed. */
  versionMismatch?(themVersion: number): void
}

/** Bytes and messages of the pairing channel alone. */
export interface PairingStats {
  bytesSent: number
  bytesReceived: number
  tokensSent: number
  tokensReceived: number
}

const streams = new WeakMap<NoiseSecretStream, ReplicationStream>()
/** Hypercore's protocol: `ondiscoverykey` is its pair handler without an id. */
const HYPERCORE_PROTOCOL = 'hypercore/alpha'

/** The channel of multifeed 0.1 (one per multifeed, id = its discovery key). */
const LEGACY_PROTOCOL = 'multifeed/1'
const LEGACY_MAJOR = 1

export class ReplicationStream {
  /** The stream to pipe (or the connection passed in). */
  readonly stream: HypercoreStream
  readonly noise: NoiseSecretStream
  readonly mux: Protomux
  /** The root corestore whose cores this stream carries. */
  readonly root: Corestore
  readonly stats: PairingStats = {
    bytesSent: 0,
    bytesReceived: 0,
    tokensSent: 0,
    tokensReceived: 0
  }

  readonly #members = new Set<StreamMember>()
  /** Remote token (hex) expected from the remote for each member. */
  readonly #expected = new Map<string, StreamMember>()
  /** Our token for each member whose handshake is done. */
  readonly #ours = new Map<StreamMember, Buffer>()
  readonly #remoteTokens = new Set<string>()
  #channel: Channel | null = null
  #tokens: Message<Buffer> | null = null
  /** Members whose token the current pairing channel has not carried yet. */
  #unannounced = new Set<StreamMember>()
  #flushScheduled = false
  /**
   * How the last pairing channel ended: `refused` (the remote never opened
   * it: it speaks no pairing, or let go of the library) and we wait for the
   * remote to open one; `fault` (its input was malformed) and nothing pairs
   * any more on this connection.
   */
  #pairing: 'idle' | 'refused' | 'fault' = 'idle'
  #closed = false

  /**
   * The library's replication stream on `isInitiatorOrStream` (a new
   * stream for a boolean; the given connection otherwise), created once per
   * connection: asking again returns the same one.
   */
  static for(store: Corestore, isInitiatorOrStream: boolean | Duplex): ReplicationStream {
    if (typeof isInitiatorOrStream !== 'boolean' && !isDuplex(isInitiatorOrStream)) {
      throw new InvalidArgumentError('replicate() takes a boolean (isInitiator) or a duplex stream')
    }
    const root = rootOf(store)
    if (typeof isInitiatorOrStream !== 'boolean') {
      const noise = noiseStreamOf(isInitiatorOrStream)
      if (noise === null) {
        throw new InvalidArgumentError(
          'replicate() takes a boolean (isInitiator) or an encrypted stream: a Hyperswarm connection, or the stream another replicate() returned'
        )
      }
      const existing = streams.get(noise)
      if (existing !== undefined) {
        if (existing.root !== root) {
          throw new InvalidArgumentError('This stream already replicates another corestore')
        }
        return existing
      }
    }
    return new ReplicationStream(root, isInitiatorOrStream)
  }

  /** The replication stream already set up on `stream`, if any. */
  static of(stream: Duplex): ReplicationStream | null {
    const noise = noiseStreamOf(stream)
    return noise ? (streams.get(noise) ?? null) : null
  }

  private constructor(root: Corestore, isInitiatorOrStream: boolean | Duplex) {
    this.root = root
    this.stream = Hypercore.createProtocolStream(isInitiatorOrStream, {
      ondiscoverykey: (discoveryKey: Buffer) => this.#onDiscoveryKey(discoveryKey)
    })
    this.noise = this.stream.noiseStream
    this.mux = Hypercore.getProtocolMuxer(this.stream)
    streams.set(this.noise, this)
    // One listener per multifeed and per core: many on one stream is normal.
    this.noise.setMaxListeners(0)
    this.noise.once('close', this.#onNoiseClose)
    // The remote may open the pairing channel before any multifeed attached here.
    this.mux.pair({ protocol: PAIRING_PROTOCOL }, () => this.#openPairing())
    // A peer of multifeed 0.1 opens `multifeed/1` with a discovery key as the
    // id: tell the multifeed it names (Protomux then refuses the channel,
    // whatever the id, so the remote learns nothing).
    this.mux.pair({ protocol: LEGACY_PROTOCOL }, (id) => this.#onLegacyOpen(id))
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Adds a multifeed: its token is announced once the handshake is done. */
  add(member: StreamMember): void {
    if (this.#closed || this.#members.has(member)) return
    this.#members.add(member)
    if (this.#pairing === 'idle') this.#openPairing()
    this.#whenHandshaken(() => {
      if (!this.#members.has(member)) return
      const hash = this.noise.handshakeHash!
      const expected = pairingToken(member.key, hash, !this.noise.isInitiator).toString('hex')
      this.#expected.set(expected, member)
      this.#ours.set(member, pairingToken(member.key, hash, this.noise.isInitiator))
      this.#announce(member)
      // Paired in a microtask: a member re-added while its predecessor's
      // channel is still closing (the remote re-opened) must not meet it.
      member.prepare()
      if (this.#remoteTokens.has(expected)) {
        queueMicrotask(() => {
          this.#flush()
          // Our own tokens go out before any channel open of ours: the remote
          // must know the multifeed before it sees the open (else it rejects it).
          this.#flush()
          member.pair()
        })
      }
    })
  }

  /** Removes a multifeed (it closed its channel itself). */
  remove(member: StreamMember): void {
    if (!this.#members.delete(member)) return
    this.#ours.delete(member)
    this.#unannounced.delete(member)
    for (const [token, m] of this.#expected) {
      if (m === member) this.#expected.delete(token)
    }
  }

  /**
   * The remote closed the member's channel: its announcement is spent, the
   * member pairs again when the remote announces it anew.
   */
  forgetRemote(member: StreamMember): void {
    for (const [token, m] of this.#expected) {
      if (m === member) this.#remoteTokens.delete(token)
    }
  }

  /** How the pairing channel stands (for tests and diagnostics). */
  get pairing(): 'open' | 'idle' | 'refused' | 'fault' {
    return this.#channel !== null ? 'open' : this.#pairing
  }

  /**
   * Takes the library off the connection, which lives on (a networker
   * closing on a swarm it was given): every multifeed's channel and cores
   * detached, the pairing channel closed, our handlers and listener removed.
   */
  release(): void {
    if (this.#closed) return
    this.#onClose()
    this.noise.off('close', this.#onNoiseClose)
    this.mux.unpair({ protocol: PAIRING_PROTOCOL })
    this.mux.unpair({ protocol: HYPERCORE_PROTOCOL })
    const channel = this.#channel
    this.#channel = null
    this.#tokens = null
    if (channel !== null && !channel.closed) channel.close()
    if (streams.get(this.noise) === this) streams.delete(this.noise)
  }

  #onNoiseClose = (): void => this.#onClose()

  #whenHandshaken(run: () => void): void {
    if (this.noise.handshakeHash) {
      run()
      return
    }
    this.noise.opened.then(
      (ok) => {
        if (ok && !this.#closed) run()
      },
      () => {}
    )
  }

  /**
   * Opens the pairing channel. Ours is opened when a multifeed is added, or
   * in answer to the remote's open (its pair handler); a channel the remote
   * refused is not opened again until the remote opens one itself, and after
   * a fault never again. A new channel carries every member's token: the
   * remote side may be new (a library that let go of the connection and came
   * back), and a token it already knew pairs nothing twice.
   */
  #openPairing(): void {
    if (this.#channel !== null || this.#closed || this.#pairing === 'fault') return
    let opened = false
    const channel = this.mux.createChannel<Buffer>({
      protocol: PAIRING_PROTOCOL,
      handshake: c.raw,
      onopen: (raw) => {
        opened = true
        this.#onPairingOpen(raw)
      },
      onclose: () => {
        if (this.#channel !== channel) return
        this.#channel = null
        this.#tokens = null
        this.#unannounced.clear()
        if (this.#pairing !== 'fault') this.#pairing = opened ? 'idle' : 'refused'
      }
    })
    if (channel === null) return
    this.#tokens = channel.addMessage<Buffer>({
      encoding: c.raw,
      onmessage: (raw) => this.#onTokens(raw)
    })
    this.#channel = channel
    this.#pairing = 'idle'
    const open = encodePairingOpen({ major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR })
    this.stats.bytesSent += open.byteLength
    channel.open(open)
    for (const member of this.#ours.keys()) this.#announce(member)
  }

  #onPairingOpen(raw: Buffer): void {
    this.stats.bytesReceived += raw.byteLength
    try {
      const { major } = decodeVersion(raw)
      // Another major speaks another pairing protocol name: we never get here.
      if (major !== PROTOCOL_MAJOR) throw new Error(`pairing major ${major}`)
    } catch {
      this.#closePairing()
    }
  }

  /** The remote's pairing input was malformed: no multifeed pairs on this connection any more. */
  #closePairing(): void {
    this.#pairing = 'fault'
    this.#unannounced.clear()
    const channel = this.#channel
    // After the current message: Protomux is still dispatching it.
    if (channel !== null) queueMicrotask(() => channel.close())
  }

  #announce(member: StreamMember): void {
    if (this.#tokens === null) return
    this.#unannounced.add(member)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    // Every multifeed attached in this tick goes out in one message.
    queueMicrotask(() => this.#flush())
  }

  #flush(): void {
    this.#flushScheduled = false
    const message = this.#tokens
    if (message === null || this.#closed || this.#pairing === 'fault') return
    const tokens: Buffer[] = []
    for (const member of this.#unannounced) {
      const token = this.#ours.get(member)
      if (token !== undefined) tokens.push(token)
    }
    this.#unannounced.clear()
    for (let i = 0; i < tokens.length; i += MAX_TOKENS_PER_MESSAGE) {
      const raw = encodeTokens({ tokens: tokens.slice(i, i + MAX_TOKENS_PER_MESSAGE) })
      this.stats.bytesSent += raw.byteLength
      this.stats.tokensSent += Math.min(MAX_TOKENS_PER_MESSAGE, tokens.length - i)
      message.send(raw)
    }
  }

  #onTokens(raw: Buffer): void {
    this.stats.bytesReceived += raw.byteLength
    let tokens: Buffer[]
    try {
      tokens = decodeTokens(raw).tokens
      if (this.#remoteTokens.size + tokens.length > MAX_REMOTE_TOKENS) {
        throw new LimitExceededError(
          'maxRemoteTokens',
          MAX_REMOTE_TOKENS,
          `Remote announced more than ${MAX_REMOTE_TOKENS} multifeeds on one connection`
        )
      }
    } catch {
      // A peer's bad input closes the pairing channel only (never the stream):
      // multifeeds already paired live on, no new ones pair with this peer.
      this.#closePairing()
      return
    }
    this.stats.tokensReceived += tokens.length
    for (const token of tokens) {
      const id = token.toString('hex')
      const member = this.#expected.get(id)
      if (member === undefined) {
        // Not one of ours (yet): kept so that a multifeed attached later pairs.
        this.#remoteTokens.add(id)
        continue
      }
      this.#remoteTokens.add(id)
      member.pair()
    }
  }

  #onLegacyOpen(id: Buffer | null): void {
    if (this.#closed || id === null) return
    for (const member of this.#members) {
      if (member.discoveryKey?.equals(id)) member.versionMismatch?.(LEGACY_MAJOR)
    }
  }

  #onDiscoveryKey(discoveryKey: Buffer): Promise<void> | undefined {
    if (this.#closed) return
    const id = discoveryKey.toString('hex')
    // Every multifeed that holds the core serves it (each holds it attached):
    // one of them detaching later leaves it on the stream for the others.
    const serving: Promise<void>[] = []
    for (const member of this.#members) {
      const attached = member.serve(id, discoveryKey)
      if (attached !== null) serving.push(attached)
    }
    if (serving.length === 0) return
    return Promise.all(serving).then(() => {})
  }

  #onClose(): void {
    if (this.#closed) return
    this.#closed = true
    const members = [...this.#members]
    this.#members.clear()
    this.#expected.clear()
    this.#ours.clear()
    this.#unannounced.clear()
    this.#remoteTokens.clear()
    for (const member of members) member.onStreamClose()
  }
}

/** The root of a store session (the store that owns the storage). */
export function rootOf(store: Corestore): Corestore {
  return store.root ?? store
}

/** True when both are sessions of one root corestore. */
export function sameCorestore(a: Corestore, b: Corestore): boolean {
  return rootOf(a) === rootOf(b)
}

/** The encrypted stream under a replication stream (itself for a Noise stream), or null. */
export function noiseStreamOf(stream: Duplex): NoiseSecretStream | null {
  const noise = (stream as { noiseStream?: unknown }).noiseStream
  return typeof noise === 'object' && noise !== null ? (noise as NoiseSecretStream) : null
}

function isDuplex(value: unknown): value is Duplex {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { pipe?: unknown }).pipe === 'function' &&
    typeof (value as { write?: unknown }).write === 'function'
  )
}
