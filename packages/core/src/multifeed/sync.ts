/**
 * The façade's `synced()`: the call checked, then replication/sync.ts run
 * over the set's peers, its pool and its change subscription.
 */
import { InvalidArgumentError } from '../errors.js'
import { syncedOptions } from '../lifecycle/callOptions.js'
import type { MultifeedRef } from '../replication/PeerHost.js'
import { synced } from '../replication/sync.js'
import type { SyncedOptions, SyncResult } from '../types.js'
import type { Parts } from './parts.js'

/** Resolves once we hold what `options.peer` (or every connected peer) holds now. */
export function syncWith(
  parts: Parts,
  multi: MultifeedRef,
  options: SyncedOptions
): Promise<SyncResult> {
  parts.assertOpen()
  syncedOptions(options)
  const peer = options.peer
  if (peer !== undefined && (peer as { multifeed?: unknown })?.multifeed !== multi) {
    throw new InvalidArgumentError(
      'synced(): peer must be a peer of this multifeed (multi.peers())'
    )
  }
  return synced(
    {
      peers: () => (peer !== undefined ? [peer] : parts.peers.verified()),
      acquire: (feed) => parts.pool.acquire(feed),
      release: (feed) => parts.pool.release(feed),
      onChange: (listener) => parts.changes.on(listener),
      assertOpen: parts.assertOpen,
      closing: () => multi.closing
    },
    {
      timeout: options.timeout,
      signal: options.signal,
      minPeers: peer ? 0 : (options.minPeers ?? 0)
    }
  )
}
