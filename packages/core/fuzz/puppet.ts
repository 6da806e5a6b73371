/**
 * The puppet: a raw Protomux peer on the honest side B's replication stream
 * that plays multifeed X against side A, message by message, from a seeded
 * generator. It speaks core's wire format through core's own encoders (so a
 * valid message is valid) and then breaks it: truncated, bit-flipped,
 * oversized, duplicated, replayed out of order, on unknown message types,
 * channels closed and re-opened, pairing tokens flooded.
 *
 * Three roles:
 * - keyholder: knows the multifeed key, so it pairs and proves it, then
 *   follows the protocol part of the time (it answers A's coded symbols and
 *   requests, and lists its set or answers A's list in list mode) and abuses
 *   it the rest (lists out of place, too long, with a feed twice, ended twice);
 * - forger: knows the pairing token and channel id (as if leaked) but not the
 *   capability: random, reflected or replayed proofs;
 * - stranger: knows nothing: random and replayed tokens, channels with random
 *   ids, garbage on them.
 *
 * Every handler here is wrapped: a throw on this side would destroy B's
 * stream and be blamed on A.
 */
import type { Duplex } from 'node:stream'
import type {
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import Hypercore from 'hypercore'
import { ELEMENT_BYTES, elementOf } from '../src/protocol/elements.js'
import { listMessages, listPays } from '../src/protocol/list.js'
import {
  decodeElements,
  decodeMore,
  decodeOpen,
  decodeSymbols,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  type Element,
  encodeElements,
  encodeMore,
  encodeOpen,
  encodePairingOpen,
  encodeSymbols,
  encodeTokens,
  MAX_ELEMENTS_PER_MESSAGE,
  MAX_SKETCH_COUNTERS,
  MAX_SYMBOLS_PER_MESSAGE,
  MAX_TOKENS_PER_MESSAGE,
  type Open,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PROTOCOL_NAME
} from '../src/protocol/messages.js'
import { capability, channelId, pairingToken, symbolSalt } from '../src/protocol/pairing.js'
import { ReconcileDecoder } from '../src/protocol/Reconciler.js'
import { type CodedSymbol, RibltEncoder } from '../src/protocol/riblt.js'
import { mutate } from './mutate.js'
import type { Rng } from './rng.js'

/** `silent` is the control: a connection where the puppet sends nothing. */
export type Mode = 'keyholder' | 'forger' | 'stranger' | 'silent'

/** Message types of the multifeed channel; 3..7 are types no version defines. */
const SYMBOLS = 0
const MORE = 1
const ELEMENTS = 2
const TYPES = 8
const SKETCH_COUNTERS = 32

/** What earlier connections of the episode showed (for replays). */
export interface Replayable {
  tokens: Buffer[]
  ids: Buffer[]
  capabilities: Buffer[]
  messages: Array<{ type: number; raw: Buffer }>
}

export interface PuppetOptions {
  rng: Rng
  mode: Mode
  /** B's replication stream (the puppet shares its Protomux). */
  stream: Duplex
  /** The key of multifeed X (a forger and a stranger use it only to derive what leaked). */
  key: Buffer
  /** Feeds of X on A (a keyholder knows them from an earlier sync). */
  xKeys(): Buffer[]
  /** Keys this corestore holds for something else than X (an adoption attempt). */
  foreignKeys(): Buffer[]
  /** Side A's application attaches X again (after X's channel closed on an error). */
  reattach(): void
  replay: Replayable
  /**
   * Leave out the triggers of findings already reported (a sketch of another
   * size or with huge counters in Open), to look past them.
   */
  skipKnown?: boolean
}

export interface LogEntry {
  op: string
  /** Message type on the channel (-1: channel open, -2: Tokens on the pairing channel). */
  type: number
  len: number
  /** First bytes, hex. */
  head: string
  note?: string
}

export interface PuppetStats {
  /** Messages written (opens, tokens and channel messages). */
  sent: number
  bytes: number
  ops: Record<string, number>
  /** Messages A sent the puppet on X's channel, by type. */
  received: number[]
  /** A opened X's channel to the puppet this many times. */
  remoteOpens: number
  /** A closed X's channel this many times. */
  remoteCloses: number
  /** Bytes A sent the puppet on X's channel (open and messages). */
  bytesReceived: number
  /** Largest message A sent the puppet on X's channel. */
  largestReceived: number
  /** A opened a channel the puppet opened as a stranger (it must never: privacy). */
  strangerOpens: number
  /** Operations done (a silent puppet's progress). */
  steps: number
}

const LOG_SIZE = 48

type Op = (p: Puppet) => void | Promise<void>

export class Puppet {
  readonly stats: PuppetStats = {
    sent: 0,
    bytes: 0,
    ops: {},
    received: new Array(TYPES).fill(0),
    remoteOpens: 0,
    remoteCloses: 0,
    bytesReceived: 0,
    largestReceived: 0,
    strangerOpens: 0,
    steps: 0
  }
  readonly log: LogEntry[] = []
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
  #channel: Channel | null = null
  #messages: Message<Buffer>[] = []
  /** Answer A's next open of X's channel (false after a deliberate close). */
  #answer = true
  #nextOpen: Buffer | null = null
  #encoder: RibltEncoder | null = null
  #encoded = 0
  #decoder: ReconcileDecoder | null = null
  #fake: Element[] = []
  /** The open we sent (null if it does not decode), and A's list while it arrives (list mode). */
  #sentOpen: Open | null = null
  #theirList: Element[] | null = null
  readonly #replies: Array<{ type: number; raw: Buffer; what: string }> = []
  readonly #sentOnChannel: Array<{ type: number; raw: Buffer }> = []
  #last: { type: number; raw: Buffer } | null = null
  readonly #strangers: Channel[] = []

  constructor(options: PuppetOptions) {
    this.#o = options
    this.#rng = options.rng
    this.#noise = (options.stream as unknown as { noiseStream: NoiseSecretStream }).noiseStream
    this.#mux = Hypercore.getProtocolMuxer(options.stream)
    this.#hash = this.#noise.handshakeHash!
    this.#initiator = this.#noise.isInitiator
    this.#id = channelId(options.key, this.#hash)
    this.#token = pairingToken(options.key, this.#hash, this.#initiator)
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
    for (const m of this.#sentOnChannel.slice(-8)) r.messages.push(m)
    for (const list of [r.tokens, r.ids, r.capabilities, r.messages]) {
      if (list.length > 32) list.splice(0, list.length - 32)
    }
  }

  /** Announces the puppet's token (a keyholder and a forger start so). */
  start(): void {
    if (this.#o.mode === 'keyholder' || this.#o.mode === 'forger') {
      this.#sendTokens([this.#token], 'announce')
    }
  }

  /** One seeded operation; resolves when it is done (some wait for A). */
  async step(): Promise<void> {
    this.stats.steps++
    const table = OPS[this.#o.mode]
    const name = this.#rng.weighted(table.weights)
    this.stats.ops[name] = (this.stats.ops[name] ?? 0) + 1
    try {
      await table.ops[name]!(this)
    } catch (err) {
      this.errors.push(err)
    }
  }

  /** Stops answering and closes what the puppet opened. */
  stop(): void {
    this.#answer = false
    this.#mux.unpair({ protocol: PROTOCOL_NAME, id: this.#id })
    this.#channel?.close()
    for (const ch of this.#strangers) ch.close()
  }

  // ---- channel of X ----------------------------------------------------------

  /** True while X's channel is open on both sides. */
  get paired(): boolean {
    return this.#channel !== null && !this.#channel.closed
  }

  #validOpen(): Open {
    const rng = this.#rng
    this.#fake = []
    const n = rng.int(5)
    for (let i = 0; i < n; i++) this.#fake.push({ key: this.#key(), length: rng.range(0, 6) })
    // Deduplicate: a set has each key once.
    const seen = new Set<string>()
    this.#fake = this.#fake.filter((e) => {
      const id = e.key.toString('hex')
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
    const sketch: number[] = []
    for (let i = 0; i < SKETCH_COUNTERS; i++) sketch.push(rng.range(-3, 3))
    return {
      major: PROTOCOL_MAJOR,
      // Half of the time a peer of minor 0 (no list mode: coded symbols are due).
      minor: rng.chance(0.5) ? PROTOCOL_MINOR : 0,
      capability: this.#capability(),
      setProof: rng.bytes(16),
      count: this.#fake.length,
      sketch
    }
  }

  #capability(): Buffer {
    if (this.#o.mode === 'keyholder') return capability(this.#o.key, this.#hash, this.#initiator)
    const rng = this.#rng
    // A stranger cannot derive A's proof to reflect it.
    switch (this.#o.mode === 'stranger' ? 1 + rng.int(3) : rng.int(4)) {
      case 0:
        // Reflection: A's own proof sent back.
        return capability(this.#o.key, this.#hash, !this.#initiator)
      case 1:
        return this.#o.replay.capabilities.length > 0
          ? rng.pick(this.#o.replay.capabilities)
          : rng.bytes(16)
      case 2:
        return Buffer.alloc(16)
      default:
        return rng.bytes(16)
    }
  }

  /** An Open the way an attacker would bend one. */
  #badOpen(): { raw: Buffer; note: string } {
    const rng = this.#rng
    const open = this.#validOpen()
    const variant = this.#o.skipKnown ? rng.pick([0, 1, 4, 5]) : rng.int(10)
    switch (variant) {
      case 0:
        open.major = rng.pick([0, 1, 3, 2 ** 32])
        return { raw: encodeOpen(open), note: `major ${open.major}` }
      case 1:
        open.minor = rng.pick([1, 2 ** 32, 2 ** 53 - 1])
        return { raw: encodeOpen(open), note: `minor ${open.minor}` }
      case 2: {
        const k = rng.pick([0, 1, 31, 33, 64, MAX_SKETCH_COUNTERS, MAX_SKETCH_COUNTERS + 1])
        open.sketch = Array.from({ length: k }, () => rng.range(-3, 3))
        return { raw: encodeOpen(open), note: `sketch of ${k} counters` }
      }
      case 3:
        open.sketch = open.sketch.map(() =>
          rng.pick([2 ** 31, -(2 ** 31), 2 ** 40, rng.range(-1000, 1000)])
        )
        return { raw: encodeOpen(open), note: 'huge sketch counters' }
      case 4:
        open.count = rng.pick([2 ** 32, 2 ** 53 - 1, 1_000_000])
        return { raw: encodeOpen(open), note: `count ${open.count}` }
      case 5:
        open.setProof = Buffer.alloc(16)
        return { raw: encodeOpen(open), note: 'zero set proof' }
      default: {
        const m = mutate(rng, encodeOpen(open))
        return { raw: m.bytes, note: `open ${m.kind}` }
      }
    }
  }

  #openChannel(): void {
    if (this.#channel !== null && !this.#channel.closed) return
    const channel = this.#mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id: this.#id,
      handshake: c.raw,
      onopen: (raw) => this.#guard(() => this.#onOpen(raw)),
      onclose: (isRemote) =>
        this.#guard(() => {
          if (this.#channel === channel) {
            this.#channel = null
            this.#messages = []
          }
          if (isRemote) this.stats.remoteCloses++
        })
    })
    if (channel === null) return
    const handlers: Array<(raw: Buffer) => void> = [
      (raw) => this.#onSymbols(raw),
      (raw) => this.#onMore(raw),
      (raw) => this.#onElements(raw)
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
    this.#channel = channel
    this.#messages = messages
    this.#encoder = null
    this.#encoded = 0
    this.#decoder = null
    this.#replies.length = 0
    let raw = this.#nextOpen
    let note = 'open'
    this.#nextOpen = null
    if (raw === null) raw = encodeOpen(this.#validOpen())
    else note = 'open (prepared)'
    this.#theirList = null
    try {
      this.#sentOpen = decodeOpen(raw)
    } catch {
      this.#sentOpen = null
    }
    this.#record('open', -1, raw, note)
    channel.open(raw)
  }

  #onOpen(raw: Buffer): void {
    this.stats.remoteOpens++
    this.stats.bytesReceived += raw.byteLength
    if (this.#o.mode !== 'keyholder' || this.#listMode(raw) || !this.#initiator) return
    // We encode (the stream's initiator does): the first batch of coded symbols.
    this.#encoder = new RibltEncoder(ELEMENT_BYTES, symbolSalt(this.#o.key, this.#hash))
    for (const e of this.#fake) this.#encoder.add(elementOf(e.key, e.length))
    this.#encoded = 0
    this.#replies.push({ type: SYMBOLS, raw: this.#nextSymbols(8), what: 'first symbols' })
  }

  /** Both opens say list mode (as A decides it): we list our set, or wait for A's list. */
  #listMode(raw: Buffer): boolean {
    const ours = this.#sentOpen
    let theirs: Open
    try {
      theirs = decodeOpen(raw)
    } catch {
      return false
    }
    const [initiator, responder] = this.#initiator ? [ours, theirs] : [theirs, ours]
    if (ours === null || !listPays(initiator!, responder!)) return false
    if (!this.#initiator) {
      this.#theirList = []
      return true
    }
    for (const m of listMessages(this.#fake, ours.count)) {
      this.#replies.push({ type: ELEMENTS, raw: encodeElements(m), what: 'list' })
    }
    return true
  }

  #nextSymbols(count: number): Buffer {
    const start = this.#encoded
    this.#encoded += count
    return encodeSymbols({ start, symbols: this.#encoder!.symbols(start, this.#encoded) })
  }

  #onSymbols(raw: Buffer): void {
    if (this.#o.mode !== 'keyholder') return
    if (this.#decoder === null) {
      this.#decoder = new ReconcileDecoder(
        symbolSalt(this.#o.key, this.#hash),
        this.#fake.map((e) => elementOf(e.key, e.length)),
        100_000
      )
    }
    try {
      const result = this.#decoder.receive(decodeSymbols(raw))
      if (result.status === 'more') {
        this.#replies.push({ type: MORE, raw: encodeMore({ count: result.count }), what: 'more' })
        return
      }
      this.#decoder = null
      const lacking = result.localOnly.map((el) => ({
        key: Buffer.from(el.subarray(0, 32)),
        length: el.readUInt32BE(32) * 2 ** 32 + el.readUInt32BE(36)
      }))
      this.#replies.push({
        type: ELEMENTS,
        raw: encodeElements({ flags: ELEMENTS_DONE, elements: lacking }),
        what: 'done'
      })
    } catch {
      this.#decoder = null
    }
  }

  #onMore(raw: Buffer): void {
    if (this.#encoder === null) return
    try {
      const { count } = decodeMore(raw)
      this.#replies.push({ type: SYMBOLS, raw: this.#nextSymbols(count), what: 'symbols asked' })
    } catch {}
  }

  #onElements(raw: Buffer): void {
    try {
      const m = decodeElements(raw)
      if (m.flags & ELEMENTS_DONE) this.#encoder = null
      if (m.flags & ELEMENTS_LIST && this.#theirList !== null) {
        this.#theirList.push(...m.elements)
        if (m.flags & ELEMENTS_LIST_END) this.#answerList(this.#theirList)
      }
    } catch {}
  }

  /** A's whole list: DONE with what A lacks of ours, and our 0 of its feeds we lack. */
  #answerList(list: Element[]): void {
    this.#theirList = null
    const id = (e: Element) => `${e.key.toString('hex')}/${e.length}`
    const theirs = new Set(list.map(id))
    const ours = new Set(this.#fake.map((e) => e.key.toString('hex')))
    const elements = this.#fake.filter((e) => !theirs.has(id(e)))
    for (const e of list) if (!ours.has(e.key.toString('hex'))) elements.push({ ...e, length: 0 })
    this.#replies.push({
      type: ELEMENTS,
      raw: encodeElements({ flags: ELEMENTS_DONE, elements }),
      what: 'done (list)'
    })
  }

  // ---- sending --------------------------------------------------------------

  #record(op: string, type: number, raw: Buffer, note?: string): void {
    this.stats.sent++
    this.stats.bytes += raw.byteLength
    const entry: LogEntry = {
      op,
      type,
      len: raw.byteLength,
      head: raw.subarray(0, 40).toString('hex')
    }
    if (note !== undefined) entry.note = note
    this.log.push(entry)
    if (this.log.length > LOG_SIZE) this.log.shift()
  }

  /** Sends on X's channel (or a stranger's); false when no channel is open. */
  #send(op: string, type: number, raw: Buffer, note?: string, channel?: Channel): boolean {
    const ch = channel ?? this.#channel
    if (ch === null || ch.closed) return false
    const message = channel ? channel.messages[type] : this.#messages[type]
    if (message === undefined) return false
    this.#record(op, type, raw, note)
    ;(message as Message<Buffer>).send(raw)
    if (channel === undefined) {
      this.#last = { type, raw }
      this.#sentOnChannel.push({ type, raw })
      if (this.#sentOnChannel.length > 64) this.#sentOnChannel.shift()
    }
    return true
  }

  /** The Tokens message of the connection's pairing channel (B's, or one we open). */
  #tokensMessage(): Message<Buffer> | null {
    for (const ch of this.#mux) {
      if (ch.protocol === PAIRING_PROTOCOL && !ch.closed) {
        return (ch.messages[0] as Message<Buffer> | undefined) ?? null
      }
    }
    const ch = this.#mux.createChannel<Buffer>({
      protocol: PAIRING_PROTOCOL,
      handshake: c.raw,
      messages: []
    })
    if (ch === null) return null
    const message = ch.addMessage<Buffer>({ encoding: c.raw })
    ch.addMessage<Buffer>({ encoding: c.raw })
    const open = encodePairingOpen({ major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR })
    this.#record('pairing open', -1, open)
    ch.open(open)
    return message
  }

  #sendTokensRaw(op: string, raw: Buffer, note?: string): void {
    const message = this.#tokensMessage()
    if (message === null) return
    this.#record(op, -2, raw, note)
    message.send(raw)
  }

  #sendTokens(tokens: Buffer[], op: string): void {
    this.#sendTokensRaw(op, encodeTokens({ tokens }), `${tokens.length} tokens`)
  }

  #guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.errors.push(err)
    }
  }

  // ---- generators ---------------------------------------------------------------

  /** A feed key to offer: new, refused by A's policy, A's own, or held for another set. */
  #key(): Buffer {
    const rng = this.#rng
    const kind = rng.weighted({ fresh: 3, refused: 2, known: 3, foreign: 2 })
    if (kind === 'known') {
      const keys = this.#o.xKeys()
      if (keys.length > 0) return rng.pick(keys)
    }
    if (kind === 'foreign') {
      const keys = this.#o.foreignKeys()
      if (keys.length > 0) return rng.pick(keys)
    }
    const key = rng.bytes(32)
    // A's accept policy refuses keys whose first byte is 0.
    if (kind === 'refused') key[0] = 0
    else if (key[0] === 0) key[0] = 1
    return key
  }

  #elements(n: number): Element[] {
    const out: Element[] = []
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.#rng.chance(0.1)) out.push(out[this.#rng.int(out.length)]!)
      else out.push({ key: this.#key(), length: this.#rng.length() })
    }
    return out
  }

  #garbageSymbols(n: number): CodedSymbol[] {
    const rng = this.#rng
    return Array.from({ length: n }, () => ({
      sum: rng.bytes(ELEMENT_BYTES),
      hashHi: rng.u32(),
      hashLo: rng.u32(),
      count: rng.pick([1, -1, 0, 2, rng.range(-(2 ** 31), 2 ** 31 - 1)])
    }))
  }

  /** A valid message of type 0..2 (for mutations). */
  #valid(): { type: number; raw: Buffer } {
    const rng = this.#rng
    const type = rng.int(3)
    if (type === SYMBOLS) {
      const symbols = this.#garbageSymbols(rng.range(0, 6))
      return { type, raw: encodeSymbols({ start: rng.pick([0, this.#encoded]), symbols }) }
    }
    if (type === MORE) return { type, raw: encodeMore({ count: rng.range(1, 64) }) }
    return {
      type,
      raw: encodeElements({
        flags: rng.pick([0, 0, ELEMENTS_DONE, ELEMENTS_LIST, ELEMENTS_LIST | ELEMENTS_LIST_END]),
        elements: this.#elements(3)
      })
    }
  }

  // ---- operations -----------------------------------------------------------------

  static readonly ops = {
    /** The next answer the protocol expects, else a live update of our fake feeds. */
    honest(p: Puppet): void {
      const reply = p.#replies.shift()
      if (reply !== undefined) {
        p.#send('honest', reply.type, reply.raw, reply.what)
        return
      }
      const elements = p.#fake.map((e) => ({ key: e.key, length: e.length + p.#rng.range(0, 2) }))
      p.#send('honest', ELEMENTS, encodeElements({ flags: 0, elements }), 'live update')
    },
    elements(p: Puppet): void {
      const n = p.#rng.chance(0.9) ? p.#rng.range(1, 8) : p.#rng.range(9, 200)
      p.#send('elements', ELEMENTS, encodeElements({ flags: 0, elements: p.#elements(n) }), `${n}`)
    },
    /** DONE: out of place unless A encodes and waits for it; twice is always wrong. */
    done(p: Puppet): void {
      const n = p.#rng.range(0, 3)
      p.#send('done', ELEMENTS, encodeElements({ flags: ELEMENTS_DONE, elements: p.#elements(n) }))
    },
    /**
     * A list (list mode): ours, honest, when A waits for it; else out of
     * place, longer than announced, with a feed twice (#elements), ended
     * twice, flagged DONE or LIST_END alone.
     */
    list(p: Puppet): void {
      const rng = p.#rng
      const END = ELEMENTS_LIST | ELEMENTS_LIST_END
      const flags = rng.pick([END, END, ELEMENTS_LIST, END | ELEMENTS_DONE, ELEMENTS_LIST_END])
      const n = rng.chance(0.8) ? rng.range(0, 6) : rng.range(7, 300)
      const honest = rng.chance(0.3)
      const elements = honest ? p.#fake : p.#elements(n)
      const note = `${honest ? 'ours' : elements.length} flags ${flags}`
      p.#send('list', ELEMENTS, encodeElements({ flags, elements }), note)
    },
    flags(p: Puppet): void {
      const flags = p.#rng.pick([2, 3, 0xff, 2 ** 32, 2 ** 53 - 1])
      p.#send('flags', ELEMENTS, encodeElements({ flags, elements: p.#elements(1) }), `${flags}`)
    },
    symbols(p: Puppet): void {
      const rng = p.#rng
      const n = rng.range(0, 12)
      const real = p.#encoder !== null && rng.chance(0.5)
      const start = rng.pick([0, p.#encoded, p.#encoded + 1, rng.int(2 ** 20), 2 ** 20])
      const symbols = real ? p.#encoder!.symbols(start, start + n) : p.#garbageSymbols(n)
      p.#send(
        'symbols',
        SYMBOLS,
        encodeSymbols({ start, symbols }),
        `${real ? 'real' : 'garbage'} @${start}`
      )
    },
    more(p: Puppet): void {
      const count = p.#rng.count(MAX_SYMBOLS_PER_MESSAGE)
      p.#send('more', MORE, encodeMore({ count }), `${count}`)
    },
    mutate(p: Puppet): void {
      const rng = p.#rng
      const { type, raw } = p.#valid()
      const m = mutate(rng, raw, p.#valid().raw)
      const on = rng.chance(0.9) ? type : rng.int(TYPES)
      p.#send('mutate', on, m.bytes, m.kind)
    },
    random(p: Puppet): void {
      const rng = p.#rng
      p.#send('random', rng.int(3), rng.bytes(rng.range(0, 300)))
    },
    randomType(p: Puppet): void {
      const rng = p.#rng
      const { raw } = p.#valid()
      p.#send('randomType', rng.range(3, TYPES - 1), rng.chance(0.5) ? raw : rng.bytes(rng.int(64)))
    },
    oversized(p: Puppet): void {
      const rng = p.#rng
      switch (rng.int(4)) {
        case 0: {
          const elements = Array.from({ length: MAX_ELEMENTS_PER_MESSAGE + 1 }, () => ({
            key: rng.bytes(32),
            length: 1
          }))
          p.#send('oversized', ELEMENTS, encodeElements({ flags: 0, elements }), '4097 elements')
          return
        }
        case 1: {
          const symbols = p.#garbageSymbols(MAX_SYMBOLS_PER_MESSAGE + 1)
          p.#send('oversized', SYMBOLS, encodeSymbols({ start: 0, symbols }), '4097 symbols')
          return
        }
        case 2: {
          const tokens = Array.from({ length: MAX_TOKENS_PER_MESSAGE + 1 }, () => rng.bytes(16))
          p.#sendTokens(tokens, 'oversized')
          return
        }
        default:
          p.#send('oversized', rng.int(3), rng.bytes(256 * 1024), '256 KiB')
      }
    },
    duplicate(p: Puppet): void {
      const last = p.#last
      if (last !== null) p.#send('duplicate', last.type, last.raw)
    },
    /** A message sent earlier (on this connection or an earlier one), out of order. */
    replay(p: Puppet): void {
      const rng = p.#rng
      const pool = rng.chance(0.7) ? p.#sentOnChannel : p.#o.replay.messages
      if (pool.length === 0) return
      const m = rng.pick(pool)
      p.#send('replay', m.type, m.raw)
    },
    /** Close X's channel and open it again at once (a fresh Open, maybe bent). */
    reopen(p: Puppet): void {
      const rng = p.#rng
      p.#channel?.close()
      p.#answer = true
      if (rng.chance(0.3)) {
        const bad = p.#badOpen()
        p.#nextOpen = bad.raw
      }
      // Our announcement was spent when the channel closed: announce again.
      p.#sendTokens([p.#token], 'reopen')
      if (rng.chance(0.5)) p.#openChannel()
    },
    closeOnly(p: Puppet): void {
      p.#answer = false
      p.#channel?.close()
    },
    badOpen(p: Puppet): void {
      ;(Puppet.ops.reopen as Op)(p)
      p.#nextOpen = p.#badOpen().raw
    },
    /** The application on A attaches X again after an error closed it (as an app would). */
    reattach(p: Puppet): void {
      p.#answer = true
      p.#o.reattach()
    },
    tokens(p: Puppet): void {
      const rng = p.#rng
      // A stranger cannot derive the tokens of the key.
      switch (p.#o.mode === 'stranger' ? 2 + rng.int(5) : rng.int(7)) {
        case 0:
          p.#sendTokens([p.#token], 'tokens: ours again')
          return
        case 1:
          // A's own token reflected back (the roles differ: must not pair).
          p.#sendTokens([pairingToken(p.#o.key, p.#hash, !p.#initiator)], 'tokens: reflected')
          return
        case 2:
          p.#sendTokens(
            Array.from({ length: rng.range(1, 8) }, () => rng.bytes(16)),
            'tokens: random'
          )
          return
        case 3:
          p.#sendTokens(
            Array.from({ length: MAX_TOKENS_PER_MESSAGE }, () => rng.bytes(16)),
            'tokens: flood'
          )
          return
        case 4:
          if (p.#o.replay.tokens.length > 0) {
            p.#sendTokens([rng.pick(p.#o.replay.tokens)], 'tokens: replayed')
          }
          return
        default: {
          const ours = p.#o.mode === 'stranger' ? rng.bytes(16) : p.#token
          const m = mutate(rng, encodeTokens({ tokens: [ours, rng.bytes(16)] }))
          p.#sendTokensRaw('tokens: mutated', m.bytes, m.kind)
        }
      }
    },
    /** The pairing channel closed under everyone, or opened twice. */
    pairingAbuse(p: Puppet): void {
      if (p.#rng.chance(0.5)) {
        for (const ch of p.#mux) if (ch.protocol === PAIRING_PROTOCOL) ch.close()
        return
      }
      const ch = p.#mux.createChannel<Buffer>({
        protocol: PAIRING_PROTOCOL,
        unique: false,
        handshake: c.raw
      })
      if (ch === null) return
      const raw = p.#rng.chance(0.5)
        ? encodePairingOpen({ major: PROTOCOL_MAJOR, minor: 0 })
        : p.#rng.bytes(p.#rng.int(8))
      p.#record('pairing open twice', -1, raw)
      ch.open(raw)
      p.#strangers.push(ch)
    },
    /** Channels of multifeed/2 with ids nobody derived (or a replayed one). */
    strangerChannel(p: Puppet): void {
      const rng = p.#rng
      const replayed = p.#o.replay.ids.length > 0 && rng.chance(0.3)
      const id = replayed ? rng.pick(p.#o.replay.ids) : rng.bytes(rng.pick([16, 16, 32, 0, 1]))
      const ch = p.#mux.createChannel<Buffer>({
        protocol: PROTOCOL_NAME,
        id,
        handshake: c.raw,
        onopen: () => {
          p.stats.strangerOpens++
        }
      })
      if (ch === null) return
      for (let type = 0; type < 4; type++) ch.addMessage<Buffer>({ encoding: c.raw })
      const open = rng.chance(0.5) ? encodeOpen(p.#validOpen()) : rng.bytes(rng.int(80))
      p.#record('stranger channel', -1, open, replayed ? 'replayed id' : 'random id')
      ch.open(open)
      p.#strangers.push(ch)
      if (p.#strangers.length > 16) p.#strangers.shift()?.close()
    },
    strangerMessage(p: Puppet): void {
      const rng = p.#rng
      const open = p.#strangers.filter((ch) => !ch.closed)
      if (open.length === 0) return
      const { type, raw } = rng.chance(0.5)
        ? p.#valid()
        : { type: rng.int(4), raw: rng.bytes(rng.int(200)) }
      p.#send('stranger message', type, raw, undefined, rng.pick(open))
    },
    /** Let A answer. */
    async wait(p: Puppet): Promise<void> {
      await sleep(p.#rng.range(0, 5))
    }
  } satisfies Record<string, Op>
}

type OpName = keyof typeof Puppet.ops

interface OpTable {
  weights: Partial<Record<OpName, number>>
  ops: Partial<Record<OpName, Op>>
}

function table(weights: Partial<Record<OpName, number>>): OpTable {
  return { weights, ops: Puppet.ops }
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
