/**
 * Minimal, deterministic reproductions of what the fuzzer found (see
 * notes/fuzz-findings.md): one Open message from a peer that holds the key.
 *
 *   node packages/core/fuzz/dist/fuzz/repro.js [--no-handler] [sketch-size|sketch-huge|amplification]
 *
 * Side A holds multifeed X and Y and is the stream's initiator (it encodes);
 * side B holds Y and, for X, a raw Protomux channel that sends one Open.
 * Prints what happened to A's process, A's stream and the honest Y.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import { Multifeed } from '../src/index.js'
import {
  encodeOpen,
  encodeTokens,
  type Open,
  PAIRING_PROTOCOL,
  PROTOCOL_NAME
} from '../src/protocol/messages.js'
import { capability, channelId, pairingToken } from '../src/protocol/pairing.js'

export type Case = 'sketch-size' | 'sketch-huge' | 'amplification'

export interface ReproResult {
  /** uncaughtException events in the process (without a handler: the process exits). */
  uncaught: string[]
  /** A's replication stream destroyed, and with what. */
  streamDestroyed: string | null
  /** The honest Y carried an append from A to B within 3 s after the Open. */
  honestSynced: boolean
  /** Bytes of the Open sent, and bytes A sent back on X's channel. */
  openBytes: number
  replyBytes: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The one Open of each case (everything else as an honest keyholder would send). */
function bend(name: Case, open: Open): Open {
  if (name === 'sketch-size') return { ...open, sketch: new Array(31).fill(0) }
  if (name === 'sketch-huge') return { ...open, sketch: new Array(32).fill(1000) }
  // amplification: a claimed set size far from ours sizes the first batch.
  return { ...open, count: 1_000_000 }
}

/** `catchUncaught: false` leaves the process without a handler, as an application would be. */
export async function reproduce(name: Case, catchUncaught = true): Promise<ReproResult> {
  const dirs = [await mkdtemp('/dev/shm/mf-repro-a-'), await mkdtemp('/dev/shm/mf-repro-b-')]
  const storeA = new Corestore(join(dirs[0]!))
  const storeB = new Corestore(join(dirs[1]!))
  const uncaught: string[] = []
  const onUncaught = (err: Error) => uncaught.push(`${err.name}: ${err.message}`)
  if (catchUncaught) process.on('uncaughtException', onUncaught)
  try {
    const x = await Multifeed.open(storeA)
    const ya = await Multifeed.open(storeA)
    const yb = await Multifeed.open(storeB, ya.key)
    const wx = await x.writer()
    await wx.append(Buffer.from('x0'))
    const wya = await ya.writer()
    await wya.append(Buffer.from('y0'))

    const sa = x.replicate(true)
    ya.attach(sa)
    const sb = yb.replicate(false)
    let streamDestroyed: string | null = null
    sa.on('error', (err: Error) => {
      streamDestroyed ??= err.message
    })
    sa.on('close', () => {
      streamDestroyed ??= 'closed'
    })
    sa.pipe(sb).pipe(sa)
    const noise = (sb as unknown as { noiseStream: NoiseSecretStream }).noiseStream
    await noise.opened
    while (!(yb.feed(wya.key!)?.length === 1)) await sleep(5)

    // B announces X's token on the connection's pairing channel, then opens X's channel.
    const hash = noise.handshakeHash!
    const mux = Hypercore.getProtocolMuxer(sb)
    const pairing = [...mux].find((ch) => ch.protocol === PAIRING_PROTOCOL)!
    pairing.messages[0]!.send(encodeTokens({ tokens: [pairingToken(x.key, hash, false)] }))
    let replyBytes = 0
    const channel = mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id: channelId(x.key, hash),
      handshake: c.raw,
      onopen: (raw) => {
        replyBytes += raw.byteLength
      }
    })!
    for (let i = 0; i < 3; i++) {
      channel.addMessage<Buffer>({
        encoding: c.raw,
        onmessage: (raw) => {
          replyBytes += raw.byteLength
        }
      })
    }
    const open = encodeOpen(
      bend(name, {
        major: 2,
        minor: 0,
        capability: capability(x.key, hash, false),
        setProof: Buffer.alloc(16, 1),
        count: 1,
        sketch: new Array(32).fill(0)
      })
    )
    channel.open(open)
    await sleep(200)

    await wya.append(Buffer.from('y1'))
    let honestSynced = false
    for (const end = Date.now() + 3000; Date.now() < end; await sleep(10)) {
      if (yb.feed(wya.key!)?.length === 2) {
        honestSynced = true
        break
      }
    }
    const result = {
      uncaught,
      streamDestroyed,
      honestSynced,
      openBytes: open.byteLength,
      replyBytes
    }
    sa.destroy()
    sb.destroy()
    await Promise.allSettled([wx.close(), wya.close(), x.close(), ya.close(), yb.close()])
    return result
  } finally {
    process.off('uncaughtException', onUncaught)
    await Promise.allSettled([storeA.close(), storeB.close()])
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  }
}

const isMain = process.argv[1]?.endsWith('/repro.js') === true
if (isMain) {
  const cases: Case[] = ['sketch-size', 'sketch-huge', 'amplification']
  const args = process.argv.slice(2)
  const wanted = args.filter((a) => !a.startsWith('--')) as Case[]
  for (const name of wanted.length > 0 ? wanted : cases) {
    console.log(name, JSON.stringify(await reproduce(name, !args.includes('--no-handler'))))
  }
  process.exit(0)
}
