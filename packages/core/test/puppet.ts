/**
 * A puppet peer: the far end of a replication stream that speaks
 * `multifeed/2` with bytes the test chooses, so that tests can send what an
 * honest peer never would (a bad capability, a replayed one, another major,
 * truncated or oversized messages, lies about lengths).
 *
 * The secrets (tokens, channel id, capability, set proof) are computed with
 * core's own `protocol/pairing.ts`; the message layouts are written out here
 * from the README's description, so the tests also pin the wire format.
 *
 * Usage: `const p = await puppet(multi.replicate(true), multi.key)`, then
 * `p.announce()` (pairing token), `await p.opened` (the honest side's open,
 * once it paired), `p.open(bytes)`, `p.send.symbols(bytes)`, …
 */
import type { Duplex } from 'node:stream'
import { type Multifeed, ReplicationStream } from '@multifeed/core'
import type {
  ProtomuxChannel as Channel,
  ProtomuxMessage as Message,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import sodium from 'sodium-universal'
import { DEFAULT_SKETCH_COUNTERS } from '../src/protocol/estimator.js'
import {
  capability,
  channelId,
  pairingToken,
  setProof,
  setSalt,
  symbolSalt
} from '../src/protocol/pairing.js'
import { type CodedSymbol, codedSymbolEncoding, RibltEncoder } from '../src/protocol/riblt.js'
import { link, type Pipe } from './helpers.js'

export { capability, channelId, pairingToken, setProof, setSalt, symbolSalt }

/** Passes bytes through unchanged (Protomux's handshake and message encoding). */
export const raw = {
  preencode(state: { end: number }, b: Buffer) {
    state.end += b.byteLength
  },
  encode(state: { start: number; buffer: Buffer | null }, b: Buffer) {
    state.buffer!.set(b, state.start)
    state.start += b.byteLength
  },
  decode(state: { start: number; end: number; buffer: Buffer | null }) {
    const b = Buffer.from(state.buffer!.subarray(state.start, state.end))
    state.start = state.end
    return b
  }
}

/** compact-encoding uint. */
export function uint(n: number): Buffer {
  const state = { start: 0, end: 0, buffer: null as Buffer | null }
  c.uint.preencode(state, n)
  state.buffer = Buffer.alloc(state.end)
  c.uint.encode(state, n)
  return state.buffer
}

function zigzag(n: number): Buffer {
  return uint(n < 0 ? -2 * n - 1 : 2 * n)
}

/** Open message of a multifeed channel: major, minor, capability, set proof, count, sketch. */
export function openBytes(o: {
  major?: number
  minor?: number
  capability: Buffer
  setProof?: Buffer
  count?: number
  sketch?: number[]
  extra?: Buffer
}): Buffer {
  const sketch = o.sketch ?? new Array(DEFAULT_SKETCH_COUNTERS).fill(0)
  return Buffer.concat([
    uint(o.major ?? 2),
    uint(o.minor ?? 0),
    o.capability,
    o.setProof ?? crypto.randomBytes(16),
    uint(o.count ?? 0),
    uint(sketch.length),
    ...sketch.map(zigzag),
    o.extra ?? Buffer.alloc(0)
  ])
}

/** Tokens message of the pairing channel: count, then 16 bytes each. */
export function tokensBytes(tokens: Buffer[], count = tokens.length): Buffer {
  return Buffer.concat([uint(count), ...tokens])
}

/** Elements message: flags, count, then (32-byte key, uint length) each. */
export function elementsBytes(
  elements: Array<{ key: Buffer; length: number }>,
  flags = 0,
  count = elements.length
): Buffer {
  return Buffer.concat([
    uint(flags),
    uint(count),
    ...elements.flatMap((e) => [e.key, uint(e.length)])
  ])
}

export const DONE = 1

const SYMBOL = codedSymbolEncoding(40)

/** Symbols message: start, count, then the coded symbols. */
export function symbolsBytes(start: number, symbols: CodedSymbol[], count = symbols.length) {
  const parts = [uint(start), uint(count)]
  for (const s of symbols) {
    const state = { start: 0, end: 0, buffer: null as Buffer | null }
    SYMBOL.preencode(state as never, s)
    state.buffer = Buffer.alloc(state.end)
    SYMBOL.encode(state as never, s)
    parts.push(state.buffer)
  }
  return Buffer.concat(parts)
}

/** The element of a feed: key, then its length (64-bit big-endian). */
export function element(key: Buffer, length: number): Buffer {
  const e = Buffer.alloc(40)
  key.copy(e, 0)
  e.writeUInt32BE(Math.floor(length / 2 ** 32), 32)
  e.writeUInt32BE(length >>> 0, 36)
  return e
}

/** The set digest of (key, length) elements under the multifeed key (as FeedSet keeps it). */
export function digestOf(key: Buffer, elements: Array<{ key: Buffer; length: number }>): Buffer {
  const salt = setSalt(key)
  const digest = Buffer.alloc(32)
  const h = Buffer.alloc(32)
  for (const e of elements) {
    sodium.crypto_generichash(h, element(e.key, e.length), salt)
    for (let i = 0; i < 32; i++) digest[i]! ^= h[i]!
  }
  return digest
}

/** Honest coded symbols [start, end) of a set, as an initiator sends them (the salt is stable). */
export function honestSymbols(
  key: Buffer,
  elements: Array<{ key: Buffer; length: number }>,
  start: number,
  end: number
): CodedSymbol[] {
  const encoder = new RibltEncoder(40, symbolSalt(key))
  for (const e of elements) encoder.add(element(e.key, e.length))
  return encoder.symbols(start, end)
}

export interface Puppet {
  /** The puppet's side of the connection (piped to the honest stream). */
  readonly stream: Duplex & { noiseStream: NoiseSecretStream }
  readonly mux: Protomux
  readonly pipe: Pipe
  readonly hash: Buffer
  readonly isInitiator: boolean
  /** The multifeed key the puppet speaks for (may be a wrong one). */
  readonly key: Buffer
  /** What the honest side sent on the multifeed channel, by message type. */
  readonly received: {
    open: Buffer | null
    symbols: Buffer[]
    more: Buffer[]
    elements: Buffer[]
    /** SKETCHES (minor 6; a plain set's channel: message 3). */
    sketches: Buffer[]
  }
  /** Tokens the honest side announced on the pairing channel (raw mode only). */
  readonly tokens: Buffer[]
  /** The state hints that came with them, in order (raw mode only; minor 6). */
  readonly hints: Buffer[]
  /** Resolves with the honest side's open message once both channels opened. */
  readonly opened: Promise<Buffer>
  /** Resolves when the multifeed channel closed. */
  readonly closed: Promise<void>
  /** Announces tokens (default: the valid token of `key`) on the pairing channel (raw mode). */
  announce(tokens?: Buffer[]): void
  /** Sends raw bytes as a Tokens message (raw mode). */
  sendTokens(raw: Buffer): void
  /** A valid capability of the puppet's role on this connection. */
  capability(): Buffer
  send: {
    symbols(raw: Buffer): void
    more(raw: Buffer): void
    elements(raw: Buffer): void
    /** SKETCHES (minor 6; a plain set's channel: message 3). */
    sketches(raw: Buffer): void
  }
  closeChannel(): void
}

export interface PuppetOptions {
  /**
   * The handshake of the puppet's multifeed channel, sent when the honest
   * side opens its own (default: a valid capability and a random set proof).
   */
  open?: (p: Puppet) => Buffer
  /**
   * Run the puppet on a real library stream carrying this multifeed too (a
   * bystander on the puppet's side; the library announces the puppet's
   * token). Without it the puppet runs its own pairing channel (raw mode)
   * and announces its token unless `announce` is false.
   */
  with?: Multifeed<unknown>
  /**
   * With `with`: the puppet's token goes out once pairing concluded (the
   * honest side's tokens are here), with the honest side's own state hint
   * for the set, as a peer in sync would send it (minor 6: the honest open
   * then defers its sketches). Without it the puppet's token has no hint.
   */
  echoHint?: boolean
  announce?: boolean
}

/**
 * A puppet on the other end of `honest` (a replication stream of ours, piped
 * to it here). Its multifeed channel opens when the honest side opens its
 * own, i.e. after the honest side saw the puppet's token.
 */
export async function puppet(
  honest: Duplex,
  key: Buffer,
  options: PuppetOptions = {}
): Promise<Puppet> {
  const honestNoise = (honest as unknown as { noiseStream: NoiseSecretStream }).noiseStream
  const tokens: Buffer[] = []
  const hints: Buffer[] = []
  let stream: Duplex & { noiseStream: NoiseSecretStream }
  let tokenMessage: Message<Buffer> | null = null
  let replication: ReplicationStream | null = null
  if (options.with) {
    replication = ReplicationStream.for(options.with.corestore, !honestNoise.isInitiator)
    stream = replication.stream as Duplex & { noiseStream: NoiseSecretStream }
    options.with.attach(stream)
  } else {
    stream = Hypercore.createProtocolStream(!honestNoise.isInitiator) as unknown as Duplex & {
      noiseStream: NoiseSecretStream
    }
    const pairing = Hypercore.getProtocolMuxer(stream).createChannel<Buffer>({
      protocol: 'multifeed/2/pair',
      handshake: raw
    })!
    tokenMessage = pairing.addMessage<Buffer>({
      encoding: raw,
      onmessage: (m: Buffer) => {
        const state = { start: 0, end: m.byteLength, buffer: m }
        const n = c.uint.decode(state)
        for (let i = 0; i < n; i++) {
          tokens.push(Buffer.from(m.subarray(state.start, state.start + 16)))
          state.start += 16
        }
        if (state.start >= state.end) return
        c.uint.decode(state) // flags
        // Minor 6: the hints' width, then one hint of that width per token (nothing: no hints).
        const width = state.start < state.end ? c.uint.decode(state) : 0
        for (let i = 0; i < n && width > 0; i++) {
          hints.push(Buffer.from(m.subarray(state.start, state.start + width)))
          state.start += width
        }
      }
    })
    pairing.open(Buffer.concat([uint(2), uint(0)]))
  }
  const mux = Hypercore.getProtocolMuxer(stream)
  const p = link(honest, stream)
  await stream.noiseStream.opened
  const hash = stream.noiseStream.handshakeHash!
  const isInitiator = stream.noiseStream.isInitiator

  const received: Puppet['received'] = {
    open: null,
    symbols: [],
    more: [],
    elements: [],
    sketches: []
  }
  let resolveOpened: (b: Buffer) => void = () => {}
  let resolveClosed: () => void = () => {}
  const opened = new Promise<Buffer>((resolve) => {
    resolveOpened = resolve
  })
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let channel: Channel | null = null
  let messages: Message<Buffer>[] = []
  const id = channelId(key, hash)

  const self: Puppet = {
    stream,
    mux,
    pipe: p,
    hash,
    isInitiator,
    key,
    received,
    tokens,
    hints,
    get opened() {
      return bounded(opened, 'the puppet channel to open')
    },
    get closed() {
      return bounded(closed, 'the puppet channel to close')
    },
    announce(list) {
      tokenMessage!.send(tokensBytes(list ?? [pairingToken(key, hash, isInitiator)]))
    },
    sendTokens(bytes) {
      tokenMessage!.send(bytes)
    },
    capability() {
      return capability(key, hash, isInitiator)
    },
    send: {
      symbols: (b) => messages[0]!.send(b),
      more: (b) => messages[1]!.send(b),
      elements: (b) => messages[2]!.send(b),
      sketches: (b) => messages[3]!.send(b)
    },
    closeChannel() {
      channel?.close()
    }
  }

  const pair = (): void => {
    if (channel !== null) return
    channel = mux.createChannel<Buffer>({
      protocol: 'multifeed/2',
      id,
      handshake: raw,
      onopen: (h: Buffer) => {
        received.open = h
        resolveOpened(h)
      },
      onclose: () => resolveClosed()
    })!
    messages = [
      channel.addMessage<Buffer>({
        encoding: raw,
        onmessage: (m) => void received.symbols.push(m)
      }),
      channel.addMessage<Buffer>({ encoding: raw, onmessage: (m) => void received.more.push(m) }),
      channel.addMessage<Buffer>({
        encoding: raw,
        onmessage: (m) => void received.elements.push(m)
      }),
      channel.addMessage<Buffer>({
        encoding: raw,
        onmessage: (m) => void received.sketches.push(m)
      })
    ]
    channel.open(options.open?.(self) ?? openBytes({ capability: self.capability() }))
  }

  if (replication !== null) {
    const library = replication
    if (options.echoHint) {
      await new Promise((resolve) => {
        if (library.concluded !== null) resolve(null)
        else library.once('pairing-concluded', resolve)
      })
    }
    const member = {
      key,
      prepare: () => {},
      pair,
      serve: () => null,
      onStreamClose: () => resolveClosed(),
      ...(options.echoHint ? { hint: () => library.remoteHint(member) } : {})
    }
    library.add(member)
  } else {
    // The honest side opens its channel once it saw our token: open ours then.
    mux.pair({ protocol: 'multifeed/2', id }, pair)
    if (options.announce !== false) self.announce()
  }
  return self
}

/** `promise`, or a rejection after `ms` (every wait of a test is bounded). */
function bounded<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | null = null
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer!))
}
