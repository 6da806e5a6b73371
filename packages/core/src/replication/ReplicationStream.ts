/**
 * The library's replication stream: Hypercore's protocol stream over a Noise
 * connection, built so that corestore does not track it. Corestore attaches
 * every active core to every stream it made itself; this one carries only
 * the cores a multifeed attached here, after the remote proved that
 * multifeed's key (see MultifeedPeer), whatever else the process opens.
 *
 * One per connection, shared by every multifeed on it. Through the pairing
 * channel (PairingChannel.ts) each side announces a 16-byte token per
 * multifeed it carries (protocol/pairing.ts); a multifeed opens its own
 * channel only once the remote announced the token that proves the same key.
 * A peer without the key sees one channel and random tokens, nothing it can
 * link to a multifeed.
 *
 * When the remote opens a hypercore channel we did not open (it wants a
 * core), the multifeeds proven on this stream decide whether to serve it
 * (`serve()`): a core outside every proven multifeed's set is refused.
 *
 * Once both sides announced every multifeed they carry (PairingChannel.ts),
 * pairing on the connection has concluded: `pairing-concluded` tells which
 * of ours paired (none: the remote carries no multifeed of ours, a
 * mismatched key shows at once). A multifeed added later can still pair.
 */
import type { Duplex } from 'node:stream'
import type {
  Corestore,
  ReplicationStream as HypercoreStream,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import { CallbackError, InvalidArgumentError, LimitExceededError } from '../errors.js'
import { debug, shortId } from '../lifecycle/debug.js'
import { TypedEmitter } from '../lifecycle/Resource.js'
import { emitWarning } from '../lifecycle/runtime.js'
import { MAX_REMOTE_TOKENS } from '../protocol/messages.js'
import { pairingToken } from '../protocol/pairing.js'
import { HYPERCORE_PROTOCOL } from './attachment.js'
import {
  PairingChannel,
  type PairingConclusion,
  type PairingState,
  type PairingStats
} from './PairingChannel.js'

export type { PairingConclusion, PairingStats }

/** What pairing on a connection concluded with (`replication.concluded`, `pairing-concluded`). */
export interface PairingOutcome {
  /**
   * The discovery keys of our multifeeds that paired on this connection
   * (the remote carries them), at the moment pairing concluded. Empty: the
   * remote carries none of ours (another key, or no multifeed at all).
   */
  readonly paired: Buffer[]
  /**
   * 'exchanged': both sides announced every multifeed they carry; 'refused':
   * the remote refused the pairing channel (no multifeed library there);
   * 'fault': its pairing input was malformed (nothing more pairs here).
   */
  readonly how: PairingConclusion
}

export interface ReplicationStreamEvents {
  /**
   * Pairing on this connection concluded, once per connection. `paired` is
   * empty when the connection shares no multifeed with us; a multifeed
   * added later on either side can still pair.
   */
  'pairing-concluded': [outcome: PairingOutcome]
}

/** A multifeed on the stream, as the stream sees it (MultifeedPeer implements it). */
export interface StreamMember {
  /** The key pairing is keyed by: the multifeed key, or an encrypted set's mirror key. */
  readonly key: Buffer
  /** The handshake is done: be ready for the remote opening the multifeed's channel first. */
  prepare(): void
  /** The remote announced the token of our key: open the multifeed's channel. */
  pair(): void
  /** Our set's state hint on this connection (pairing.ts `stateHint`), sent with our token; null: none. */
  hint?(): Buffer | null
  /** The remote opened a hypercore channel for this discovery key: attach the core if ours to serve. */
  serve(discoveryId: string, discoveryKey: Buffer): Promise<void> | null
  /** The stream closed. */
  onStreamClose(): void
  /** The multifeed's discovery key, to recognise a peer of multifeed 0.1 (`multifeed/1`). */
  readonly discoveryKey?: Buffer
  /** The remote speaks another major version for this multifeed. */
  versionMismatch?(themVersion: number): void
}

const streams = new WeakMap<NoiseSecretStream, ReplicationStream>()

/** The channel of multifeed 0.1 (one per multifeed, id = its discovery key). */
const LEGACY_PROTOCOL = 'multifeed/1'
const LEGACY_MAJOR = 1

export class ReplicationStream extends TypedEmitter<ReplicationStreamEvents> {
  /** The stream to pipe (or the connection passed in). */
  readonly stream: HypercoreStream
  readonly noise: NoiseSecretStream
  readonly mux: Protomux
  /** The root corestore whose cores this stream carries. */
  readonly root: Corestore
  /** Bytes and tokens of the pairing channel alone. */
  readonly stats: PairingStats

  readonly #members = new Set<StreamMember>()
  /** Remote token (hex) expected from the remote for each member. */
  readonly #expected = new Map<string, StreamMember>()
  /** The same, by member (one token each): what `remove` and `forgetRemote` look up. */
  readonly #expectedOf = new Map<StreamMember, string>()
  /** The remote's tokens (hex), each with the state hint that came with it (null: none). */
  readonly #remoteTokens = new Map<string, Buffer | null>()
  readonly #pairing: PairingChannel
  #concluded: PairingOutcome | null = null
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
    super()
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
    this.#pairing = new PairingChannel(
      this.mux,
      (tokens, hints) => this.#onTokens(tokens, hints),
      (how) => this.#onConcluded(how)
    )
    this.stats = this.#pairing.stats
    // First of the handshake's callbacks: the multifeeds added before it
    // queue their tokens after this one, and our END goes out after them.
    this.#whenHandshaken(() => this.#pairing.handshaken())
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
    this.#pairing.open()
    this.#whenHandshaken(() => {
      if (!this.#members.has(member)) return
      const hash = this.noise.handshakeHash!
      const expected = pairingToken(member.key, hash, !this.noise.isInitiator).toString('hex')
      this.#expected.set(expected, member)
      this.#expectedOf.set(member, expected)
      const hint = member.hint?.bind(member)
      this.#pairing.announce(member, pairingToken(member.key, hash, this.noise.isInitiator), hint)
      // Paired in a microtask: a member re-added while its predecessor's
      // channel is still closing (the remote re-opened) must not meet it.
      member.prepare()
      if (this.#remoteTokens.has(expected)) {
        queueMicrotask(() => {
          // Our own tokens go out before any channel open of ours: the remote
          // must know the multifeed before it sees the open (else it rejects it).
          this.#pairing.flush()
          member.pair()
        })
      }
    })
  }

  /** Removes a multifeed (it closed its channel itself). */
  remove(member: StreamMember): void {
    if (!this.#members.delete(member)) return
    this.#pairing.forget(member)
    const token = this.#expectedOf.get(member)
    if (token !== undefined && this.#expected.get(token) === member) this.#expected.delete(token)
    this.#expectedOf.delete(member)
  }

  /**
   * The remote closed the member's channel: its announcement is spent, the
   * member pairs again when the remote announces it anew.
   */
  forgetRemote(member: StreamMember): void {
    const token = this.#expectedOf.get(member)
    if (token !== undefined && this.#expected.get(token) === member)
      this.#remoteTokens.delete(token)
  }

  /**
   * The state hint the remote announced with the token of `member`'s set
   * (minor 6), or null: none (an older peer), or no token of it yet.
   */
  remoteHint(member: StreamMember): Buffer | null {
    const token = this.#expectedOf.get(member)
    return token === undefined ? null : (this.#remoteTokens.get(token) ?? null)
  }

  /** The pairing minor both sides speak (the lower of the two; 0 until the remote's is known). */
  get sharedMinor(): number {
    return this.#pairing.sharedMinor
  }

  /**
   * Makes this side announce and behave as a library of pairing `minor`
   * (e.g. 2: every sketch in the open): for tests of mixed minors only,
   * called before any multifeed attaches.
   */
  speakMinor(minor: number): void {
    this.#pairing.speak(minor)
  }

  /** How the pairing channel stands (for tests and diagnostics). */
  get pairing(): PairingState {
    return this.#pairing.state
  }

  /** What pairing concluded with on this connection, or null while it has not concluded. */
  get concluded(): PairingOutcome | null {
    return this.#concluded
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
    this.mux.unpair({ protocol: HYPERCORE_PROTOCOL })
    this.#pairing.release()
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

  /** The remote's tokens: each of ours pairs its multifeed; the others are kept for later. */
  #onTokens(tokens: Buffer[], hints: Array<Buffer | null>): void {
    if (this.#remoteTokens.size + tokens.length > MAX_REMOTE_TOKENS) {
      throw new LimitExceededError(
        'maxRemoteTokens',
        MAX_REMOTE_TOKENS,
        `Remote announced more than ${MAX_REMOTE_TOKENS} multifeeds on one connection`
      )
    }
    // The opens of the multifeeds these tokens pair go out in one frame
    // (Protomux's batch): ~20 bytes of framing a multifeed less than a frame
    // each (a reconnect of 1,000 sets: 40 KB).
    this.mux.cork()
    try {
      for (let i = 0; i < tokens.length; i++) {
        const id = tokens[i]!.toString('hex')
        // Not one of ours (yet): kept so that a multifeed attached later pairs.
        this.#remoteTokens.set(id, hints[i] ?? null)
        this.#expected.get(id)?.pair()
      }
    } finally {
      this.mux.uncork()
    }
  }

  #onConcluded(how: PairingConclusion): void {
    if (this.#concluded !== null || this.#closed) return
    const paired: Buffer[] = []
    for (const [token, member] of this.#expected) {
      if (this.#remoteTokens.has(token) && member.discoveryKey !== undefined) {
        paired.push(member.discoveryKey)
      }
    }
    this.#concluded = { paired, how }
    if (debug.pairing.enabled) {
      debug.pairing.log(
        `peer ${shortId(this.noise.remotePublicKey)} pairing concluded (${how}): ${paired.length} of our ${this.#members.size} multifeeds paired`
      )
    }
    // Never from inside a Protomux handler: a listener's throw must not reach
    // it; it is reported as a warning (ERR_CALLBACK), nothing crashes.
    queueMicrotask(() => {
      if (this.#closed) return
      try {
        this.emit('pairing-concluded', this.#concluded!)
      } catch (err) {
        emitWarning(new CallbackError('listener:pairing-concluded', err))
      }
    })
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
    this.#expectedOf.clear()
    this.#pairing.close()
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
