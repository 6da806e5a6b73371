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
  REPLY_BYTES_PER_BYTE,
  REPLY_BYTES_PER_FEED,
  REPLY_BYTES_PER_SET,
  ReplyBudget,
  replyAllowance
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

/**
 * A key holder's re-open loop on one connection, claiming an empty set (so
 * each open of it asks for our whole list), on every multifeed of `victims`
 * (one store, one connection): re-opens each until it is refused. Returns
 * the bytes of our messages it received, the bytes of its opens and the
 * lists it got.
 */
async function reopenLoop(victims: Multifeed[]) {
  const errors: MultifeedError[] = []
  const removed: MultifeedPeer[] = []
  for (const victim of victims) {
    victim.on('peer-error', (e) => errors.push(e))
    victim.on('peer-remove', (p) => removed.push(p))
  }
  const sa = victims[0]!.replicate(true)
  for (const victim of victims.slice(1)) victim.attach(sa)
  const hostile = Hypercore.createProtocolStream(false) as unknown as Duplex & {
    noiseStream: NoiseSecretStream
  }
  link(sa, hostile)
  await hostile.noiseStream.opened
  const hash = hostile.noiseStream.handshakeHash!
  const mux = Hypercore.getProtocolMuxer(hostile)
  let lists = 0
  let received = 0
  let sent = 0
  for (const victim of victims) {
    const key = victim.key
    const listOpen = () =>
      openBytes({ minor: 1, capability: capability(key, hash, false), count: 0 })
    const refused = errors.length
    for (let round = 0; round < 40 && errors.length === refused; round++) {
      const open = listOpen()
      sent += open.byteLength
      const h = hostileOpen(mux, key, hash, open)
      // Our list ends (LIST_END) or the channel closes with the error.
      await until(
        () =>
          errors.length > refused ||
          h.received.elements.some((m) => (m[0]! & ELEMENTS_LIST_END) !== 0),
        'our list, or the refusal'
      )
      received += h.received.bytes
      if (errors.length > refused) break
      lists++
      const closed = removed.length
      h.channel.close()
      await until(() => removed.length > closed, 'the victim sees the channel close')
    }
  }
  return { errors, lists, received, sent, sa, mux, hash }
}

describe('re-opens', () => {
  it('a key holder re-opening its channel in a loop, claiming an empty set: our list a few times, then ERR_LIMIT_EXCEEDED; nothing more on that connection', async () => {
    const n = 2000
    const victim = await victimOf(n)
    const { errors, lists, received, sent, mux, hash, sa } = await reopenLoop([victim])
    const allowance = replyAllowance([n], sent)
    console.log(`re-opens: ${lists} lists, ${received} B received, allowance ${allowance} B`)
    expect(errors.map((e) => e.code)).toEqual(['ERR_LIMIT_EXCEEDED'])
    expect((errors[0] as MultifeedError & { limit: string }).limit).toBe('replyBytes')
    // A list of 2,000 feeds is ~66 KB: the allowance (128 B a feed + 4 KiB,
    // and 4 B per byte of its opens) pays for a first sync and a couple more,
    // then the re-open costs what an in-sync one does.
    expect(lists).toBeGreaterThanOrEqual(1)
    expect(received).toBeLessThanOrEqual(allowance)
    // The multifeed is off the connection: a re-open is refused unanswered
    // (the hostile side learns nothing more), the connection lives on.
    const again = hostileOpen(
      mux,
      victim.key,
      hash,
      openBytes({ minor: 1, capability: capability(victim.key, hash, false), count: 0 })
    )
    await again.closed
    expect(again.received.bytes).toBe(0)
    expect(victim.peers()).toHaveLength(0)
    expect(errors).toHaveLength(1)
    expect(sa.destroyed).toBe(false)
  }, 30_000)

  it('a key holder of three sets on one connection gets one allowance for the connection, not one per set', async () => {
    const n = 500
    const first = await victimOf(n)
    const victims = [first]
    for (let i = 0; i < 2; i++) {
      const multi = await open(first.corestore)
      await Promise.all(Array.from({ length: n }, () => multi.add(crypto.randomBytes(32))))
      victims.push(multi)
    }
    const { errors, lists, received, sent } = await reopenLoop(victims)
    const allowance = replyAllowance([n, n, n], sent)
    console.log(
      `three sets: ${lists} lists, ${received} B received, allowance ${allowance} B for ${sent} B of opens`
    )
    expect(errors.map((e) => e.code)).toEqual(Array(3).fill('ERR_LIMIT_EXCEEDED'))
    // Each set's first sync is paid (its list: ~35 B a feed)...
    expect(lists).toBeGreaterThanOrEqual(3)
    // ...and everything the connection replied stays within one allowance.
    expect(received).toBeLessThanOrEqual(allowance)
  }, 60_000)
})

describe('the reply budget', () => {
  it('one allowance per connection: 128 B a feed and 4 KiB per set, the largest size once; then 4 B per byte received', () => {
    const budget = new ReplyBudget()
    budget.announce('a', 1000)
    budget.announce('b', 10)
    const full = REPLY_BYTES_PER_FEED * 1010 + 2 * REPLY_BYTES_PER_SET
    expect(budget.allowance).toBe(full)
    expect(budget.allowance).toBe(replyAllowance([1000, 10]))
    // A re-open announcing the same set again, or a smaller one, adds nothing.
    budget.announce('a', 1000)
    budget.announce('a', 500)
    expect(budget.allowance).toBe(full)
    expect(budget.spend(full)).toBe(true)
    expect(budget.spend(1)).toBe(false)
    expect(budget.left).toBe(0)
    // What the peer sends pays for more.
    budget.receive(100)
    expect(budget.left).toBe(100 * REPLY_BYTES_PER_BYTE)
    expect(budget.spend(100 * REPLY_BYTES_PER_BYTE + 1)).toBe(false)
    expect(budget.spend(100 * REPLY_BYTES_PER_BYTE)).toBe(true)
    // A set that grew counts at its new size.
    budget.announce('b', 20)
    expect(budget.left).toBe(10 * REPLY_BYTES_PER_FEED)
  })
})
