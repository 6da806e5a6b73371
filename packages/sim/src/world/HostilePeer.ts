/**
 * A hostile member: on every link the hub gives it, one fuzzer puppet per
 * set it attacks (`@multifeed/core/fuzz`), in that set's role (keyholder,
 * forger or stranger). A `hostile` event runs a number of the puppets'
 * seeded operations: bent and flooded messages, offers, channel re-opens.
 * It holds no corestore: cores honest peers open to it go unanswered. Its
 * links come from the hub, or from a Hyperswarm on the loopback testnet.
 */
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { type Mode, Puppet, type Replayable, Rng } from '@multifeed/core/fuzz'
import type { NoiseSecretStream as Connection, Hyperswarm } from '@multifeed/holepunch-types'
import type { HubMembership, SwarmKeyPair } from '@multifeed/networker'
import Hypercore from 'hypercore'
import { noiseEnd } from './LocalEnd.js'
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
  #swarm: Hyperswarm | null = null
  readonly #connections: Array<{ remote: string; stream: Connection }> = []
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

  /** Joins its topics: on the hub, or on `swarm` (the loopback testnet). */
  start(swarm: Hyperswarm | null = null): void {
    const { keyPair } = this.setup
    if (swarm !== null) {
      this.#swarm = swarm
      swarm.on('connection', (conn: Connection) => {
        this.#attach(conn, conn.remotePublicKey ?? Buffer.alloc(32))
      })
      for (const topic of this.setup.topics) swarm.join(topic, { server: true, client: true })
      return
    }
    this.#membership = this.hub.registerRemote({
      publicKey: keyPair.publicKey,
      open: (initiator, remotePublicKey) => this.#open(initiator, remotePublicKey)
    })
    for (const topic of this.setup.topics) {
      this.#membership.join(topic, { announce: true, lookup: true })
    }
  }

  /** Per connection: the honest remote's key, bytes it sent us and bytes we sent it (wire). */
  traffic(): Array<{ remote: string; sent: number; received: number }> {
    return this.#connections.map((c) => ({
      remote: c.remote,
      sent: c.stream.rawBytesRead,
      received: c.stream.rawBytesWritten
    }))
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
    await this.#swarm?.destroy()
    this.#swarm = null
  }

  #open(initiator: boolean, remotePublicKey: Buffer): LinkEnd {
    const stream: Connection = new NoiseSecretStream(initiator, null, {
      keyPair: this.setup.keyPair
    })
    this.#attach(stream, remotePublicKey)
    return noiseEnd(stream)
  }

  /** Puts a puppet for each attacked set on a new connection, once its handshake is done. */
  #attach(stream: Connection, remotePublicKey: Buffer): void {
    stream.on('error', () => {})
    const remote = remotePublicKey.toString('hex')
    this.#connections.push({ remote, stream })
    const link = this.#links++
    const attacks: Attack[] = []
    stream.opened.then(
      (opened) => {
        if (!opened || stream.destroyed) return
        const protocol = Hypercore.createProtocolStream(stream)
        this.setup.sets.forEach((set, i) => {
          const mode = this.setup.modes[i]!
          const puppet = new Puppet({
            stream: protocol,
            rng: Rng.derive(this.setup.seed, this.index, link, set),
            mode,
            key: this.setup.setKeys[set]!,
            xKeys: () => [],
            foreignKeys: () => [],
            replay: this.#replay,
            reattach: () => {}
          })
          const attack = { remote, set, mode, puppet }
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
  }
}
