/**
 * A hand-rolled peer that speaks (or mis-speaks) the multifeed/1 wire format,
 * written from the protocol description rather than from our encoder, so the
 * tests pin the format and can send what an honest peer never would.
 */

import type { Duplex } from 'node:stream'
import type { ProtomuxChannel as Channel } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import sodium from 'sodium-universal'
import { raw } from './puppet.js'

const CAP_INITIATOR = Buffer.from('multifeed/1 capability initiator')
const CAP_RESPONDER = Buffer.from('multifeed/1 capability responder')

export function forgeCapability(key: Buffer, handshakeHash: Buffer, isInitiator: boolean): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash_batch(
    out,
    [isInitiator ? CAP_INITIATOR : CAP_RESPONDER, handshakeHash],
    key
  )
  return out
}

function uint(n: number): Buffer {
  if (n <= 0xfc) return Buffer.from([n])
  if (n <= 0xffff) {
    const b = Buffer.alloc(3)
    b[0] = 0xfd
    b.writeUInt16LE(n, 1)
    return b
  }
  const b = Buffer.alloc(5)
  b[0] = 0xfe
  b.writeUInt32LE(n, 1)
  return b
}

export function handshakeBytes(opts: {
  major?: number
  minor?: number
  capability: Buffer
  setProof?: Buffer
  maxKeys?: number
}): Buffer {
  return Buffer.concat([
    uint(opts.major ?? 1),
    uint(opts.minor ?? 0),
    opts.capability,
    opts.setProof ?? Buffer.alloc(32),
    uint(opts.maxKeys ?? 1024)
  ])
}

export function feedsBytes(keys: Buffer[], flags = 0, announced = keys.length): Buffer {
  return Buffer.concat([uint(flags), uint(announced), ...keys])
}

export interface ForgedPeer {
  channel: Channel
  /** Raw Feeds messages the honest side sent us. */
  received: Buffer[]
  opened: Promise<Buffer>
  closed: Promise<void>
  sendFeeds(raw: Buffer): void
}

/**
 * Opens a multifeed/1 channel with `discoveryKey` on `stream` and sends the
 * handshake produced by `makeHandshake(handshakeHash, isInitiator)`.
 */
export async function forgePeer(
  stream: Duplex,
  discoveryKey: Buffer,
  makeHandshake: (handshakeHash: Buffer, isInitiator: boolean) => Buffer
): Promise<ForgedPeer> {
  const noise = (
    stream as unknown as { noiseStream: import('@multifeed/holepunch-types').NoiseSecretStream }
  ).noiseStream
  await noise.opened
  const mux = Hypercore.getProtocolMuxer(noise)
  const received: Buffer[] = []
  let onOpen: (raw: Buffer) => void = () => {}
  let onClose: () => void = () => {}
  const opened = new Promise<Buffer>((resolve) => {
    onOpen = resolve
  })
  const closed = new Promise<void>((resolve) => {
    onClose = resolve
  })
  const channel = mux.createChannel<Buffer>({
    protocol: 'multifeed/1',
    id: discoveryKey,
    handshake: raw,
    onopen: (h) => onOpen(h),
    onclose: () => onClose()
  })
  if (!channel) throw new Error('could not create the forged channel')
  const feeds = channel.addMessage<Buffer>({
    encoding: raw,
    onmessage: (m) => {
      received.push(m)
    }
  })
  channel.open(makeHandshake(noise.handshakeHash!, noise.isInitiator))
  return { channel, received, opened, closed, sendFeeds: (b) => feeds.send(b) }
}

/** Records every hypercore channel the other side opens on `stream` and nothing else pairs. */
export function recordHypercoreOpens(stream: Duplex): Buffer[] {
  const noise = (
    stream as unknown as { noiseStream: import('@multifeed/holepunch-types').NoiseSecretStream }
  ).noiseStream
  const mux = Hypercore.getProtocolMuxer(noise)
  const seen: Buffer[] = []
  mux.pair({ protocol: 'hypercore/alpha' }, (id) => {
    if (id) seen.push(Buffer.from(id))
  })
  return seen
}
