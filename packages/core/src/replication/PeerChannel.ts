/**
 * The `multifeed/2` channel of one multifeed on one connection, as bytes:
 * its id (a keyed hash of the multifeed key over the handshake, the same on
 * both sides), our open message (the capability of our role, the set proof,
 * the set's size and sketch), the check of the remote's version and
 * capability, and the three messages (symbols, more, elements), every byte
 * counted in the peer's stats. What the messages mean is MultifeedPeer's.
 *
 * Deferred sketches (minor 6): what our open leaves out, and when the
 * remote's open is complete, is DeferredSketches'; the SKETCHES message is
 * carried here. The owner always sees a complete open.
 */
import type {
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { CapabilityError, MalformedMessageError, VersionMismatchError } from '../errors.js'
import {
  DEFERRED_SKETCH_MINOR,
  decodeOpen,
  decodeVersion,
  encodeOpen,
  MODERATION_MINOR,
  type Open,
  PROTOCOL_MAJOR,
  PROTOCOL_NAME,
  type RecordsSummary
} from '../protocol/messages.js'
import { capability, channelId, secretsEqual, setProof, stateHint } from '../protocol/pairing.js'
import { DeferredSketches } from './DeferredSketches.js'
import type { PeerStats, SharedSet } from './PeerHost.js'
import { RECORD_MESSAGES, type RecordMessage } from './PeerRecords.js'
import type { ReplicationStream } from './ReplicationStream.js'

/** The channel's messages, by name (the record messages on a moderated set's channel only). */
export type ChannelMessage = 'symbols' | 'more' | 'elements' | RecordMessage

/** What the channel hands its owner. */
export interface ChannelEvents {
  /** False once the owner takes no more input (closed, or after a fault): nothing is counted or handed on. */
  live(): boolean
  /** The remote's open, its capability verified. */
  opened(remote: Open): void
  /** The remote's open was of another major, malformed, or its capability wrong. */
  refused(err: unknown): void
  message(name: ChannelMessage, raw: Buffer): void
  /** The channel closed. */
  closed(isRemote: boolean): void
  /** The stream took what was queued: send more (backpressure). */
  drained(): void
}

export class PeerChannel {
  readonly #key: Buffer
  readonly #replication: ReplicationStream
  readonly #stats: PeerStats
  readonly #events: ChannelEvents
  #id: Buffer | null = null
  #channel: Channel | null = null
  /** The minor our open announces (MODERATION_MINOR, or messages.minorOf). */
  readonly #minor: number
  #messages: Partial<Record<ChannelMessage, Message<Buffer>>> | null = null
  /** The SKETCHES message (minor 6; on every channel, sent only to a remote of minor ≥ 6). */
  #sketches: Message<Buffer> | null = null
  #opened = false
  readonly #deferred = new DeferredSketches()
  /** A moderated set's channel: minor 3, the records summary in the opens, the record messages. */
  readonly #moderated: boolean

  constructor(
    key: Buffer,
    minor: number,
    replication: ReplicationStream,
    stats: PeerStats,
    events: ChannelEvents,
    { moderated = false } = {}
  ) {
    this.#key = key
    this.#minor = minor
    this.#replication = replication
    this.#stats = stats
    this.#events = events
    this.#moderated = moderated
  }

  /** True while a channel exists and has not closed. */
  get active(): boolean {
    return this.#channel !== null && !this.#channel.closed
  }

  /** True while the channel is open and the stream takes more (its buffer below the high-water mark). */
  get writable(): boolean {
    return this.active && this.#replication.mux.drained
  }

  /** A remote open for our channel id (only a key holder can name it) calls `pair`, even before its token. */
  expect(pair: () => void): void {
    this.#replication.mux.pair({ protocol: PROTOCOL_NAME, id: this.#channelId() }, pair)
  }

  /**
   * Our state hint for the set of `digest` (and a moderated set's records
   * proof on this connection), sent with our pairing token.
   */
  hint(digest: Buffer, recordsProof?: (handshakeHash: Buffer) => Buffer): Buffer {
    const hash = this.#replication.noise.handshakeHash!
    return stateHint(setProof(this.#key, hash, digest), recordsProof?.(hash))
  }

  /**
   * Opens the channel announcing `shared` (and a moderated set's `records`,
   * summarised for this connection); false when one is open already or
   * Protomux refuses. Its sketches are left out when `remoteHint` (the state
   * hint of the remote's token) equals ours: the sets are (most likely) equal.
   */
  open(
    shared: SharedSet,
    records?: (handshakeHash: Buffer) => RecordsSummary,
    remoteHint: Buffer | null = null
  ): boolean {
    if (this.active) return false
    const noise = this.#replication.noise
    const hash = noise.handshakeHash!
    const channel = this.#replication.mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id: this.#channelId(),
      handshake: c.raw,
      onopen: (raw) => this.#onOpen(raw),
      ondrain: () => this.#events.drained(),
      onclose: (isRemote) => {
        if (this.#channel === channel) {
          this.#channel = null
          this.#messages = null
        }
        this.#events.closed(isRemote)
      }
    })
    if (channel === null) return false
    const message = (name: ChannelMessage) =>
      channel.addMessage<Buffer>({
        encoding: c.raw,
        onmessage: (raw) => {
          if (this.#deferred.waiting) {
            this.#refuse(raw, new MalformedMessageError(`${name} before the deferred sketches`))
            return
          }
          if (!this.#opened || !this.#events.live()) return
          this.#count(raw, false)
          this.#events.message(name, raw)
        }
      })
    const messages: Partial<Record<ChannelMessage, Message<Buffer>>> = {
      symbols: message('symbols'),
      more: message('more'),
      elements: message('elements')
    }
    // Protomux numbers messages in this order: the record messages are 3–6, SKETCHES last.
    if (this.#moderated) for (const name of RECORD_MESSAGES) messages[name] = message(name)
    this.#sketches = channel.addMessage<Buffer>({
      encoding: c.raw,
      onmessage: (raw) => this.#onSketches(raw)
    })
    this.#messages = messages
    this.#channel = channel
    const summary = this.#moderated && records !== undefined ? records(hash) : undefined
    const proof = setProof(this.#key, hash, shared.digest)
    const deferrable = this.#replication.sharedMinor >= DEFERRED_SKETCH_MINOR
    const open = encodeOpen({
      major: PROTOCOL_MAJOR,
      minor: this.#minor,
      capability: capability(this.#key, hash, noise.isInitiator),
      setProof: proof,
      count: shared.count,
      ...this.#deferred.announce(shared, proof, summary, deferrable, remoteHint)
    })
    this.#count(open, true)
    channel.open(open)
    return true
  }

  send(name: ChannelMessage, raw: Buffer): void {
    const message = this.#messages?.[name]
    if (message === undefined) return
    this.#count(raw, true)
    message.send(raw)
  }

  /** Closes the channel and stops expecting the remote's open. */
  close(): void {
    if (this.#id !== null && !this.#replication.noise.destroyed) {
      this.#replication.mux.unpair({ protocol: PROTOCOL_NAME, id: this.#id })
    }
    const channel = this.#channel
    this.#channel = null
    this.#messages = null
    this.#sketches = null
    this.#deferred.reset()
    if (channel !== null && !channel.closed) channel.close()
  }

  #onOpen(raw: Buffer): void {
    if (!this.#events.live()) return
    this.#count(raw, false)
    let remote: Open
    try {
      const { major } = decodeVersion(raw)
      if (major !== PROTOCOL_MAJOR) throw new VersionMismatchError(PROTOCOL_MAJOR, major)
      // Only a remote whose pairing announced minor ≥ 6 may defer its sketches.
      const deferred = this.#replication.sharedMinor >= DEFERRED_SKETCH_MINOR
      remote = decodeOpen(raw, { moderated: this.#moderated, deferred })
      if (this.#moderated && remote.records === undefined) {
        // It holds the set's key but speaks no moderation (an older peer, or
        // one that opened the key as a plain set): it would serve blocked feeds.
        throw new VersionMismatchError(
          PROTOCOL_MAJOR,
          major,
          `The remote opened a moderated set without moderation (protocol ${major}.${remote.minor}; moderated sets need ${PROTOCOL_MAJOR}.${MODERATION_MINOR})`
        )
      }
    } catch (err) {
      this.#events.refused(err)
      return
    }
    const noise = this.#replication.noise
    const proof = capability(this.#key, noise.handshakeHash!, !noise.isInitiator)
    if (!secretsEqual(proof, remote.capability)) {
      this.#events.refused(new CapabilityError())
      return
    }
    const { sketches, complete } = this.#deferred.compare(remote)
    if (sketches !== null) {
      this.#count(sketches, true)
      this.#sketches!.send(sketches)
    }
    if (!complete) return
    this.#opened = true
    this.#events.opened(remote)
  }

  /** The remote's deferred sketches: its open is complete, the channel opened. */
  #onSketches(raw: Buffer): void {
    if (!this.#events.live()) return
    this.#count(raw, false)
    let remote: Open
    try {
      remote = this.#deferred.complete(raw, this.#moderated)
    } catch (err) {
      this.#events.refused(err)
      return
    }
    this.#opened = true
    this.#events.opened(remote)
  }

  /** Remote input out of step: counted, then the channel is refused. */
  #refuse(raw: Buffer, err: Error): void {
    if (!this.#events.live()) return
    this.#count(raw, false)
    this.#deferred.reset()
    this.#events.refused(err)
  }

  #channelId(): Buffer {
    this.#id ??= channelId(this.#key, this.#replication.noise.handshakeHash!)
    return this.#id
  }

  #count(raw: Buffer, sent: boolean): void {
    if (sent) {
      this.#stats.bytesSent += raw.byteLength
      this.#stats.messagesSent++
    } else {
      this.#stats.bytesReceived += raw.byteLength
      this.#stats.messagesReceived++
    }
  }
}
