/**
 * The puppet's wire: the message types of the multifeed channel, and every
 * write the puppet makes (on X's channel, on a stranger channel, Tokens on
 * the connection's pairing channel), each logged and counted. It sends the
 * bytes it is given: what they hold is generators.ts's business.
 */
import type {
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import {
  decodeRecords,
  encodePairingOpen,
  encodeTokens,
  MESSAGE_RECORDS,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR
} from '../src/protocol/messages.js'

/**
 * Message types of the multifeed channel; 3..7 are types no version defines
 * on a plain set's channel; on a moderated set's, 3..6 are the record
 * messages (MESSAGE_RECORD_SYMBOLS … MESSAGE_RECORDS).
 */
export const SYMBOLS = 0
export const MORE = 1
export const ELEMENTS = 2
export const TYPES = 8

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
  /** Moderation records sent in well-formed Records messages, by what they were meant to be. */
  records: Record<string, number>
  /** Records in every Records message on X's channel that decodes (duplicates and replays too). */
  recordsInMessages: number
}

/** A message as it went out on X's channel (duplicated and replayed later). */
export interface Sent {
  type: number
  raw: Buffer
}

const LOG_SIZE = 48

export class Wire {
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
    steps: 0,
    records: {},
    recordsInMessages: 0
  }
  readonly log: LogEntry[] = []
  readonly mux: Protomux
  /** X's channel while it is open, and its messages (types 0..TYPES-1). */
  channel: Channel | null = null
  messages: Message<Buffer>[] = []
  /** The last message sent on X's channel, and the latest ones. */
  last: Sent | null = null
  readonly sentOnChannel: Sent[] = []
  /** Channels opened as a stranger (and extra pairing channels): closed on stop. */
  readonly strangers: Channel[] = []

  constructor(mux: Protomux) {
    this.mux = mux
  }

  record(op: string, type: number, raw: Buffer, note?: string): void {
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
  send(op: string, type: number, raw: Buffer, note?: string, channel?: Channel): boolean {
    const ch = channel ?? this.channel
    if (ch === null || ch.closed) return false
    const message = channel ? channel.messages[type] : this.messages[type]
    if (message === undefined) return false
    this.record(op, type, raw, note)
    ;(message as Message<Buffer>).send(raw)
    if (channel === undefined) {
      if (type === MESSAGE_RECORDS) {
        try {
          this.stats.recordsInMessages += decodeRecords(raw).records.length
        } catch {}
      }
      this.last = { type, raw }
      this.sentOnChannel.push({ type, raw })
      if (this.sentOnChannel.length > 64) this.sentOnChannel.shift()
    }
    return true
  }

  /** The Tokens message of the connection's pairing channel (B's, or one we open). */
  #tokensMessage(): Message<Buffer> | null {
    for (const ch of this.mux) {
      if (ch.protocol === PAIRING_PROTOCOL && !ch.closed) {
        return (ch.messages[0] as Message<Buffer> | undefined) ?? null
      }
    }
    const ch = this.mux.createChannel<Buffer>({
      protocol: PAIRING_PROTOCOL,
      handshake: c.raw,
      messages: []
    })
    if (ch === null) return null
    const message = ch.addMessage<Buffer>({ encoding: c.raw })
    ch.addMessage<Buffer>({ encoding: c.raw })
    const open = encodePairingOpen({ major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR })
    this.record('pairing open', -1, open)
    ch.open(open)
    return message
  }

  sendTokensRaw(op: string, raw: Buffer, note?: string): void {
    const message = this.#tokensMessage()
    if (message === null) return
    this.record(op, -2, raw, note)
    message.send(raw)
  }

  sendTokens(tokens: Buffer[], op: string): void {
    this.sendTokensRaw(op, encodeTokens({ tokens }), `${tokens.length} tokens`)
  }
}
