import type { Multifeed } from '@multifeed/core'

/** Where one mirrored set stands, from the public API of its Multifeed. */
export interface SetSnapshot {
  /** Its key as listed (z-base-32). */
  key: string
  peers: number
  feeds: number
  /** Blocks held (each feed's contiguous length, added up). */
  blocks: number
  /** Blocks its connected peers hold that it lacks (what is left to download). */
  left: number
  /** Block bytes received and sent since it opened. */
  received: number
  sent: number
  /**
   * `syncing`: a peer has not reconciled yet or holds what it lacks; `in-sync`: it
   * holds everything its peers hold (one at least); `alone`: no peer connected.
   */
  state: 'syncing' | 'in-sync' | 'alone'
}

export function snapshot(key: string, multi: Multifeed): SetSnapshot {
  const peers = multi.peers()
  const feeds = multi.feeds()
  const { want, received, sent } = multi.progress()
  const waiting = peers.some((peer) => !peer.reconciled) || want.feeds > 0 || want.blocks > 0
  return {
    key,
    peers: peers.length,
    feeds: feeds.length,
    blocks: feeds.reduce((sum, feed) => sum + feed.length, 0),
    left: want.blocks,
    received: received.bytes,
    sent: sent.bytes,
    state: peers.length === 0 ? 'alone' : waiting ? 'syncing' : 'in-sync'
  }
}

/**
 * The set as a status line shows it: a key's first 8 characters, an invite's
 * last 8 (its first ones name the founder, whom many sets may share).
 */
export const short = (key: string): string => (key.length > 52 ? key.slice(-8) : key.slice(0, 8))

/** Bytes for people: 0 B, 512 B, 1.5 KiB, 20.0 MiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** The line a TTY shows: sets, peers, feeds, blocks, bytes, and what is still syncing. */
export function statusLine(sets: SetSnapshot[], peers: number): string {
  const feeds = sets.reduce((sum, set) => sum + set.feeds, 0)
  const blocks = sets.reduce((sum, set) => sum + set.blocks, 0)
  const received = sets.reduce((sum, set) => sum + set.received, 0)
  const sent = sets.reduce((sum, set) => sum + set.sent, 0)
  const syncing = sets.filter((set) => set.state === 'syncing')
  const head =
    `${sets.length} set${sets.length === 1 ? '' : 's'} · ${peers} peer${peers === 1 ? '' : 's'} · ` +
    `${feeds} feeds · ${blocks} blocks · ↓ ${bytes(received)} ↑ ${bytes(sent)}`
  if (syncing.length === 0) return `${head} · all in sync`
  const shown = syncing.slice(0, 3).map((set) => `${short(set.key)} (${set.left} left)`)
  const more = syncing.length > 3 ? ` and ${syncing.length - 3} more` : ''
  return `${head} · syncing ${shown.join(', ')}${more}`
}
