import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import type { Hypercore } from '@multifeed/holepunch-types'
import { Networker } from '@multifeed/networker'
import { createTempCorestore, createTestnet, type TestDHT } from '@multifeed/testing'
import type { Cell } from './held.js'
import type { DemoOptions } from './options.js'
import {
  connectionMatrix,
  type DemoPeer,
  describeMissing,
  type Snapshot,
  takeSnapshot
} from './snapshot.js'
import {
  blockWhenSeen,
  flood,
  type SpamReport,
  spamListed,
  spammerIdentity,
  tookBlock
} from './spammer.js'
import { volume } from './volume.js'

export type { Cell, Snapshot }

export interface Summary {
  readonly peers: number
  readonly multifeeds: number
  /** Distinct feeds (writers) over all multifeeds. */
  readonly feeds: number
  /** Distinct blocks written. */
  readonly blocks: number
  /** Distinct bytes written. */
  readonly bytes: number
  /** Blocks and bytes that travelled between peers. */
  readonly replicatedBlocks: number
  readonly replicatedBytes: number
  /**
   * Bytes the multifeed protocol itself sent (pairing aside): the sum of
   * `peer.stats.bytesSent` over every multifeed peer of every peer.
   */
  readonly protocolBytes: number
  /** Multifeed peers (one per multifeed per connection) those bytes were spent on. */
  readonly protocolPeers: number
  readonly seconds: number
  /** connections[i][j]: connections peer i holds to peer j (i ≠ j). */
  readonly connections: number[][]
  /** `--spammer`: the flood, the block, and the spam feeds listed at the end (0 on every peer). */
  readonly spam: (SpamReport & { listed: number; tookBlock: number }) | null
  /** `--mirror`: connections between two members (the mirror carried everything when 0). */
  readonly mirror?: { readonly meetings: number }
}

export interface Reporter {
  /** Called about every 100 ms while syncing. */
  progress(snapshot: Snapshot): void
  /** A line of information (setup steps). */
  info(line: string): void
}

export class SyncTimeoutError extends Error {
  override readonly name = 'SyncTimeoutError'
  readonly snapshot: Snapshot
  readonly missing: string[]
  constructor(seconds: number, snapshot: Snapshot, missing: string[]) {
    super(`sync did not finish within ${seconds} s`)
    this.snapshot = snapshot
    this.missing = missing
  }
}

/**
 * Runs the demo: testnet, peers, multifeeds, writers, wait for full sync.
 * Everything it started is closed before it returns or throws.
 */
export async function runDemo(
  options: DemoOptions,
  reporter: Reporter,
  signal?: AbortSignal
): Promise<Summary> {
  const { peers: P, multifeeds: M, feeds: F, entries: E, size } = options
  /** `--spammer`: the last peer floods; its feeds are not counted as the sync's. */
  const spammerAt = options.spammer ? P - 1 : null
  const started = performance.now()
  const peers: DemoPeer[] = []
  let testnet: TestDHT | null = null
  /** Every multifeed peer any multifeed had (closed ones too): their stats add up to the protocol's bytes. */
  const sessions = new Set<MultifeedPeer>()
  /** Set when the run ends, so that writers stop appending. */
  const stop = { stopped: false }

  try {
    if (options.bootstrap === null) {
      testnet = await createTestnet({ size: 3 })
      reporter.info(
        `loopback testnet up: ${testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')}`
      )
    } else {
      reporter.info(
        `joining the DHT at ${options.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')}`
      )
    }

    for (let i = 0; i < P; i++) {
      const tmp = await createTempCorestore({ prefix: `multifeed-demo-${i}-` })
      const networker =
        testnet !== null
          ? new Networker(tmp.corestore, { swarm: testnet.createSwarm() })
          : new Networker(tmp.corestore, { bootstrap: options.bootstrap ?? [] })
      const multifeeds: Multifeed[] = []
      peers.push({
        index: i,
        tmp,
        networker,
        publicKey: networker.hyperswarm.keyPair.publicKey,
        multifeeds
      })
    }

    // The same multifeeds on every peer: peer 0 creates the keys (--spammer:
    // founds moderated sets, which the others open by their invite).
    for (let m = 0; m < M; m++) {
      let key: Buffer | string | undefined
      for (const peer of peers) {
        const multi =
          options.spammer && key === undefined
            ? await Multifeed.open(peer.tmp.corestore, null, { moderated: true })
            : await Multifeed.open(peer.tmp.corestore, key)
        multi.on('peer-add', (session) => sessions.add(session))
        key = options.spammer ? multi.invite! : multi.key
        peer.multifeeds.push(multi)
      }
    }
    reporter.info(
      `${P} peers, ${M} multifeeds, ${F} writer(s) per peer per multifeed, ${E} entries each`
    )

    // Writers first (so their feeds exist), then swarm, then append live.
    // Each writer is a session the demo owns: closed once its entries are in.
    const writers: Array<Hypercore<Buffer>> = []
    for (const peer of peers) {
      if (peer.index === spammerAt) continue
      for (const multi of peer.multifeeds) {
        for (let f = 0; f < F; f++) writers.push(await multi.writer(`writer-${f}`))
      }
    }
    const spam =
      spammerAt === null
        ? null
        : {
            identity: spammerIdentity(peers[spammerAt]!.multifeeds[0]!),
            report: {
              peer: spammerAt,
              feeds: 0,
              blocks: 0,
              refused: 0,
              blockedAt: null
            } as SpamReport,
            ended: false
          }
    for (const peer of peers) {
      await Promise.all(peer.multifeeds.map((multi) => peer.networker.swarm(multi)))
    }
    reporter.info('every peer swarmed every multifeed; writing')

    const writing = Promise.all(
      writers.map(async (core, w) => {
        try {
          await appendEntries(core, w, E, size, stop)
        } finally {
          await core.close()
        }
      })
    )
    let writeError: unknown = null
    writing.catch((err) => {
      writeError = err
    })
    let spamming: Promise<void> = Promise.resolve()
    if (spam !== null) {
      reporter.info(`peer ${spammerAt} floods every multifeed with junk writers; peer 0 moderates`)
      const flooding = flood(peers[spammerAt!]!.multifeeds, spam.report, size, stop)
      spamming = Promise.all([
        flooding.finally(() => {
          spam.ended = true
        }),
        blockWhenSeen(
          peers[0]!.multifeeds,
          spam.identity,
          flooding,
          spam.report,
          started,
          stop
        ).then(() => {
          if (spam.report.blockedAt !== null) {
            reporter.info(
              `peer 0 blocked the spammer's identity in every multifeed at ${spam.report.blockedAt.toFixed(1)} s (${spam.report.feeds} junk feeds written by then or since)`
            )
          }
        })
      ]).then(() => {})
      spamming.catch((err) => {
        writeError = err
      })
    }

    const deadline = started + options.timeout * 1000
    let snapshot = takeSnapshot(peers, options, started, spam)
    for (;;) {
      if (writeError !== null) throw writeError
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      snapshot = takeSnapshot(peers, options, started, spam)
      reporter.progress(snapshot)
      if (snapshot.done) break
      if (performance.now() >= deadline) {
        throw new SyncTimeoutError(options.timeout, snapshot, describeMissing(peers, options, spam))
      }
      await sleep(100)
    }
    await writing
    await spamming
    const seconds = (performance.now() - started) / 1000

    // When two peers dial each other at once, Hyperswarm keeps one connection and drops the
    // other a moment later: let such a duplicate settle (up to 2 s) before counting.
    let connections = connectionMatrix(peers)
    for (let waited = 0; waited < 2000 && connections.flat().some((n) => n > 1); waited += 50) {
      await sleep(50)
      connections = connectionMatrix(peers)
    }

    const writers_ = spammerAt === null ? P : P - 1
    return {
      peers: P,
      multifeeds: M,
      ...volume(writers_ * M * F, E, size, P - 1, sessions),
      spam:
        spam === null
          ? null
          : {
              ...spam.report,
              listed: peers.reduce(
                (n, p) => n + p.multifeeds.reduce((k, m) => k + spamListed(m, spam.identity), 0),
                0
              ),
              tookBlock: peers.filter((p) => p.multifeeds.every((m) => tookBlock(m, spam.identity)))
                .length
            },
      seconds,
      connections
    }
  } finally {
    stop.stopped = true
    // Networkers, then multifeeds, then swarms and DHT nodes, then corestores.
    await Promise.allSettled(peers.map((p) => p.networker.close()))
    await Promise.allSettled(peers.flatMap((p) => p.multifeeds.map((m) => m.close())))
    if (testnet !== null) await testnet.close().catch(() => {})
    await Promise.allSettled(peers.map((p) => p.tmp.close()))
  }
}

export async function appendEntries(
  core: Hypercore<Buffer>,
  writer: number,
  entries: number,
  size: number,
  stop: { readonly stopped: boolean }
): Promise<void> {
  const batch = 50
  for (let i = 0; i < entries && !stop.stopped; i += batch) {
    const blocks: Buffer[] = []
    for (let j = i; j < Math.min(entries, i + batch); j++) blocks.push(entry(writer, j, size))
    await core.append(blocks)
    // Let replication run between batches so progress is live.
    await new Promise((resolve) => setImmediate(resolve))
  }
}

function entry(writer: number, index: number, size: number): Buffer {
  const text = `writer ${writer} entry ${index} `
  const buf = Buffer.alloc(size, '.')
  buf.write(text.slice(0, size))
  return buf
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
