/**
 * A core we attached whose channel the remote has not opened yet is not
 * idle. The serving side of a first sync opens each lazy core when asked
 * (thousands in a row, on a loaded machine) and pauses its stream while
 * channels wait for it: its answer may come later than the idle time. The
 * sweep used to take such a core for settled (hypercore adds its peer only
 * at the remote's open), detach and close it before a block moved, and
 * nothing attached it again: a two-process first sync stopped with both
 * processes idle (notes/tcp-first-sync-stall.md). The same for a core whose
 * remote opened the channel and has not sent its first sync yet (its peer
 * shows length 0 until then).
 *
 * Real stack here: a corestore serving a core over a Noise stream whose
 * reader-to-server direction is held (the serving side does not read yet),
 * and the reader's PeerCores on the other end. The sweep's clock is the
 * caller's, so "quiet for the idle time" is exact, without timers.
 */
import { createRequire } from 'node:module'
import { PassThrough } from 'node:stream'
import type { Hypercore as HypercoreType } from '@multifeed/holepunch-types'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { PeerCores } from '../src/replication/PeerCores.js'
import { FeedSet } from '../src/set/FeedSet.js'
import { onCleanup, tmpStore, until } from './helpers.js'

const IDLE = 1000
// Hypercore's wire handshake and capability, to forge a remote that opens a core's channel and stays silent.
const require = createRequire(import.meta.url)
const wire = require('hypercore/lib/messages.js').wire as { handshake: unknown }
const caps = require('hypercore/lib/caps.js') as {
  replicate(isInitiator: boolean, key: Buffer, handshakeHash: Buffer): Buffer
}

/** A one-way pipe that holds what is written while `held`, and passes it on at `release()`. */
function gate() {
  const out = new PassThrough()
  const kept: Buffer[] = []
  let held = false
  const into = new PassThrough()
  into.on('data', (chunk: Buffer) => {
    if (held) kept.push(chunk)
    else out.write(chunk)
  })
  return {
    into,
    out,
    hold() {
      held = true
    },
    release() {
      held = false
      for (const chunk of kept.splice(0)) out.write(chunk)
    }
  }
}

type Stream = NodeJS.ReadWriteStream & {
  noiseStream: { opened: Promise<boolean> }
  destroy(): void
  on(event: 'error', listener: () => void): unknown
}

/** The reader's side: `key`'s feed in a set, its core opened (and closed) by PeerCores' host. */
async function reader(client: Stream, key: Buffer) {
  const store = await tmpStore()
  const mux = Hypercore.getProtocolMuxer(client as never)
  const feed = new FeedSet(Buffer.alloc(16, 1)).add(key, false, null)
  const released: string[] = []
  let session: HypercoreType<unknown> | null = null
  const cores = new PeerCores(
    {
      shares: () => true,
      wants: () => true,
      acquire: async () => {
        session = store.get({ key: feed.key })
        await session.ready()
        return session
      },
      release: (f) => {
        released.push(f.id)
        void session?.close()
      },
      onAttach: () => {},
      label: () => 'peer'
    },
    mux
  )
  onCleanup(() => cores.close())
  /** Our channel for the core is open on the stream (answered or not). */
  const channelOpen = () => mux.opened({ protocol: 'hypercore/alpha', id: feed.discoveryKey })
  return { cores, feed, released, session: () => session!, channelOpen }
}

function streams(server: Stream): { server: Stream; client: Stream } {
  const client = Hypercore.createProtocolStream(false) as unknown as Stream
  server.on('error', () => {})
  client.on('error', () => {})
  onCleanup(() => {
    server.destroy()
    client.destroy()
  })
  return { server, client }
}

describe('a core whose channel the remote has not answered', () => {
  it('stays attached through quiet sweeps, and its blocks arrive once the remote answers', async () => {
    const source = await tmpStore()
    const written = source.get({ name: 'writer' })
    await written.append([Buffer.from('a'), Buffer.from('b')])
    // The serving side: corestore's own stream (it opens the core when asked).
    const { server, client } = streams(source.replicate(true) as unknown as Stream)
    const toServer = gate()
    server.pipe(client)
    client.pipe(toServer.into)
    toServer.out.pipe(server)
    await client.noiseStream.opened
    await server.noiseStream.opened
    const r = await reader(client, written.key!)

    // The serving side stops reading: our channel open waits there.
    toServer.hold()
    await r.cores.attach(r.feed)
    await until(r.channelOpen, 'our channel open for the core')
    expect(r.session().peers).toHaveLength(0) // the remote has not answered

    // Quiet for far longer than the idle time: nothing moves, nothing attaches.
    let detached = 0
    for (let t = 0; t <= 4 * IDLE; t += IDLE / 2) detached += r.cores.sweep(t, IDLE)
    expect(detached).toBe(0)
    expect(r.released).toEqual([])
    expect(r.cores.count).toBe(1)

    // The serving side reads again: it answers, and the blocks arrive.
    toServer.release()
    const block = await r.session().get(1, { timeout: 10_000 })
    expect(Buffer.from(block as Buffer).toString()).toBe('b')
    expect(r.cores.count).toBe(1)
  })

  it('a channel the remote refused is settled: the sweep lets the core go', async () => {
    // A remote that holds no core: asked, it refuses the channel.
    let asked = false
    const { server, client } = streams(
      Hypercore.createProtocolStream(true, {
        ondiscoverykey: () => {
          asked = true
        }
      }) as unknown as Stream
    )
    server.pipe(client).pipe(server)
    await client.noiseStream.opened
    const r = await reader(client, crypto.keyPair().publicKey)
    await r.cores.attach(r.feed)
    await until(() => asked, 'the remote asked about the core')
    await until(() => !r.channelOpen(), 'our channel closed by the refusal')
    let detached = 0
    for (let t = 0; t <= 2 * IDLE; t += IDLE / 2) detached += r.cores.sweep(t, IDLE)
    expect(detached).toBe(1)
    expect(r.released).toEqual([r.feed.id])
  })

  it('nor is a core whose remote opened the channel but has not sent its first sync', async () => {
    const key = crypto.keyPair().publicKey
    // A remote that answers the channel open with a valid capability, then says nothing.
    const server = Hypercore.createProtocolStream(true) as unknown as Stream
    const { client } = streams(server)
    server.pipe(client).pipe(server)
    await client.noiseStream.opened
    const serverMux = Hypercore.getProtocolMuxer(server as never)
    const noise = (server as unknown as { noiseStream: { handshakeHash: Buffer } }).noiseStream
    serverMux.pair({ protocol: 'hypercore/alpha' }, (id) => {
      const channel = serverMux.createChannel({
        protocol: 'hypercore/alpha',
        id,
        handshake: wire.handshake as never
      })
      channel?.open({ seeks: true, capability: caps.replicate(true, key, noise.handshakeHash) })
    })
    const r = await reader(client, key)
    await r.cores.attach(r.feed)
    await until(() => r.session().peers.length === 1, 'the remote opened the channel')
    expect(r.session().peers[0]!.remoteLength).toBe(0) // not what it holds: it has not said

    let detached = 0
    for (let t = 0; t <= 4 * IDLE; t += IDLE / 2) detached += r.cores.sweep(t, IDLE)
    expect(detached).toBe(0)
    expect(r.cores.count).toBe(1)
  })
})
