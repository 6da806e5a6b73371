import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import { Networker } from '@multifeed/networker'
import { createTempCorestore, createTestnet, type TestDHT } from '@multifeed/testing'
import { held } from './held.js'
import type { DemoOptions } from './options.js'
import { appendEntries, type Reporter, type Summary, SyncTimeoutError, sleep } from './run.js'
import { type DemoPeer, describeMissing, takeSnapshot } from './snapshot.js'
import { volume } from './volume.js'

/**
 * `--mirror`: the peers never meet. The sets are encrypted; one more peer, the
 * mirror, opens each with its mirror key and stays online throughout. The
 * writers come one at a time: each goes online, writes its entries, waits until
 * the mirror holds them, and leaves. Then each comes back, again alone, and
 * waits until it holds every entry of every peer: all of it came through the
 * mirror, which cannot read any. Connections between two members are counted
 * (`meetings`, 0 when the run is what it says).
 */
export async function runMirrorDemo(
  options: DemoOptions,
  reporter: Reporter,
  signal?: AbortSignal
): Promise<Summary> {
  const { peers: P, multifeeds: M, feeds: F, entries: E, size } = options
  const started = performance.now()
  const deadline = started + options.timeout * 1000
  const peers: DemoPeer[] = []
  const sessions = new Set<MultifeedPeer>()
  const stop = { stopped: false }
  let testnet: TestDHT | null = null
  let mirror: DemoPeer | null = null
  let meetings = 0
  const networkerFor = (peer: DemoPeer): Networker =>
    testnet !== null
      ? new Networker(peer.tmp.corestore, { swarm: testnet.createSwarm() })
      : new Networker(peer.tmp.corestore, { bootstrap: options.bootstrap ?? [] })

  /** Waits until `done()`, reporting progress; the run's bound applies. */
  const until = async (done: () => boolean): Promise<void> => {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      reporter.progress(takeSnapshot(peers, options, started, null))
      if (done()) return
      if (performance.now() >= deadline) {
        const snapshot = takeSnapshot(peers, options, started, null)
        throw new SyncTimeoutError(options.timeout, snapshot, describeMissing(peers, options, null))
      }
      await sleep(100)
    }
  }
  /** Puts `peer` online: a networker of its own, every set swarmed; other members are counted. */
  const online = async (peer: DemoPeer): Promise<void> => {
    const networker = networkerFor(peer)
    networker.on('peer-add', (remote) => {
      if (!remote.remotePublicKey.equals(mirror!.publicKey)) meetings++
    })
    peer.networker = networker
    peer.publicKey = networker.hyperswarm.keyPair.publicKey
    await Promise.all(peer.multifeeds.map((multi) => networker.swarm(multi)))
  }

  try {
    if (options.bootstrap === null) {
      testnet = await createTestnet({ size: 3 })
      reporter.info(
        `loopback testnet up: ${testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')}`
      )
    }
    const newPeer = async (index: number, label: string): Promise<DemoPeer> => {
      const tmp = await createTempCorestore({ prefix: `multifeed-demo-${label}-` })
      const peer = { index, tmp, multifeeds: [] } as unknown as DemoPeer
      peer.networker = networkerFor(peer)
      peer.publicKey = peer.networker.hyperswarm.keyPair.publicKey
      return peer
    }
    for (let i = 0; i < P; i++) peers.push(await newPeer(i, String(i)))
    mirror = await newPeer(P, 'mirror')
    // The members' first networkers are never used: each goes online in its turn.
    await Promise.all(peers.map((p) => p.networker.close()))
    for (let m = 0; m < M; m++) {
      let key: Buffer | undefined
      for (const peer of peers) {
        const multi = await Multifeed.open(peer.tmp.corestore, key, { encrypted: true })
        multi.on('peer-add', (session) => sessions.add(session))
        key = multi.key
        peer.multifeeds.push(multi)
      }
      mirror.multifeeds.push(
        await Multifeed.open(mirror.tmp.corestore, peers[0]!.multifeeds[m]!.mirrorKey!)
      )
    }
    const net = mirror.networker
    await Promise.all(mirror.multifeeds.map((multi) => net.swarm(multi)))
    reporter.info(`a mirror of ${M} encrypted multifeeds is online (it cannot read them)`)

    for (const peer of peers) {
      await online(peer)
      reporter.info(`peer ${peer.index} online alone with the mirror: writing`)
      const keys: Buffer[] = []
      await Promise.all(
        peer.multifeeds.map(async (multi) => {
          for (let f = 0; f < F; f++) {
            const core = await multi.writer(`writer-${f}`)
            keys.push(core.key!)
            try {
              await appendEntries(core, peer.index * F + f, E, size, stop)
            } finally {
              await core.close()
            }
          }
        })
      )
      const hex = new Set(keys.map((k) => k.toString('hex')))
      await until(() => {
        let n = 0
        for (const multi of mirror!.multifeeds) {
          for (const info of multi.feeds()) {
            if (hex.has(info.key.toString('hex')) && info.length >= E) n++
          }
        }
        return n === hex.size
      })
      await peer.networker.close()
      reporter.info(`the mirror holds peer ${peer.index}'s entries; peer ${peer.index} left`)
    }
    for (const peer of peers) {
      await online(peer)
      reporter.info(`peer ${peer.index} back, alone with the mirror: catching up`)
      await until(() =>
        peer.multifeeds.every((multi) => {
          const cell = held(multi, E, null)
          return cell.feeds >= P * F && cell.blocks >= P * F * E
        })
      )
      await peer.networker.close()
      reporter.info(`peer ${peer.index} holds every entry; it left`)
    }
    const snapshot = takeSnapshot(peers, options, started, null)
    reporter.progress(snapshot)
    return {
      peers: P,
      multifeeds: M,
      // Every block reaches the mirror and every other writer: P receivers.
      ...volume(P * M * F, E, size, P, sessions),
      seconds: (performance.now() - started) / 1000,
      connections: peers.map(() => peers.map(() => 0)),
      spam: null,
      mirror: { meetings }
    }
  } finally {
    stop.stopped = true
    const all = mirror === null ? peers : [...peers, mirror]
    await Promise.allSettled(all.map((p) => p.networker.close()))
    await Promise.allSettled(all.flatMap((p) => p.multifeeds.map((m) => m.close())))
    if (testnet !== null) await testnet.close().catch(() => {})
    await Promise.allSettled(all.map((p) => p.tmp.close()))
  }
}
