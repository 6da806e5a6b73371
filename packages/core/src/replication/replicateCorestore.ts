/**
 * Corestore replication on a stream, scoped. By default a corestore offers
 * every core with an active session to every stream it replicates on, so a
 * peer met through multifeed X would see the discovery keys of multifeed Y.
 * We replicate through an inactive session of the root store instead: it
 * answers what a peer asks for by discovery key, and offers nothing by
 * itself. Each multifeed attaches its own cores to a stream once that peer
 * has proved the multifeed's capability (see MultifeedPeer).
 */
import type { Duplex } from 'node:stream'
import type { Corestore, NoiseSecretStream, ReplicationStream } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'

const scopedSessions = new WeakMap<Corestore, Corestore>()
const replicated = new WeakMap<NoiseSecretStream, Corestore>()

/** The root of a store session (the store that owns the storage). */
export function rootOf(store: Corestore): Corestore {
  return store.root ?? store
}

/** True when both are sessions of one root corestore. */
export function sameCorestore(a: Corestore, b: Corestore): boolean {
  return rootOf(a) === rootOf(b)
}

/** The inactive session of `store`'s root that every scoped replication goes through. */
export function scopedSession(store: Corestore): Corestore {
  const root = rootOf(store)
  let scoped = scopedSessions.get(root)
  if (scoped === undefined || scoped.closing !== null) {
    scoped = root.session({ active: false })
    scopedSessions.set(root, scoped)
  }
  return scoped
}

/**
 * Starts corestore replication on a stream (or creates one for `isInitiator`),
 * once per stream: calling it again for the same stream returns it untouched.
 * The result carries Hypercore's Protomux, ready for `multi.attach(stream)`.
 */
export function replicateCorestore(
  store: Corestore,
  isInitiatorOrStream: boolean | Duplex
): ReplicationStream {
  if (typeof isInitiatorOrStream !== 'boolean' && !isDuplex(isInitiatorOrStream)) {
    throw new InvalidArgumentError('replicate() takes a boolean (isInitiator) or a duplex stream')
  }
  if (typeof isInitiatorOrStream !== 'boolean') {
    const noise = noiseStreamOf(isInitiatorOrStream)
    const done = noise ? replicated.get(noise) : undefined
    if (done !== undefined) {
      if (!sameCorestore(done, store)) {
        throw new InvalidArgumentError('This stream already replicates another corestore')
      }
      return isInitiatorOrStream as ReplicationStream
    }
  }
  const stream = scopedSession(store).replicate(isInitiatorOrStream)
  replicated.set(stream.noiseStream, rootOf(store))
  return stream
}

/** The encrypted stream under a replication stream (itself for a Noise stream), or null. */
export function noiseStreamOf(stream: Duplex): NoiseSecretStream | null {
  const noise = (stream as { noiseStream?: unknown }).noiseStream
  return typeof noise === 'object' && noise !== null ? (noise as NoiseSecretStream) : null
}

function isDuplex(value: unknown): value is Duplex {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { pipe?: unknown }).pipe === 'function' &&
    typeof (value as { write?: unknown }).write === 'function'
  )
}
