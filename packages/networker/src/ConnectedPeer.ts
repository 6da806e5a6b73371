/**
 * One connection as the networker sees it (`NetworkPeer`): its stream, its
 * remote, and the multifeed sessions proven on it. The networker keeps one per
 * connection and updates it; this module only holds that state.
 */
import type { MultifeedPeer } from '@multifeed/core'
import type { NoiseSecretStream } from '@multifeed/holepunch-types'
import type { AnyMultifeed, NetworkPeer } from './NetworkerInterface.js'

type Multifeed = AnyMultifeed

/**
 * One connection (one per peer pair) as the networker sees it. Which
 * multifeeds it carries is learnt from each multifeed's `peer-add` /
 * `peer-remove`: a multifeed counts once its capability was proved on this
 * stream.
 */
export class ConnectedPeer implements NetworkPeer {
  readonly remotePublicKey: Buffer
  readonly stream: NoiseSecretStream
  readonly #sessions = new Map<Multifeed, MultifeedPeer>()
  #closed = false
  /** @internal What we put on the stream, taken off when we let go of it. */
  _release: (() => void) | null = null
  /** @internal True between our peer-add and peer-remove for it. */
  _listed = false

  constructor(stream: NoiseSecretStream, remotePublicKey: Buffer) {
    this.stream = stream
    this.remotePublicKey = remotePublicKey
  }

  /** True once the connection closed. */
  get closed(): boolean {
    return this.#closed
  }

  /** True while at least one multifeed's capability verified on this connection. */
  get proven(): boolean {
    return this.#sessions.size > 0
  }

  multifeeds(): Multifeed[] {
    return [...this.#sessions.keys()]
  }

  /** The multifeed protocol session for `multifeed` on this connection, or null. */
  session(multifeed: Multifeed): MultifeedPeer | null {
    return this.#sessions.get(multifeed) ?? null
  }

  /** @internal */
  _add(multifeed: Multifeed, session: MultifeedPeer): void {
    this.#sessions.set(multifeed, session)
  }

  /** @internal */
  _remove(multifeed: Multifeed, session?: MultifeedPeer): void {
    if (session === undefined || this.#sessions.get(multifeed) === session) {
      this.#sessions.delete(multifeed)
    }
  }

  /** @internal */
  _close(): void {
    this.#closed = true
    this.#sessions.clear()
  }
}
