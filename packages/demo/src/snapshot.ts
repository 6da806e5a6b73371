/**
 * What the demo sees of its peers while it runs: every peer's progress on
 * every multifeed (held against written), whether the run is done, what is
 * missing when it times out, and the connections between peers.
 */
import type { Multifeed } from '@multifeed/core'
import type { Networker } from '@multifeed/networker'
import type { TempCorestore } from '@multifeed/testing'
import { type Cell, held } from './held.js'
import type { DemoOptions } from './options.js'
import { spamListed, tookBlock } from './spammer.js'

/** One peer of the demo (with `--mirror`, its networker is a new one each time it goes online). */
export interface DemoPeer {
  readonly index: number
  readonly tmp: TempCorestore
  networker: Networker
  publicKey: Buffer
  readonly multifeeds: Multifeed[]
}

/** A snapshot of the whole demo, taken every tick. */
export interface Snapshot {
  readonly seconds: number
  /** cells[peer][multifeed] */
  readonly cells: Cell[][]
  readonly feedsHeld: number
  readonly feedsTarget: number
  readonly blocksHeld: number
  readonly blocksTarget: number
  readonly connections: number
  readonly done: boolean
}

/** `--spammer`: whose feeds are junk, and whether the flood ended. */
export interface SpamState {
  readonly identity: Buffer
  readonly ended: boolean
}

export function takeSnapshot(
  peers: DemoPeer[],
  options: DemoOptions,
  started: number,
  spam: SpamState | null
): Snapshot {
  const { peers: P, multifeeds: M, feeds: F, entries: E } = options
  const feedsPerCell = (spam === null ? P : P - 1) * F
  const cells: Cell[][] = []
  let feedsHeld = 0
  let blocksHeld = 0
  let done = true
  for (const peer of peers) {
    const row: Cell[] = []
    for (const multi of peer.multifeeds) {
      const cell = held(multi, E, spam?.identity ?? null)
      // --spammer: done once the block reached this peer and none of the spam is listed.
      if (spam !== null && (!spam.ended || !tookBlock(multi, spam.identity))) done = false
      if (spam !== null && spamListed(multi, spam.identity) > 0) done = false
      const feeds = cell.feeds
      const blocks = Math.min(cell.blocks, feedsPerCell * E)
      if (blocks < feedsPerCell * E) done = false
      if (feeds < feedsPerCell) done = false
      feedsHeld += Math.min(feeds, feedsPerCell)
      blocksHeld += blocks
      row.push({ feeds, blocks })
    }
    cells.push(row)
  }
  let connections = 0
  for (const peer of peers) connections += peer.networker.peers().length
  return {
    seconds: (performance.now() - started) / 1000,
    cells,
    feedsHeld,
    feedsTarget: P * M * feedsPerCell,
    blocksHeld,
    blocksTarget: P * M * feedsPerCell * E,
    connections: connections / 2,
    done
  }
}

export function describeMissing(
  peers: DemoPeer[],
  options: DemoOptions,
  spam: SpamState | null
): string[] {
  const out: string[] = []
  const feedsPerCell = (spam === null ? options.peers : options.peers - 1) * options.feeds
  for (const peer of peers) {
    peer.multifeeds.forEach((multi, m) => {
      if (spam !== null) {
        const listed = spamListed(multi, spam.identity)
        if (!tookBlock(multi, spam.identity))
          out.push(`peer ${peer.index} multifeed ${m}: no block of the spammer yet`)
        if (listed > 0) {
          const shown = multi
            .feeds()
            .filter((f) => f.owner?.equals(spam.identity) === true)
            .map((f) => `${f.key.toString('hex').slice(0, 8)} (${f.length} blocks)`)
          out.push(`peer ${peer.index} multifeed ${m}: lists spam feed(s) ${shown.join(', ')}`)
        }
      }
      const feeds = multi
        .feeds()
        .filter((f) => spam === null || f.owner?.equals(spam.identity) !== true)
      if (feeds.length < feedsPerCell) {
        out.push(`peer ${peer.index} multifeed ${m}: holds ${feeds.length}/${feedsPerCell} feeds`)
      }
      for (const info of feeds) {
        if (info.length < options.entries) {
          out.push(
            `peer ${peer.index} multifeed ${m}: feed ${info.key.toString('hex').slice(0, 8)} has ${info.length}/${options.entries} blocks`
          )
        }
      }
    })
    out.push(`peer ${peer.index}: ${peer.networker.peers().length} connected peer(s)`)
  }
  return out
}

export function connectionMatrix(peers: DemoPeer[]): number[][] {
  const index = new Map(peers.map((p) => [p.publicKey.toString('hex'), p.index]))
  const matrix = peers.map(() => peers.map(() => 0))
  for (const peer of peers) {
    for (const remote of peer.networker.peers()) {
      const j = index.get(remote.remotePublicKey.toString('hex'))
      if (j !== undefined) matrix[peer.index]![j]!++
    }
  }
  return matrix
}
