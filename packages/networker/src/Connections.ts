/**
 * The live connections of a networker, keyed by the connection object (two
 * connections to one peer are two entries): taking a connection in (its
 * error listener first, then the corestore replicated once on it), routing
 * its errors (connectionErrors.ts), and letting go of it when it closes or
 * when the networker closes. Which multifeeds a connection carries is the
 * networker's business (NetworkerBase.ts), not this table's.
 */
import { type PairingOutcome, ReplicationStream } from '@multifeed/core'
import type { Corestore, NoiseSecretStream } from '@multifeed/holepunch-types'
import { ConnectedPeer } from './ConnectedPeer.js'
import { isBenignConnectionError, ResetGrace, toError } from './connectionErrors.js'

/** What the connection table needs of its networker. */
export interface ConnectionsHost {
  /** True once the networker started closing: no connection is taken in, no error reported. */
  isClosing(): boolean
  /** Reports a connection's error (`connection-error`); `peer` is null before the connection was ours. */
  reportError(err: Error, peer: ConnectedPeer | null): void
  /** A connection of ours closed: its peer is marked closed and out of the table. */
  closed(peer: ConnectedPeer): void
  /** Pairing on a connection of ours concluded (`pairing-concluded` of its replication stream). */
  concluded(peer: ConnectedPeer, outcome: PairingOutcome): void
}

export class Connections implements Iterable<ConnectedPeer> {
  readonly #corestore: Corestore
  readonly #host: ConnectionsHost
  readonly #peers = new Map<NoiseSecretStream, ConnectedPeer>()
  /** Resets waiting to see whether a new connection to the same peer replaces the reset one. */
  readonly #resets = new ResetGrace()

  constructor(corestore: Corestore, host: ConnectionsHost) {
    this.#corestore = corestore
    this.#host = host
  }

  /** The live connections (the table itself: a connection that closes meanwhile leaves it). */
  [Symbol.iterator](): Iterator<ConnectedPeer> {
    return this.#peers.values()
  }

  /** Every live connection, proven or not (a copy). */
  all(): ConnectedPeer[] {
    return [...this.#peers.values()]
  }

  /** The peer of a connection, if that connection is ours. */
  peerOf(stream: NoiseSecretStream): ConnectedPeer | null {
    return this.#peers.get(stream) ?? this.#peers.get(stream.noiseStream) ?? null
  }

  /**
   * Takes a new connection in: the error listener goes on first, the
   * corestore replicates once. Null when the connection is ours already, or
   * was refused (networker closing, stream destroyed) or failed (reported).
   */
  add(stream: NoiseSecretStream, remotePublicKey: Buffer): ConnectedPeer | null {
    if (this.#peers.has(stream)) return null
    const onError = (err: Error): void => this.#onError(stream, err)
    stream.on('error', onError)
    if (this.#host.isClosing() || stream.destroyed) {
      stream.destroy()
      return null
    }
    let replication: ReplicationStream
    try {
      replication = ReplicationStream.for(this.#corestore, stream)
    } catch (err) {
      this.#host.reportError(toError(err), null)
      stream.destroy()
      return null
    }
    // One connection carries every multifeed, each listening for its close.
    const maxListeners = stream.getMaxListeners()
    stream.setMaxListeners(0)
    const peer = new ConnectedPeer(stream, remotePublicKey)
    this.#resets.cancel(remotePublicKey)
    this.#peers.set(stream, peer)
    const onClose = (): void => this.#onClose(peer)
    stream.once('close', onClose)
    const onConcluded = (outcome: PairingOutcome): void => {
      if (!peer.closed) this.#host.concluded(peer, outcome)
    }
    replication.once('pairing-concluded', onConcluded)
    peer._release = () => {
      replication.off('pairing-concluded', onConcluded)
      stream.off('error', onError)
      stream.off('close', onClose)
      stream.setMaxListeners(maxListeners)
    }
    return peer
  }

  /**
   * Lets go of every connection (at the networker's close; connections that
   * live on, a given swarm's, keep nothing of ours) and of every held-back reset.
   */
  releaseAll(): void {
    for (const peer of [...this.#peers.values()]) {
      peer._release?.()
      peer._release = null
      ReplicationStream.of(peer.stream)?.release()
      this.#onClose(peer)
    }
    this.#resets.clear()
  }

  #onError(stream: NoiseSecretStream, err: Error): void {
    if (this.#host.isClosing()) return
    const peer = this.#peers.get(stream) ?? null
    if (isBenignConnectionError(err, stream, peer !== null && this.#hasTwin(peer))) return
    if (peer !== null && (err as { code?: unknown }).code === 'ECONNRESET') {
      // When both sides dialed, the remote may keep our second connection and
      // reset the first one, data and all, just before the second shows up
      // here. Report the reset only if no new connection to that peer follows.
      this.#resets.defer(peer.remotePublicKey, () => {
        if (!this.#host.isClosing()) this.#host.reportError(err, peer)
      })
      return
    }
    this.#host.reportError(err, peer)
  }

  /** True when another live connection goes to the same remote. */
  #hasTwin(peer: ConnectedPeer): boolean {
    for (const other of this.#peers.values()) {
      if (other !== peer && !other.closed && other.remotePublicKey.equals(peer.remotePublicKey)) {
        return true
      }
    }
    return false
  }

  #onClose(peer: ConnectedPeer): void {
    if (this.#peers.get(peer.stream) !== peer) return
    this.#peers.delete(peer.stream)
    peer._close()
    this.#host.closed(peer)
  }
}
