/**
 * Attaching a core to a stream and detaching it again, for one multifeed.
 *
 * Attaching is public API (`core.replicate(mux)`). Detaching is not: a core
 * attached to a Protomux stays attached until the core closes, and the
 * set's session is not the only one (a user's session keeps the core open).
 * So this is the one place that touches hypercore's replicator
 * (`core.core.replicator`: `attached`, `detachFrom`, `peers`): hypercore
 * 11.39 has no public way to stop replicating a core on one stream. It is
 * tested in replication.test.ts ("a removed … stops", "shared core").
 * A core attached here also has hypercore's hotswaps held back (hotswap.ts).
 *
 * Several multifeeds may attach one core to one stream (a key pair writing
 * in two multifeeds): the core stays attached until the last lets go.
 *
 * The remote may close the core's channel itself (`onChannelClosed`): one
 * 'peer-remove' listener per core, whatever the number of streams it is on.
 */
import type { Hypercore, HypercorePeer, Protomux } from '@multifeed/holepunch-types'
import { holdBackHotswaps } from './hotswap.js'

const users = new WeakMap<Protomux, Map<string, number>>()

/** Attaches `core` (ready) to `mux` for one more user; hypercore opens its channel. */
export function attachCore(mux: Protomux, discoveryId: string, core: Hypercore<unknown>): void {
  let counts = users.get(mux)
  if (counts === undefined) {
    counts = new Map()
    users.set(mux, counts)
  }
  counts.set(discoveryId, (counts.get(discoveryId) ?? 0) + 1)
  if (core.closing !== null) return
  holdBackHotswaps(core)
  const replicator = core.core?.replicator
  if (replicator?.attached(mux)) return
  core.replicate(mux)
}

/** True when some multifeed holds the core attached to `mux`. */
export function isAttached(mux: Protomux, discoveryId: string): boolean {
  return (users.get(mux)?.get(discoveryId) ?? 0) > 0
}

/**
 * One user less; the last one detaches the core from `mux` and closes its
 * hypercore channel there (the remote sees the channel close).
 */
export function detachCore(mux: Protomux, discoveryId: string, core: Hypercore<unknown>): void {
  const counts = users.get(mux)
  const count = counts?.get(discoveryId) ?? 0
  if (count > 1) {
    counts!.set(discoveryId, count - 1)
    return
  }
  counts?.delete(discoveryId)
  const replicator = core.core?.replicator
  if (!replicator || mux.stream.destroyed) return
  replicator.detachFrom(mux)
  for (const peer of [...replicator.peers]) {
    if (peer.protomux === mux) peer.channel.close()
  }
}

/** Hypercore's replication protocol on Protomux (a core's channel: this protocol, its discovery key). */
export const HYPERCORE_PROTOCOL = 'hypercore/alpha'

/**
 * True when the core has nothing to move on `mux`: the remote holds every
 * block we hold and we hold every block it has. Reads hypercore's peer
 * (`core.peers`, `remoteLength`, `remoteContiguousLength`); a core whose
 * channel is closed there (the remote refused it, or closed it) is settled
 * too.
 *
 * A core whose channel we opened and the remote has not answered yet is not:
 * hypercore adds its peer only at the remote's open, and a serving side
 * opening thousands of cold cores (or reading slowly) may take longer than
 * the idle time to answer. Counted as settled, it was detached as idle
 * before a block moved, and nothing attached it again: the first sync
 * stopped for good (notes/tcp-first-sync-stall.md). `mux.opened()` is
 * Protomux's own test for a local channel of that protocol and id, the one
 * hypercore makes before opening a channel. Nor is a core whose remote
 * opened the channel but has not sent its first sync yet: until then its
 * peer shows length 0, which is not what the remote holds (the open and the
 * sync may come in two reads; seen in the two-process repro). That is
 * hypercore's `peer.remoteSynced`, a field of its Peer without a public
 * accessor (hypercore tests it itself before trusting `remoteLength`).
 */
export function isSettled(core: Hypercore<unknown>, mux: Protomux): boolean {
  if (core.closing !== null || !core.opened) return true
  const peer = core.peers.find((p) => p.protomux === mux)
  if (peer === undefined)
    return !mux.opened({ protocol: HYPERCORE_PROTOCOL, id: core.discoveryKey })
  if ((peer as { remoteSynced?: boolean }).remoteSynced === false) return false
  // cheap comparisons first: remoteContiguousLength scans the remote's bitfield
  return (
    core.contiguousLength >= peer.remoteLength &&
    peer.remoteLength >= core.length &&
    peer.remoteContiguousLength >= core.length
  )
}

/** Who waits for the remote to close a core's channel, by stream; one 'peer-remove' listener per core. */
interface Watchers {
  readonly byMux: Map<Protomux, Set<() => void>>
  readonly listener: (peer: HypercorePeer) => void
}

const watched = new WeakMap<Hypercore<unknown>, Watchers>()

/**
 * Calls `onClosed` when the core's channel on `mux` closes (the remote
 * closed it, or the stream went); returns the function that stops watching.
 * The core's listener is shared by every stream it is on: one listener per
 * stream would pass Node's limit of 10 on a core served to 11 connections
 * (a MaxListenersExceededWarning for every core of a swarm of 12 peers).
 */
export function onChannelClosed(
  core: Hypercore<unknown>,
  mux: Protomux,
  onClosed: () => void
): () => void {
  let watchers = watched.get(core)
  if (watchers === undefined) {
    const byMux = new Map<Protomux, Set<() => void>>()
    const listener = (peer: HypercorePeer): void => {
      for (const callback of [...(byMux.get(peer.protomux) ?? [])]) callback()
    }
    watchers = { byMux, listener }
    watched.set(core, watchers)
    core.on('peer-remove', listener)
  }
  const { byMux, listener } = watchers
  let callbacks = byMux.get(mux)
  if (callbacks === undefined) {
    callbacks = new Set()
    byMux.set(mux, callbacks)
  }
  const callback = (): void => onClosed()
  callbacks.add(callback)
  return () => {
    if (!callbacks.delete(callback) || callbacks.size > 0) return
    byMux.delete(mux)
    if (byMux.size > 0) return
    core.off('peer-remove', listener)
    watched.delete(core)
  }
}
