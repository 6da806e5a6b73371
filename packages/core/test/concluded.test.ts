/**
 * Pairing concludes on a connection once both sides announced every
 * multifeed they carry (the END flag of a Tokens message, minor 2): the
 * replication stream's `pairing-concluded` and `concluded` say which of ours
 * paired, so two streams of different sets show the mismatch at once
 * instead of a silence a user can only time out on.
 */
import type { Duplex } from 'node:stream'
import { type PairingOutcome, ReplicationStream } from '@multifeed/core'
import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { link, next, tmpStore, until } from './helpers.js'
import { raw, tokensBytes, uint } from './puppet.js'
import { open } from './support.js'

const PAIRING = 'multifeed/2/pair'

/** The next `pairing-concluded` of the replication stream on `stream`. */
function concluded(stream: Duplex): Promise<PairingOutcome> {
  const replication = ReplicationStream.of(stream)!
  return next<[PairingOutcome]>(replication, 'pairing-concluded').then(([outcome]) => outcome)
}

const hexes = (keys: Buffer[]) => keys.map((k) => k.toString('hex')).sort()

describe('pairing concluded', () => {
  it('two streams of different sets: both sides conclude with nothing paired', async () => {
    const a = await open()
    const b = await open()
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    expect(ReplicationStream.of(sa)!.concluded).toBeNull()
    const outcomes = Promise.all([concluded(sa), concluded(sb)])
    link(sa, sb)
    const [oa, ob] = await outcomes
    expect(oa).toEqual({ paired: [], how: 'exchanged' })
    expect(ob).toEqual({ paired: [], how: 'exchanged' })
    expect(ReplicationStream.of(sa)!.concluded).toBe(oa)
    expect(a.peers()).toEqual([])
  })

  it('the same set: both conclude with it paired', async () => {
    const a = await open()
    const b = await open(null, a.key)
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    const outcomes = Promise.all([concluded(sa), concluded(sb)])
    link(sa, sb)
    const [oa, ob] = await outcomes
    expect(hexes(oa.paired)).toEqual(hexes([a.discoveryKey]))
    expect(hexes(ob.paired)).toEqual(hexes([a.discoveryKey]))
  })

  it('several multifeeds a side: only the shared ones are paired', async () => {
    const storeA = await tmpStore()
    const storeB = await tmpStore()
    const x = await open(storeA)
    const y = await open(storeA)
    const yb = await open(storeB, y.key)
    const z = await open(storeB)
    const sa = x.replicate(true)
    y.attach(sa)
    const sb = z.replicate(false)
    yb.attach(sb)
    const outcomes = Promise.all([concluded(sa), concluded(sb)])
    link(sa, sb)
    const [oa, ob] = await outcomes
    expect(hexes(oa.paired)).toEqual(hexes([y.discoveryKey]))
    expect(hexes(ob.paired)).toEqual(hexes([y.discoveryKey]))
  })

  it('a side that carries no multifeed yet answers with an empty END; a multifeed attached later still pairs', async () => {
    const a = await open()
    const storeB = await tmpStore()
    const sa = a.replicate(true)
    // The library's stream on B, no multifeed on it.
    const sb = ReplicationStream.for(storeB, false).stream
    const outcomes = Promise.all([concluded(sa), concluded(sb)])
    link(sa, sb)
    const [oa, ob] = await outcomes
    expect(oa).toEqual({ paired: [], how: 'exchanged' })
    expect(ob).toEqual({ paired: [], how: 'exchanged' })
    // Concluded is not closed: B opens the same set later and it pairs.
    const b = await open(storeB, a.key)
    const added = Promise.all([next(a, 'peer-add'), next(b, 'peer-add')])
    b.attach(sb)
    await added
    expect(b.peers()).toHaveLength(1)
    // Once per connection: the outcome stays what it was when pairing concluded.
    expect(ReplicationStream.of(sb)!.concluded).toBe(ob)
  })

  it('a remote with no multifeed library (it refuses the pairing channel): concluded, refused', async () => {
    const a = await open()
    const sa = a.replicate(true)
    const remote = Hypercore.createProtocolStream(false) as unknown as Duplex
    const outcome = concluded(sa)
    link(sa, remote)
    expect(await outcome).toEqual({ paired: [], how: 'refused' })
  })

  it('a peer of minor 1 (no END flag) never concludes by itself; its END (minor 2) concludes', async () => {
    const a = await open()
    const sa = a.replicate(true)
    const remote = Hypercore.createProtocolStream(false) as unknown as Duplex & {
      noiseStream: NoiseSecretStream
    }
    const mux = Hypercore.getProtocolMuxer(remote)
    link(sa, remote)
    await remote.noiseStream.opened
    const channel = mux.createChannel<Buffer>({ protocol: PAIRING, handshake: raw })!
    const tokens = channel.addMessage<Buffer>({ encoding: raw })
    channel.open(Buffer.concat([uint(2), uint(1)]))
    const replication = ReplicationStream.of(sa)!
    // A token of a set A does not carry, as a peer of minor 1 sends it: no flags.
    tokens.send(tokensBytes([crypto.randomBytes(16)]))
    await until(() => replication.stats.tokensReceived === 1, 'the token is processed')
    expect(replication.concluded).toBeNull()
    // The same peer, now with an END (flags 1): concluded, nothing paired.
    const outcome = next<[PairingOutcome]>(replication, 'pairing-concluded')
    tokens.send(Buffer.concat([tokensBytes([]), uint(1)]))
    expect(await outcome).toEqual([{ paired: [], how: 'exchanged' }])
  })

  it('malformed pairing input concludes it (fault): nothing more pairs there', async () => {
    const a = await open()
    const sa = a.replicate(true)
    const remote = Hypercore.createProtocolStream(false) as unknown as Duplex
    const mux = Hypercore.getProtocolMuxer(remote)
    link(sa, remote)
    const channel = mux.createChannel<Buffer>({ protocol: PAIRING, handshake: raw })!
    const tokens = channel.addMessage<Buffer>({ encoding: raw })
    channel.open(Buffer.concat([uint(2), uint(2)]))
    const outcome = concluded(sa)
    // Claims one token, carries 8 bytes.
    tokens.send(Buffer.concat([uint(1), Buffer.alloc(8)]))
    expect(await outcome).toEqual({ paired: [], how: 'fault' })
    expect(sa.destroyed).toBe(false)
  })
})
