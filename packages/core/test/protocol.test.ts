import { Multifeed, type MultifeedPeer, type RemoteFeedsInfo } from '@multifeed/core'
import type { ReplicationStream } from '@multifeed/holepunch-types'
import { describe, expect, it } from 'vitest'
import { link, next, pipe, tmpStore, until, untilConverged } from './helpers.js'

async function syncedPair(feedsEach: number) {
  const a = await Multifeed.open(await tmpStore())
  const b = await Multifeed.open(await tmpStore(), a.key)
  for (let i = 0; i < feedsEach; i++) {
    await (await a.writer(`a${i}`)).append(Buffer.from(`a${i}`))
    await (await b.writer(`b${i}`)).append(Buffer.from(`b${i}`))
  }
  return { a, b }
}

function remoteFeeds(m: Multifeed) {
  return next<[MultifeedPeer, RemoteFeedsInfo]>(m, 'remote-feeds')
}

describe('protocol', () => {
  it('peers already in sync exchange only the handshake on reconnect (set proof, no list)', async () => {
    const { a, b } = await syncedPair(50)
    const first = pipe(a, b)
    const [[peerA, infoA]] = await Promise.all([remoteFeeds(a), remoteFeeds(b)])
    expect(infoA.inSync).toBe(false)
    expect(peerA.stats.bytesSent).toBeGreaterThan(50 * 32)
    await untilConverged([a, b], 100)
    await first.destroy()

    const again = Promise.all([remoteFeeds(a), remoteFeeds(b)])
    pipe(a, b)
    const [[pa, ia], [pb, ib]] = await again
    expect(ia.inSync).toBe(true)
    expect(ib.inSync).toBe(true)
    expect(ia.added).toEqual([])
    for (const peer of [pa, pb]) {
      // one message each way: the channel-open handshake, of constant size
      expect(peer.stats.messagesSent).toBe(1)
      expect(peer.stats.messagesReceived).toBe(1)
      expect(peer.stats.bytesSent).toBeLessThan(80)
      expect(peer.stats.bytesReceived).toBeLessThan(80)
    }
  })

  it('after a reconnect out of sync, feeds added since flow; afterwards only deltas travel', async () => {
    const { a, b } = await syncedPair(5)
    const first = pipe(a, b)
    await untilConverged([a, b], 10)
    await first.destroy()
    await a.writer('offline-addition')
    pipe(a, b)
    const [, info] = await remoteFeeds(b)
    expect(info.inSync).toBe(false)
    await until(() => b.feeds().length === 11, 'b learns the offline addition')

    const peer = a.peers()[0]!
    const before = { ...peer.stats }
    await a.writer('live-1')
    await a.writer('live-2')
    await until(() => b.feeds().length === 13, 'b learns the live additions')
    // two live feeds: two small delta messages, not the list again
    expect(peer.stats.messagesSent - before.messagesSent).toBeLessThanOrEqual(2)
    expect(peer.stats.bytesSent - before.bytesSent).toBeLessThanOrEqual(2 * (32 + 4))
  })

  it('the accept hook decides which offered feeds join; refused ones are not stored', async () => {
    const a = await Multifeed.open(await tmpStore())
    const good = await a.writer('good')
    const bad = await a.writer('bad')
    const asked: string[] = []
    const b = await Multifeed.open(await tmpStore(), a.key, {
      policy: {
        accept: async (key, { peer }) => {
          expect(peer.multifeed).toBe(b)
          asked.push(key.toString('hex'))
          return !key.equals(bad.key!)
        }
      }
    })
    pipe(a, b)
    await remoteFeeds(b)
    expect(b.feeds().map((f) => f.key)).toEqual([good.key])
    expect(asked.sort()).toEqual([good.key!.toString('hex'), bad.key!.toString('hex')].sort())
  })

  it('the share hook keeps chosen feeds from chosen peers (their key and their core)', async () => {
    const a = await Multifeed.open(await tmpStore(), null, {
      policy: { share: (feed) => feed.name !== 'private' }
    })
    const pub = await a.writer('public')
    const priv = await a.writer('private')
    await priv.append(Buffer.from('secret'))
    const b = await Multifeed.open(await tmpStore(), a.key)
    pipe(a, b)
    await remoteFeeds(b)
    await until(() => b.feeds().length === 1, 'b learns the public feed')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(b.feeds().map((f) => f.key)).toEqual([pub.key])
    expect(priv.peers).toHaveLength(0)
    // and live: a new private-named writer on another multifeed instance is not offered either
    const c = await Multifeed.open(await tmpStore(), a.key)
    pipe(b, c)
    await remoteFeeds(c)
    expect(c.feed(priv.key!)).toBeNull()
  })

  it('a remote detaching the multifeed while the stream lives on can attach again', async () => {
    const { a, b } = await syncedPair(1)
    const p = pipe(a, b)
    await untilConverged([a, b], 2)
    b.detach(p.b)
    await until(() => a.peers().length === 0, 'a sees b leave')
    const w = await a.writer('while-detached')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(b.feed(w.key!)).toBeNull()
    b.attach(p.b)
    await until(() => b.feed(w.key!) !== null, 'b learns the feed after attaching again')
  })
})

describe('wire efficiency', () => {
  it('an in-sync reconnect writes about the bytes of raw corestore replication (opens batched)', async () => {
    const { a, b } = await syncedPair(100)
    const first = pipe(a, b)
    await untilConverged([a, b], 200)
    await first.destroy()

    const allReplicating = (m: Multifeed) => m.feeds().every((core) => core.peers.length > 0)

    // raw corestore replication of the same two stores (every core is active there)
    const r1 = a.corestore.replicate(true)
    const r2 = b.corestore.replicate(false)
    const raw = link(r1, r2)
    await until(() => allReplicating(a) && allReplicating(b), 'raw: every core replicates')
    const rawBytes = r1.noiseStream.rawBytesWritten + r2.noiseStream.rawBytesWritten
    await raw.destroy()
    await until(() => a.feeds().every((core) => core.peers.length === 0), 'raw peers gone')

    const again = pipe(a, b)
    await until(() => allReplicating(a) && allReplicating(b), 'multifeed: every core replicates')
    const ours =
      (again.a as ReplicationStream).noiseStream.rawBytesWritten +
      (again.b as ReplicationStream).noiseStream.rawBytesWritten
    // the multifeed handshake is ~70 bytes a side; unbatched opens would cost ~40 % more
    expect(ours).toBeLessThan(rawBytes * 1.1 + 200)
  })
})
