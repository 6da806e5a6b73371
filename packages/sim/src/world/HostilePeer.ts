/**
 * A hostile member: on every link the hub gives it, one fuzzer puppet per
 * set it attacks (`@multifeed/core/fuzz`), in that set's role (keyholder,
 * forger or stranger). A `hostile` event runs a number of the puppets'
 * seeded operations: bent and flooded messages, offers, channel re-opens.
 * It holds no corestore: cores honest peers open to it go unanswered.
 */
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { type Mode, Puppet, type Replayable, Rng } from '@multifeed/core/fuzz'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'
import type { HubMembership, SwarmKeyPair } from '@multifeed/networker'
import Hypercore from 'hypercore'
import { queuedIn } from './queued.js'
import type { LinkEnd, SimHub } from './SimHub.js'

export interface HostileSetup {
  index: number
  keyPair: SwarmKeyPair
  seed: number
  setKeys: Buffer[]
  sets: number[]
  modes: Mode[]
  topics: Buffer[]
}

interface Attack {
  readonly remote: string
  readonly set: number
  readonly mode: Mode
  readonly puppet: Puppet
}

export class HostilePeer {
  readonly #attacks = new Set<Attack>()
  /** Every puppet this run, live or not (their counts stay readable). */
  readonly #all: Attack[] = []
  readonly #replay: Replayable = { tokens: [], ids: [], capabilities: [], messages: [] }
  #membership: HubMembership | null = null
  #links = 0
  /** Puppet errors (a driver bug, not the honest peers'). */
  readonly errors: unknown[] = []

  constructor(
    readonly setup: HostileSetup,
    readonly hub: SimHub
  ) {}

  get index(): number {
    return this.setup.index
  }

  start(): void {
    const { keyPair } = this.setup
    this.#membership = this.hub.registerRemote({
      publicKey: keyPair.publicKey,
      open: (initiator, remotePublicKey) => this.#open(initiator, remotePublicKey)
    })
    for (const topic of this.setup.topics) {
      this.#membership.join(topic, { announce: true, lookup: true })
    }
  }

  /** Runs `steps` operations of every live puppet, one after the other. */
  async act(steps: number): Promise<void> {
    for (let i = 0; i < steps; i++) {
      for (const attack of [...this.#attacks]) await attack.puppet.step()
    }
  }

  /** Every puppet of the run, for the checks (a forger's or stranger's must learn nothing). */
  attacks(): Attack[] {
    return [...this.#all]
  }

  async stop(): Promise<void> {
    for (const attack of this.#attacks) attack.puppet.stop()
    await this.#membership?.unregister()
    this.#membership = null
  }

  #open(initiator: boolean, remotePublicKey: Buffer): LinkEnd {
    const stream: Connection = new NoiseSecretStream(initiator, null, {
      keyPair: this.setup.keyPair
    })
    stream.on('error', () => {})
    const link = this.#links++
    const attacks: Attack[] = []
    stream.opened.then(
      (opened) => {
        if (!opened || stream.destroyed) return
        const protocol = Hypercore.createProtocolStream(stream)
        this.setup.sets.forEach((set, i) => {
          const rng = Rng.derive(this.setup.seed, this.index, link, set)
          const key = this.setup.setKeys[set]!
          const puppet = new Puppet({
            stream: protocol,
            rng,
            mode: this.setup.modes[i]!,
            key,
            xKeys: () => [],
            foreignKeys: () => [],
            replay: this.#replay,
            reattach: () => {}
          })
          const attack = {
            remote: remotePublicKey.toString('hex'),
            set,
            mode: this.setup.modes[i]!,
            puppet
          }
          attacks.push(attack)
          this.#all.push(attack)
          this.#attacks.add(attack)
          puppet.start()
        })
      },
      () => {}
    )
    stream.once('close', () => {
      for (const attack of attacks) this.#attacks.delete(attack)
    })
    return {
      raw: stream.rawStream,
      onClose: (listener) => {
        if (stream.destroyed) queueMicrotask(listener)
        else stream.once('close', listener)
      },
      destroy: () => stream.destroy(),
      queued: () => queuedIn(stream)
    }
  }
}
