import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { Corestore } from '@multifeed/holepunch-types'
import { type HubMembership, InProcessHub } from './InProcessHub.js'
import { NetworkerBase, type SwarmedMultifeed } from './NetworkerBase.js'
import type { SwarmKeyPair } from './NetworkerInterface.js'
import { validateInProcessOptions } from './options.js'

/** Options of `new InProcessNetworker(corestore, options)`. */
export interface InProcessNetworkerOptions {
  /** Where networkers meet; only networkers of one hub connect. Default `InProcessHub.default`. */
  hub?: InProcessHub
  /** Our identity (the `remotePublicKey` other networkers see). Random by default. */
  keyPair?: SwarmKeyPair
}

/**
 * A networker for networkers living in one process, with no network at all:
 * they meet in an `InProcessHub` and each pair that shares a topic is linked
 * by one pair of replication streams. Same interface, events and semantics as
 * the Hyperswarm `Networker`; useful for fast tests.
 */
export class InProcessNetworker extends NetworkerBase {
  readonly hub: InProcessHub
  readonly keyPair: SwarmKeyPair
  readonly #membership: HubMembership
  /** Which swarmed multifeeds hold each topic we joined. */
  readonly #topics = new Map<string, Set<SwarmedMultifeed>>()

  constructor(corestore: Corestore, options: InProcessNetworkerOptions = {}) {
    validateInProcessOptions(options)
    super(corestore)
    this.hub = options.hub ?? InProcessHub.default
    this.keyPair = options.keyPair ?? NoiseSecretStream.keyPair()
    this.#membership = this.hub.register({
      keyPair: this.keyPair,
      onConnection: (stream, remotePublicKey) => this._handleConnection(stream, remotePublicKey)
    })
  }

  /** Our public key: the `remotePublicKey` other networkers see for us. */
  get publicKey(): Buffer {
    return this.keyPair.publicKey
  }

  protected async _joinTopic(entry: SwarmedMultifeed): Promise<void> {
    if (!entry.announce && !entry.lookup) return
    const id = entry.topic.toString('hex')
    let holders = this.#topics.get(id)
    if (holders === undefined) {
      holders = new Set()
      this.#topics.set(id, holders)
    }
    holders.add(entry)
    this.#membership.join(entry.topic, merged(holders))
  }

  protected async _leaveTopic(entry: SwarmedMultifeed): Promise<void> {
    const id = entry.topic.toString('hex')
    const holders = this.#topics.get(id)
    if (holders === undefined || !holders.delete(entry)) return
    // Two multifeed instances of one key share the topic: it stays while one holds it.
    if (holders.size > 0) {
      this.#membership.join(entry.topic, merged(holders))
      return
    }
    this.#topics.delete(id)
    this.#membership.leave(entry.topic)
  }

  protected async _closeTransport(): Promise<void> {
    await this.#membership.unregister()
  }
}

function merged(holders: Set<SwarmedMultifeed>): { announce: boolean; lookup: boolean } {
  let announce = false
  let lookup = false
  for (const holder of holders) {
    announce ||= holder.announce
    lookup ||= holder.lookup
  }
  return { announce, lookup }
}
