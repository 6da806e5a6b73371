/**
 * The puppet: a raw Protomux peer on the honest side B's replication stream
 * that plays multifeed X against side A, message by message, from a seeded
 * generator. It speaks core's wire format through core's own encoders (so a
 * valid message is valid) and then breaks it: truncated, bit-flipped,
 * oversized, duplicated, replayed out of order, on unknown message types,
 * channels closed and re-opened, pairing tokens flooded.
 *
 * This is the driver: it pairs on the connection in its role (roles.ts),
 * owns X's channel (answering A's opens, handing what A sends to the
 * honest responder, responder.ts) and runs one seeded operation per step
 * (ops.ts), which sends through the wire (wire.ts) what the generators
 * made (generators.ts).
 *
 * Every handler here is wrapped: a throw on this side would destroy B's
 * stream and be blamed on A.
 */
import type { Duplex } from 'node:stream'
import type {
  ProtomuxMessage as Message,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import Hypercore from 'hypercore'
import { encodeOpen, PROTOCOL_NAME } from '../src/protocol/messages.js'
import { capability, channelId, pairingToken } from '../src/protocol/pairing.js'
import { type GeneratorOptions, Generators } from './generators.js'
import { type Actor, type Op, ops } from './ops.js'
import type { RecordForge } from './records.js'
import { Responder } from './responder.js'
import type { Rng } from './rng.js'
import type { Mode } from './roles.js'
import { type LogEntry, type PuppetStats, TYPES, Wire } from './wire.js'

export interface PuppetOptions extends GeneratorOptions {
  /** B's replication stream (the puppet shares its Protomux). */
  stream: Duplex
  /** Side A's application attaches X again (after X's channel closed on an error). */
  reattach(): void
  /** A moderated X's records to send, valid and hostile (null or absent: X is a plain set). */
  forge?: RecordForge | null
}

export class Puppet {
  readonly stats: PuppetStats
  readonly log: LogEntry[]
  /** Errors thrown by the puppet's own code (a driver bug, never A's). */
  readonly errors: unknown[] = []

  readonly #o: PuppetOptions
  readonly #rng: Rng
  readonly #mux: Protomux
  readonly #noise: NoiseSecretStream
  readonly #hash: Buffer
  readonly #initiator: boolean
  readonly #id: Buffer
  readonly #token: Buffer
  readonly #wire: Wire
  readonly #generators: Generators
  readonly #responder: Responder
  readonly #actor: Actor
  /** Answer A's next open of X's channel (false after a deliberate close). */
  #answer = true
  #nextOpen: Buffer | null = null

  constructor(options: PuppetOptions) {
    this.#o = options
    this.#rng = options.rng
    this.#noise = (options.stream as unknown as { noiseStream: NoiseSecretStream }).noiseStream
    this.#mux = Hypercore.getProtocolMuxer(options.stream)
    this.#hash = this.#noise.handshakeHash!
    this.#initiator = this.#noise.isInitiator
    this.#id = channelId(options.key, this.#hash)
    this.#token = pairingToken(options.key, this.#hash, this.#initiator)
    this.#wire = new Wire(this.#mux)
    this.stats = this.#wire.stats
    this.log = this.#wire.log
    this.#generators = new Generators(options, this.#hash, this.#initiator)
    this.#responder = new Responder(
      options.mode,
      options.key,
      this.#hash,
      this.#initiator,
      this.#generators
    )
    this.#actor = {
      mode: options.mode,
      key: options.key,
      rng: options.rng,
      replay: options.replay,
      hash: this.#hash,
      initiator: this.#initiator,
      token: this.#token,
      wire: this.#wire,
      generators: this.#generators,
      responder: this.#responder,
      forge: options.forge ?? null,
      answer: (yes) => {
        this.#answer = yes
      },
      prepareOpen: (raw) => {
        this.#nextOpen = raw
      },
      openChannel: () => this.#openChannel(),
      reattach: () => options.reattach()
    }
    if (options.mode !== 'stranger') {
      // A opens X's channel as soon as it sees our token: answer it.
      this.#mux.pair({ protocol: PROTOCOL_NAME, id: this.#id }, () =>
        this.#guard(() => {
          if (this.#answer) this.#openChannel()
        })
      )
    }
  }

  /** Pairing material of this connection, replayed by later ones. */
  leak(): void {
    const r = this.#o.replay
    r.tokens.push(this.#token)
    r.ids.push(this.#id)
    r.capabilities.push(capability(this.#o.key, this.#hash, this.#initiator))
    for (const m of this.#wire.sentOnChannel.slice(-8)) r.messages.push(m)
    for (const list of [r.tokens, r.ids, r.capabilities, r.messages]) {
      if (list.length > 32) list.splice(0, list.length - 32)
    }
  }

  /** Announces the puppet's token (a keyholder and a forger start so). */
  start(): void {
    if (this.#o.mode === 'keyholder' || this.#o.mode === 'forger') {
      this.#wire.sendTokens([this.#token], 'announce')
    }
  }

  /** One seeded operation; resolves when it is done (some wait for A). */
  async step(): Promise<void> {
    this.stats.steps++
    const table =
      this.#actor.forge !== null && this.#o.mode === 'keyholder'
        ? MODERATED_KEYHOLDER
        : OPS[this.#o.mode]
    const name = this.#rng.weighted(
      this.#actor.forge === null ? withoutRecords(table.weights) : table.weights
    )
    this.stats.ops[name] = (this.stats.ops[name] ?? 0) + 1
    try {
      await table.ops[name]!(this.#actor)
    } catch (err) {
      this.errors.push(err)
    }
  }

  /** Stops answering and closes what the puppet opened. */
  stop(): void {
    this.#answer = false
    this.#mux.unpair({ protocol: PROTOCOL_NAME, id: this.#id })
    this.#wire.channel?.close()
    for (const ch of this.#wire.strangers) ch.close()
  }

  /** True while X's channel is open on both sides. */
  get paired(): boolean {
    return this.#wire.channel !== null && !this.#wire.channel.closed
  }

  #openChannel(): void {
    const wire = this.#wire
    if (wire.channel !== null && !wire.channel.closed) return
    const channel = this.#mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id: this.#id,
      handshake: c.raw,
      onopen: (raw) =>
        this.#guard(() => {
          this.stats.remoteOpens++
          this.stats.bytesReceived += raw.byteLength
          this.#responder.onOpen(raw)
        }),
      onclose: (isRemote) =>
        this.#guard(() => {
          if (wire.channel === channel) {
            wire.channel = null
            wire.messages = []
          }
          if (isRemote) this.stats.remoteCloses++
        })
    })
    if (channel === null) return
    const responder = this.#responder
    const handlers: Array<(raw: Buffer) => void> = [
      (raw) => responder.onSymbols(raw),
      (raw) => responder.onMore(raw),
      (raw) => responder.onElements(raw)
    ]
    const messages: Message<Buffer>[] = []
    for (let type = 0; type < TYPES; type++) {
      messages.push(
        channel.addMessage<Buffer>({
          encoding: c.raw,
          onmessage: (raw) =>
            this.#guard(() => {
              this.stats.received[type]!++
              this.stats.bytesReceived += raw.byteLength
              this.stats.largestReceived = Math.max(this.stats.largestReceived, raw.byteLength)
              handlers[type]?.(raw)
            })
        })
      )
    }
    wire.channel = channel
    wire.messages = messages
    responder.reset()
    let raw = this.#nextOpen
    let note = 'open'
    this.#nextOpen = null
    if (raw === null) raw = encodeOpen(this.#generators.validOpen())
    else note = 'open (prepared)'
    wire.record('open', -1, raw, note)
    responder.sent(raw)
    channel.open(raw)
  }

  #guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.errors.push(err)
    }
  }
}

/** Each role's operations, one drawn by weight at every step. */
type OpName = keyof typeof ops

interface OpTable {
  weights: Partial<Record<OpName, number>>
  ops: Partial<Record<OpName, Op>>
}

function table(weights: Partial<Record<OpName, number>>): OpTable {
  return { weights, ops }
}

/** A plain X has no records to attack: the record operations are left out. */
function withoutRecords(weights: OpTable['weights']): OpTable['weights'] {
  const { records: _records, recordsAbuse: _abuse, ...rest } = weights
  return rest
}

const OPS: Record<Mode, OpTable> = {
  keyholder: table({
    honest: 22,
    elements: 12,
    done: 4,
    list: 5,
    flags: 2,
    symbols: 6,
    more: 5,
    mutate: 16,
    random: 3,
    randomType: 3,
    oversized: 1.5,
    duplicate: 6,
    replay: 4,
    reopen: 3,
    reopenLoop: 0.5,
    closeOnly: 0.5,
    badOpen: 2,
    reattach: 3,
    tokens: 3,
    pairingAbuse: 0.3,
    wait: 6
  }),
  forger: table({
    badOpen: 6,
    reopen: 6,
    reattach: 3,
    elements: 6,
    list: 2,
    symbols: 3,
    mutate: 6,
    more: 2,
    duplicate: 2,
    tokens: 3,
    wait: 3
  }),
  stranger: table({
    tokens: 4,
    strangerChannel: 6,
    strangerMessage: 10,
    pairingAbuse: 0.5,
    wait: 3
  }),
  silent: table({ wait: 1 })
}

/**
 * A keyholder of a moderated X: mostly records (records.ts), with enough of
 * the rest that record messages interleave with feed messages, random bytes
 * on the record message types and re-opens (a new records exchange each).
 */
const MODERATED_KEYHOLDER = table({
  records: 24,
  recordsAbuse: 0.7,
  honest: 10,
  elements: 3,
  symbols: 2,
  mutate: 3,
  randomType: 3,
  duplicate: 2,
  replay: 2,
  reopen: 1,
  reattach: 2,
  wait: 6
})
