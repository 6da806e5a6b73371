/**
 * The pairing channel's life on one connection: a remote that speaks no
 * pairing, a remote that broke it, and a remote library that let go of the
 * connection and came back. Each waits for a positive signal (a channel the
 * remote opens and what it receives on it), never for a sleep.
 */
import type { Duplex } from 'node:stream'
import { ReplicationStream } from '@multifeed/core'
import type { NoiseSecretStream, ProtomuxChannel } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { pairingToken } from '../src/protocol/pairing.js'
import { REMOTE_OPENS } from '../src/replication/PairingChannel.js'
import { link, next, onCleanup, tmpStore, until } from './helpers.js'
import { puppet, raw, tokensBytes, uint } from './puppet.js'
import { open } from './support.js'

const PAIRING = 'multifeed/2/pair'

/** A bare hypercore protocol stream on the other end of `honest`: no multifeed library. */
async function bareRemote(honest: Duplex) {
  const remote = Hypercore.createProtocolStream(false) as unknown as Duplex & {
    noiseStream: NoiseSecretStream
  }
  const mux = Hypercore.getProtocolMuxer(remote)
  let opens = 0
  // Counts the honest side's pairing opens and refuses them (no channel made).
  mux.pair({ protocol: PAIRING }, () => {
    opens++
  })
  link(honest, remote)
  await remote.noiseStream.opened
  return {
    mux,
    hash: remote.noiseStream.handshakeHash!,
    get opens() {
      return opens
    }
  }
}

/** Opens a pairing channel on `mux` and collects the tokens it receives. */
function openPairing(mux: ReturnType<typeof Hypercore.getProtocolMuxer>) {
  const tokens: string[] = []
  let opened = false
  let closed = false
  const channel: ProtomuxChannel = mux.createChannel<Buffer>({
    protocol: PAIRING,
    handshake: raw,
    onopen: () => {
      opened = true
    },
    onclose: () => {
      closed = true
    }
  })!
  const message = channel.addMessage<Buffer>({
    encoding: raw,
    onmessage: (m: Buffer) => {
      const state = { start: 0, end: m.byteLength, buffer: m }
      let n = 0
      for (let shift = 0; ; shift += 7) {
        const byte = m[state.start++]!
        n += (byte & 0x7f) * 2 ** shift
        if (byte < 0x80) break
      }
      for (let i = 0; i < n; i++) {
        tokens.push(m.subarray(state.start, state.start + 16).toString('hex'))
        state.start += 16
      }
    }
  })
  channel.open(Buffer.concat([uint(2), uint(0)]))
  return {
    tokens,
    send: (bytes: Buffer) => message.send(bytes),
    close: () => channel.close(),
    get opened() {
      return opened
    },
    get closed() {
      return closed
    }
  }
}

describe('pairing channel', () => {
  it('a remote that speaks no pairing is asked once, and hears every token when it opens one', async () => {
    const store = await tmpStore()
    const multis = []
    for (let i = 0; i < 20; i++) multis.push(await open(store))
    const sa = multis[0]!.replicate(true)
    const remote = await bareRemote(sa)
    const replication = ReplicationStream.of(sa)!
    await until(() => replication.pairing === 'refused', 'the remote refuses our pairing open')
    // The first token went out with the open, before the refusal came back.
    const sent = replication.stats.tokensSent
    for (const multi of multis.slice(1)) multi.attach(sa)
    await Promise.resolve()
    expect(replication.stats.tokensSent).toBe(sent)

    // The remote opens a pairing channel itself: we answer, and every
    // multifeed attached meanwhile is announced on it.
    const pairing = openPairing(remote.mux)
    await until(() => pairing.tokens.length >= 20, 'the remote receives our 20 tokens')
    const expected = multis.map((m) => pairingToken(m.key, remote.hash, true).toString('hex'))
    expect(pairing.tokens.sort()).toEqual(expected.sort())
    expect(pairing.opened).toBe(true)
    // Refused once: the 19 later attaches did not knock again.
    expect(remote.opens).toBe(1)
  })

  it('after a malformed Tokens message nothing pairs on the connection any more', async () => {
    const store = await tmpStore()
    const x = await open(store)
    const z = await open(store)
    const sa = x.replicate(true)
    const p = await puppet(sa, x.key)
    await p.opened
    const replication = ReplicationStream.of(sa)!
    const pairing = [...p.mux].find((ch) => ch.protocol === PAIRING)!
    p.sendTokens(tokensBytes([crypto.randomBytes(8)], 1))
    await until(() => pairing.closed, 'the honest side closes the pairing channel')
    expect(replication.pairing).toBe('fault')
    const sent = replication.stats.tokensSent

    // A multifeed attached later is not announced, and a new pairing channel
    // of the remote is refused.
    z.attach(sa)
    const again = openPairing(p.mux)
    await until(() => again.closed, 'the remote pairing channel is refused')
    expect(again.opened).toBe(false)
    expect(again.tokens).toEqual([])
    expect(replication.stats.tokensSent).toBe(sent)
    expect(sa.destroyed).toBe(false)
  })

  it('a remote library that let go of the connection and came back pairs again', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    link(sa, sb)
    await Promise.all([next(a, 'reconciled'), next(b, 'reconciled')])

    // b's library leaves the connection (a networker closing on a swarm it
    // was given) and a new one takes it up (the next networker on that swarm).
    ReplicationStream.of(sb)!.release()
    await until(() => a.peers().length === 0, 'a loses the peer')
    const again = Promise.all([next(a, 'reconciled'), next(b, 'reconciled')])
    b.attach(sb)
    await again
    const w = await b.writer()
    onCleanup(() => w.close())
    await w.append(Buffer.from('after the return'))
    await until(() => a.feed(w.key!)?.length === 1, 'a gets the block written after the return')
  })

  it('a remote re-opening its pairing channel in a loop hears our tokens REMOTE_OPENS times, then is refused', async () => {
    const store = await tmpStore()
    const multis = []
    for (let i = 0; i < 10; i++) multis.push(await open(store))
    const sa = multis[0]!.replicate(true)
    for (const multi of multis.slice(1)) multi.attach(sa)
    // A peer that knows none of the keys: all it can get is our tokens.
    const remote = await bareRemote(sa)
    const replication = ReplicationStream.of(sa)!
    await until(() => replication.pairing === 'refused', 'the remote refuses our pairing open')
    const before = replication.stats.tokensSent
    let answered = 0
    for (let round = 0; round < 3 * REMOTE_OPENS; round++) {
      const pairing = openPairing(remote.mux)
      await until(
        () => pairing.tokens.length === 10 || pairing.closed,
        'our tokens, or the refusal'
      )
      if (pairing.closed) {
        expect(pairing.opened).toBe(false)
        continue
      }
      answered++
      pairing.close()
      await until(() => replication.pairing !== 'open', 'our side sees it close')
    }
    expect(answered).toBe(REMOTE_OPENS)
    expect(replication.stats.tokensSent - before).toBe(10 * REMOTE_OPENS)
    expect(sa.destroyed).toBe(false)
  })
})
