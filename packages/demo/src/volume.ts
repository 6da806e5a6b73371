import type { MultifeedPeer } from '@multifeed/core'

/**
 * What a run moved, for its summary: the distinct feeds, blocks and bytes
 * written, what travelled between peers (each block to `receivers` peers),
 * and what the multifeed protocol itself sent over `sessions`.
 */
export function volume(
  feeds: number,
  entries: number,
  size: number,
  receivers: number,
  sessions: Iterable<MultifeedPeer>
) {
  const blocks = feeds * entries
  let protocolBytes = 0
  let protocolPeers = 0
  for (const session of sessions) {
    protocolBytes += session.stats.bytesSent
    protocolPeers++
  }
  return {
    feeds,
    blocks,
    bytes: blocks * size,
    replicatedBlocks: blocks * receivers,
    replicatedBytes: blocks * size * receivers,
    protocolBytes,
    protocolPeers
  }
}
