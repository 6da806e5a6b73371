/**
 * The pairing channel of one connection (`multifeed/2/pair`): each side
 * announces a 16-byte token per multifeed it carries (protocol/pairing.ts).
 * Tokens of multifeeds added in one tick go out in one message.
 *
 * Its life: ours opens when a multifeed joins the connection, or in answer
 * to the remote's open. A channel the remote refused (it speaks no pairing,
 * or let go of the library) is not opened again until the remote opens one;
 * a new channel carries every token again (the remote side may be new, and
 * a token it already knew pairs nothing twice). Malformed input from the
 * remote (a bad message, too many tokens) closes it for good: what paired
 * lives on, nothing new pairs on this connection. The connection itself is
 * never closed from here.
 *
 * Each pairing channel the remote opens makes us send every token again
 * (16 bytes a multifeed, for its open of a few bytes), so the remote's opens
 * are rate-limited per connection: REMOTE_OPENS at once, one more a minute;
 * beyond that its open goes unanswered (Protomux refuses it) until the
 * bucket refills.
 *
 * Each token goes with its set's state hint (minor 6, pairing.ts
 * `stateHint`), read when the token is sent: the remote compares it with
 * its own before opening the set's channel (PeerChannel).
 *
 * Pairing concludes (`onConcluded`) once both sides have announced every
 * multifeed they carry at that moment: the last Tokens message of each of
 * our batches carries the END flag (an empty one when we carry nothing),
 * sent once the handshake is done, and the remote's END arrived on this
 * channel. It also concludes when the remote refused the channel (no
 * multifeed library there) or its pairing input was malformed: nothing
 * more pairs then. A peer of minor < 2 sends no END: with it pairing never
 * concludes (multifeeds still pair as before).
 */
import type {
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { LimitExceededError } from '../errors.js'
import { debug, shortId } from '../lifecycle/debug.js'
import {
  decodeTokens,
  decodeVersion,
  encodePairingOpen,
  encodeTokens,
  MAX_TOKENS_PER_MESSAGE,
  PAIRING_MINOR,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  TOKENS_END
} from '../protocol/messages.js'
import { HINT_BYTES } from '../protocol/pairing.js'

/** The state hint of a token whose set gives none, beside tokens that have one. */
const NO_HINT = Buffer.alloc(HINT_BYTES)

/** Pairing channels the remote may open on one connection at once. */
export const REMOTE_OPENS = 8
/** Time for the remote to earn one more pairing open. */
export const REMOTE_OPEN_REFILL_MS = 60_000

/** Bytes and messages of the pairing channel alone. */
export interface PairingStats {
  bytesSent: number
  bytesReceived: number
  tokensSent: number
  tokensReceived: number
}

/** How the pairing channel stands. */
export type PairingState = 'open' | 'idle' | 'refused' | 'fault'

/**
 * How pairing concluded: both sides announced every multifeed they carry
 * ('exchanged'), the remote refused the pairing channel ('refused'), or its
 * pairing input was malformed ('fault').
 */
export type PairingConclusion = 'exchanged' | 'refused' | 'fault'

export class PairingChannel {
  readonly stats: PairingStats = {
    bytesSent: 0,
    bytesReceived: 0,
    tokensSent: 0,
    tokensReceived: 0
  }

  readonly #mux: Protomux
  /** The remote's tokens and each one's state hint (null: none); throws (a limit) to refuse them: pairing then ends. */
  readonly #onTokens: (tokens: Buffer[], hints: Array<Buffer | null>) => void
  /** Pairing concluded on this connection (called each time; the stream reports the first). */
  readonly #onConcluded: (how: PairingConclusion) => void
  /** Our token for each multifeed announced, by its owner. */
  readonly #ours = new Map<object, Buffer>()
  /** The state hint of each owner's set, read when its token is sent (null: none to give). */
  readonly #hints = new Map<object, () => Buffer | null>()
  /** Owners whose token the current channel has not carried yet. */
  readonly #unannounced = new Set<object>()
  #channel: Channel | null = null
  #tokens: Message<Buffer> | null = null
  #flushScheduled = false
  #state: 'idle' | 'refused' | 'fault' = 'idle'
  #closed = false
  /** Pairing opens left to the remote, as of `#openedAt`. */
  #remoteOpens = REMOTE_OPENS
  #openedAt = Date.now()
  /** The handshake is done: every multifeed joined so far has its token queued. */
  #handshaken = false
  /** The minor the remote's pairing open announced (null until one arrived). */
  #remoteMinor: number | null = null
  /** The minor our pairing open announces (lower only in tests: `speak`). */
  #minor = PAIRING_MINOR
  /** This channel carried our END / the remote's END. */
  #endSent = false
  #endReceived = false

  constructor(
    mux: Protomux,
    onTokens: (tokens: Buffer[], hints: Array<Buffer | null>) => void,
    onConcluded: (how: PairingConclusion) => void
  ) {
    this.#mux = mux
    this.#onTokens = onTokens
    this.#onConcluded = onConcluded
    // The remote may open the pairing channel before any multifeed joined.
    mux.pair({ protocol: PAIRING_PROTOCOL }, () => this.#onRemoteOpen())
  }

  /**
   * The minor both sides speak: the lower of ours and the one the remote's
   * pairing open announced (0 until its open arrived). Its tokens and its
   * multifeed channels' opens follow its pairing open on the wire, so a
   * multifeed pairing with it knows this already.
   */
  get sharedMinor(): number {
    return Math.min(this.#minor, this.#remoteMinor ?? 0)
  }

  /**
   * Announces (and behaves as) a peer of an older pairing `minor`: for tests
   * of mixed minors only. Before our pairing channel opens.
   */
  speak(minor: number): void {
    this.#minor = Math.min(minor, PAIRING_MINOR)
  }

  get state(): PairingState {
    return this.#channel !== null ? 'open' : this.#state
  }

  /**
   * The handshake is done. Called before the multifeeds joined so far queue
   * their tokens (in the same tick): our first END goes out after them.
   */
  handshaken(): void {
    this.#handshaken = true
    this.#scheduleFlush()
  }

  /** A multifeed joined the connection: opens our channel unless the remote refused one. */
  open(): void {
    if (this.#state === 'idle') this.#open()
  }

  /**
   * Announces `token` for `owner` (with the others of this tick), with its
   * set's state hint as `hint` reads it then; again on every new channel.
   */
  announce(owner: object, token: Buffer, hint?: () => Buffer | null): void {
    this.#ours.set(owner, token)
    if (hint !== undefined) this.#hints.set(owner, hint)
    this.#queue(owner)
  }

  /** The owner left the connection: its token is not announced any more. */
  forget(owner: object): void {
    this.#ours.delete(owner)
    this.#hints.delete(owner)
    this.#unannounced.delete(owner)
  }

  /** Sends the tokens queued so far now (before a channel open that the remote must recognise). */
  flush(): void {
    this.#flushScheduled = false
    const message = this.#tokens
    if (message === null || this.#closed || this.#state === 'fault' || !this.#handshaken) return
    const tokens: Buffer[] = []
    const hints: Array<Buffer | null> = []
    for (const owner of this.#unannounced) {
      const token = this.#ours.get(owner)
      if (token === undefined) continue
      tokens.push(token)
      const hint = this.#hints.get(owner)?.() ?? null
      hints.push(hint !== null && hint.byteLength === HINT_BYTES ? hint : null)
    }
    this.#unannounced.clear()
    if (tokens.length === 0 && this.#endSent) return
    // Every batch ends with END: the remote then knows all we carry as of now.
    let i = 0
    do {
      const batch = tokens.slice(i, i + MAX_TOKENS_PER_MESSAGE)
      const batchHints = hints.slice(i, i + MAX_TOKENS_PER_MESSAGE)
      i += MAX_TOKENS_PER_MESSAGE
      const raw = encodeTokens({
        tokens: batch,
        flags: i >= tokens.length ? TOKENS_END : 0,
        // One hint a token (all zero: none, the remote then sends its sketches), or none at all.
        hints: batchHints.every((h) => h === null) ? [] : batchHints.map((h) => h ?? NO_HINT)
      })
      this.stats.bytesSent += raw.byteLength
      this.stats.tokensSent += batch.length
      message.send(raw)
    } while (i < tokens.length)
    if (!this.#endSent) {
      this.#endSent = true
      if (this.#endReceived) this.#onConcluded('exchanged')
    }
  }

  /** The connection closed: nothing is sent any more. */
  close(): void {
    this.#closed = true
    this.#ours.clear()
    this.#hints.clear()
    this.#unannounced.clear()
  }

  /** Takes the library off the connection: the channel closes, the remote's opens are refused. */
  release(): void {
    this.close()
    this.#mux.unpair({ protocol: PAIRING_PROTOCOL })
    const channel = this.#channel
    this.#channel = null
    this.#tokens = null
    if (channel !== null && !channel.closed) channel.close()
  }

  /** The remote opens a pairing channel: answered while its opens last. */
  #onRemoteOpen(): void {
    const now = Date.now()
    this.#remoteOpens = Math.min(
      REMOTE_OPENS,
      this.#remoteOpens + (now - this.#openedAt) / REMOTE_OPEN_REFILL_MS
    )
    this.#openedAt = now
    if (this.#remoteOpens < 1) return
    this.#remoteOpens--
    this.#open()
  }

  #open(): void {
    if (this.#channel !== null || this.#closed || this.#state === 'fault') return
    let opened = false
    const channel = this.#mux.createChannel<Buffer>({
      protocol: PAIRING_PROTOCOL,
      handshake: c.raw,
      onopen: (raw) => {
        opened = true
        this.#onOpen(raw)
      },
      onclose: () => {
        if (this.#channel !== channel) return
        this.#channel = null
        this.#tokens = null
        this.#unannounced.clear()
        this.#endSent = false
        this.#endReceived = false
        if (this.#state === 'fault') return
        this.#state = opened ? 'idle' : 'refused'
        // Refused by the remote (not our connection closing): nothing will pair.
        if (!opened && !this.#closed && !this.#mux.stream.destroyed) this.#onConcluded('refused')
      }
    })
    if (channel === null) return
    this.#tokens = channel.addMessage<Buffer>({
      encoding: c.raw,
      onmessage: (raw) => this.#receive(raw)
    })
    this.#channel = channel
    this.#state = 'idle'
    const open = encodePairingOpen({ major: PROTOCOL_MAJOR, minor: this.#minor })
    this.stats.bytesSent += open.byteLength
    channel.open(open)
    for (const owner of this.#ours.keys()) this.#queue(owner)
    // A new channel carries an END too, even when we carry nothing (yet).
    this.#scheduleFlush()
  }

  #onOpen(raw: Buffer): void {
    this.stats.bytesReceived += raw.byteLength
    try {
      const { major, minor } = decodeVersion(raw)
      // Another major speaks another pairing protocol name: we never get here.
      if (major !== PROTOCOL_MAJOR) throw new Error(`pairing major ${major}`)
      this.#remoteMinor = minor
    } catch (err) {
      this.#fault(err)
    }
  }

  #queue(owner: object): void {
    if (this.#tokens === null) return
    this.#unannounced.add(owner)
    this.#scheduleFlush()
  }

  #scheduleFlush(): void {
    if (this.#tokens === null || !this.#handshaken || this.#flushScheduled) return
    this.#flushScheduled = true
    // Every multifeed added in this tick goes out in one message.
    queueMicrotask(() => this.flush())
  }

  #receive(raw: Buffer): void {
    this.stats.bytesReceived += raw.byteLength
    let tokens: Buffer[]
    let flags: number
    try {
      let hints: Buffer[]
      ;({ tokens, flags = 0, hints = [] } = decodeTokens(raw))
      // An all-zero hint stands for none (a set without one, among others that have one).
      this.#onTokens(
        tokens,
        tokens.map((_, i) => {
          const hint = hints[i]
          return hint === undefined || hint.every((b) => b === 0) ? null : hint
        })
      )
    } catch (err) {
      // A peer's bad input closes the pairing channel only (never the stream):
      // multifeeds already paired live on, no new ones pair with this peer.
      this.#fault(err)
      return
    }
    this.stats.tokensReceived += tokens.length
    if ((flags & TOKENS_END) !== 0 && !this.#endReceived) {
      this.#endReceived = true
      if (this.#endSent) this.#onConcluded('exchanged')
    }
  }

  /** The remote's pairing input was malformed: no multifeed pairs on this connection any more. */
  #fault(err: unknown): void {
    const log = err instanceof LimitExceededError ? debug.limits : debug.error
    if (log.enabled) {
      log.log(
        `peer ${shortId(this.#mux.stream.remotePublicKey)} pairing fault: ${(err as Error)?.message ?? err} (nothing more pairs here)`
      )
    }
    this.#state = 'fault'
    this.#unannounced.clear()
    this.#onConcluded('fault')
    const channel = this.#channel
    // After the current message: Protomux is still dispatching it.
    if (channel !== null) queueMicrotask(() => channel.close())
  }
}
