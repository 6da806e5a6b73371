/**
 * What a key holder's messages can make us send, and queue: a peer that
 * never reads (over TCP and Noise, its socket paused), a peer that closes
 * and re-opens its channel in a loop, and the reply budget itself. Every
 * wait is for a positive signal (a peer-error, a message received).
 */
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { Multifeed, MultifeedError, MultifeedPeer } from '@multifeed/core'
import type {
  ProtomuxChannel as Channel,
  NoiseSecretStream,
  Protomux
} from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { ELEMENTS_LIST_END, MAX_SYMBOLS_PER_MESSAGE } from '../src/protocol/messages.js'
import { symbolLimit } from '../src/protocol/ReconcileCodec.js'
import {
  REPLY_REFILL_MS,
  REPLY_UNITS,
  ReplyBudget,
  replyUnit
} from '../src/replication/ReplyBudget.js'
import { link, next, onCleanup, until } from './helpers.js'
import { capability, channelId, openBytes, raw, uint } from './puppet.js'
import { noUnhandled, open } from './support.js'

noUnhandled()

/** A multifeed holding `n` remote feeds (added by hand: no peer needed). */
async function victimOf(n: number): Promise<Multifeed> {
  const multi = await open()
  await Promise.all(Array.from({ length: n }, () => multi.add(crypto.randomBytes(32))))
  expect(multi.feeds()).toHaveLength(n)
  return multi
}

interface Hostile {
  channel: Channel
  more(count: number): void
  /** Bytes and messages the victim sent on the channel (only when the hostile side reads). */
  received: { bytes: number; elements: Buffer[] }
  /** Resolves when the channel closed (by either side, or refused). */
  closed: Promise<void>
}

/**
 * A key holder opening the multifeed's channel directly (the victim pairs a
 * remote open of its channel id), with `open` as its open message.
 */
function hostileOpen(mux: Protomux, key: Buffer, hash: Buffer, open: Buffer): Hostile {
  const received = { bytes: 0, elements: [] as Buffer[] }
  let onclose: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    onclose = resolve
  })
  const channel = mux.createChannel<Buffer>({
    protocol: 'multifeed/2',
    id: channelId(key, hash),
    handshake: raw,
    onclose: () => onclose()
  })!
  const count = (m: Buffer) => {
    received.bytes += m.byteLength
  }
  const messages = [
    channel.addMessage<Buffer>({ encoding: raw, onmessage: count }),
    channel.addMessage<Buffer>({ encoding: raw, onmessage: count }),
    channel.addMessage<Buffer>({
      encoding: raw,
      onmessage: (m) => {
        count(m)
        received.elements.push(m)
      }
    })
  ]
  channel.open(open)
  return { channel, more: (n) => messages[1]!.send(uint(n)), received, closed }
}

/** The doubling requests an honest decoder would make, all at once (it never read a batch). */
function doublingRequests(limit: number): number[] {
  const out: number[] = []
  let sent = 1024
  while (sent < limit) {
    const k = Math.min(MAX_SYMBOLS_PER_MESSAGE, sent, limit - sent)
    out.push(k)
    sent += k
  }
  return out
}

/** Bytes written to the streams under a replication stream that its socket has not taken yet. */
function queuedIn(streams: Duplex[], socket: net.Socket): number {
  // streamx keeps no public count of what is buffered: read it here, in a test only.
  let bytes = socket.writableLength
  for (const s of streams) {
    const state = s as unknown as {
      _writableState?: { buffered: number }
      _readableState?: { buffered: number }
    }
    bytes += (state._writableState?.buffered ?? 0) + (state._readableState?.buffered ?? 0)
  }
  return bytes
}

describe('a peer that never reads', () => {
  it('claims minor 0 and 2^32 feeds, asks for every symbol, reads nothing (TCP + Noise): we queue one batch, not 40 MB', async () => {
    const victim = await victimOf(2000)
    const errorSeen = next<[MultifeedError]>(victim, 'peer-error')
    let victimSocket: net.Socket | null = null
    const server = net.createServer((socket) => {
      victimSocket = socket
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    client.on('error', () => {})
    onCleanup(() => void client.destroy())
    await new Promise((resolve) => client.once('connect', resolve))
    await until(() => victimSocket !== null, 'the victim accepts the connection')
    const socket = victimSocket! as net.Socket
    socket.on('error', () => {})
    onCleanup(() => void socket.destroy())
    // Each side's replication stream (Noise over the socket, as on a Hyperswarm connection).
    const victimStream = victim.replicate(true) as Duplex & { noiseStream: NoiseSecretStream }
    const hostile = Hypercore.createProtocolStream(false) as unknown as Duplex & {
      noiseStream: NoiseSecretStream
    }
    for (const [stream, sock] of [
      [victimStream, socket],
      [hostile, client]
    ] as const) {
      stream.on('error', () => {})
      stream.pipe(sock).pipe(stream)
      onCleanup(() => void stream.destroy())
    }
    const victimNoise = victimStream.noiseStream
    const hostileNoise = hostile.noiseStream
    const peer = victim.attach(victimStream)
    await hostileNoise.opened
    await victimNoise.opened
    // From here on the hostile side reads nothing: the kernel's buffers fill,
    // then whatever the victim writes queues in its process.
    client.pause()
    const hash = hostileNoise.handshakeHash!
    const key = victim.key
    const h = hostileOpen(
      Hypercore.getProtocolMuxer(hostile),
      key,
      hash,
      openBytes({ minor: 0, capability: capability(key, hash, false), count: 2 ** 32 })
    )
    const requests = doublingRequests(symbolLimit(2000, 2 ** 32))
    for (const count of requests) h.more(count)
    // Asking again before it could have read a batch is its fault.
    const [err] = await errorSeen
    expect(err.code).toBe('ERR_MALFORMED_MESSAGE')
    expect(err.message).toMatch(/before it could have read/)
    // What we wrote for it: the open and the batches the stream took before
    // it stopped taking more (one batch over its high-water mark), never
    // what it asked for (~13,000 symbols, ~660 KB here; 40 MB before).
    console.log(`never read: ${peer.stats.bytesSent} B sent, ${peer.stats.symbolsSent} symbols`)
    const oneBatch = MAX_SYMBOLS_PER_MESSAGE * 53
    expect(peer.stats.bytesSent).toBeLessThan(2 * oneBatch)
    expect(peer.stats.symbolsSent).toBeLessThan(2 * MAX_SYMBOLS_PER_MESSAGE)
    expect(queuedIn([victimNoise as unknown as Duplex, victimStream], socket)).toBeLessThanOrEqual(
      peer.stats.bytesSent + 4096
    )
  }, 30_000)
})

describe('re-opens', () => {
  it('a key holder re-opening its channel in a loop, claiming an empty set: our list twice, then ERR_LIMIT_EXCEEDED; nothing more on that connection', async () => {
    const n = 2000
    const victim = await victimOf(n)
    const errors: MultifeedError[] = []
    victim.on('peer-error', (e) => errors.push(e))
    const removed: MultifeedPeer[] = []
    victim.on('peer-remove', (p) => removed.push(p))
    const sa = victim.replicate(true)
    const hostile = Hypercore.createProtocolStream(false) as unknown as Duplex & {
      noiseStream: NoiseSecretStream
    }
    link(sa, hostile)
    await hostile.noiseStream.opened
    const hash = hostile.noiseStream.handshakeHash!
    const mux = Hypercore.getProtocolMuxer(hostile)
    const key = victim.key
    const listOpen = () =>
      openBytes({ minor: 1, capability: capability(key, hash, false), count: 0 })
    let listsReceived = 0
    let bytesReceived = 0
    const unit = replyUnit(n)
    for (let round = 0; round < 20 && errors.length === 0; round++) {
      const h = hostileOpen(mux, key, hash, listOpen())
      // Our list ends (LIST_END) or the channel closes with the error.
      await until(
        () =>
          errors.length > 0 || h.received.elements.some((m) => (m[0]! & ELEMENTS_LIST_END) !== 0),
        'our list, or the refusal'
      )
      bytesReceived += h.received.bytes
      if (errors.length > 0) break
      listsReceived++
      const closed = removed.length
      h.channel.close()
      await until(() => removed.length > closed, 'the victim sees the channel close')
    }
    console.log(
      `re-opens: ${listsReceived} lists, ${bytesReceived} B received, budget ${REPLY_UNITS * unit}`
    )
    expect(errors.map((e) => e.code)).toEqual(['ERR_LIMIT_EXCEEDED'])
    expect((errors[0] as MultifeedError & { limit: string }).limit).toBe('replyBytes')
    // A list of 2,000 feeds is ~66 KB: the budget (two units of 64 B a feed
    // + 64 KiB) pays for a few, then the re-open costs what an in-sync one does.
    expect(listsReceived).toBeGreaterThanOrEqual(2)
    expect(bytesReceived).toBeLessThanOrEqual(REPLY_UNITS * unit + 4096)
    // The multifeed is off the connection: a re-open is refused unanswered
    // (the hostile side learns nothing more), the connection lives on.
    const again = hostileOpen(mux, key, hash, listOpen())
    await again.closed
    expect(again.received.bytes).toBe(0)
    expect(victim.peers()).toHaveLength(0)
    expect(errors).toHaveLength(1)
    expect(sa.destroyed).toBe(false)
  }, 30_000)
})

describe('the reply budget', () => {
  it('starts with two units, refills one a minute, never beyond two', () => {
    let now = 1_000_000
    const budget = new ReplyBudget(() => now)
    const unit = replyUnit(1000)
    expect(budget.left(1000)).toBe(2 * unit)
    expect(budget.spend(2 * unit, 1000)).toBe(true)
    expect(budget.spend(1, 1000)).toBe(false)
    now += REPLY_REFILL_MS / 2
    expect(budget.left(1000)).toBeCloseTo(unit / 2)
    expect(budget.spend(unit, 1000)).toBe(false)
    now += REPLY_REFILL_MS / 2
    expect(budget.spend(unit, 1000)).toBe(true)
    now += 10 * REPLY_REFILL_MS
    expect(budget.left(1000)).toBe(2 * unit)
  })
})
