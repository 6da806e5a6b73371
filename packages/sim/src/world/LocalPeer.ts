/**
 * An honest peer in this process: a corestore on its own directory, a
 * networker (the real `InProcessNetworker` on the simulated hub, or the
 * Hyperswarm `Networker` on the loopback testnet) and its sets (Replica).
 * Stopped and started again from the same storage.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { IdentityKeyPair } from '@multifeed/core'
import type { Corestore as Store } from '@multifeed/holepunch-types'
import type { NetworkerBase, SwarmKeyPair } from '@multifeed/networker'
import { corestoreAt, tmpRoot } from '@multifeed/testing'
import type { HonestMember } from './Member.js'
import type { Acted, ActOutcome, ModerationAct } from './Moderated.js'
import { Replica, type SetAccess } from './Replica.js'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

export interface PeerSetup {
  index: number
  keyPair: SwarmKeyPair
  primaryKey: Buffer
  /** How to open each set: its key, or its invite (moderated runs). */
  access: SetAccess[]
  /** Moderated runs: the peer's identity (every set alike). */
  identity: IdentityKeyPair | null
  sets: number[]
  /** Per set, the feeds (hex) its members removed so far: refused at every start. */
  removed(): Record<number, string[]>
}

/** Makes a peer's networker: the in-process one on the hub, or the Hyperswarm one on the testnet. */
export type NetworkerFactory = (store: Store, keyPair: SwarmKeyPair) => NetworkerBase

export class LocalPeer implements HonestMember {
  onPeerError: ((report: PeerErrorReport) => void) | null = null
  onActed: ((acted: Acted) => void) | null = null
  #dir: string | null = null
  #replica: Replica | null = null

  constructor(
    readonly setup: PeerSetup,
    readonly makeNetworker: NetworkerFactory
  ) {}

  get index(): number {
    return this.setup.index
  }

  get publicKey(): Buffer {
    return this.setup.keyPair.publicKey
  }

  get online(): boolean {
    return this.#replica !== null
  }

  async start(): Promise<void> {
    if (this.#replica !== null) return
    this.#dir ??= await mkdtemp(join(tmpRoot(), `multifeed-sim-${this.index}-`))
    const store = corestoreAt(this.#dir, { primaryKey: this.setup.primaryKey, unsafe: true })
    await store.ready()
    const networker = this.makeNetworker(store, this.setup.keyPair)
    const replica = new Replica(
      this.index,
      store,
      networker,
      (r) => this.onPeerError?.(r),
      this.setup.identity,
      (acted) => this.onActed?.(acted)
    )
    this.#replica = replica
    await replica.open(this.setup.access, this.setup.sets, this.setup.removed())
  }

  async stop(): Promise<void> {
    const replica = this.#replica
    this.#replica = null
    await replica?.close()
  }

  /** In process there is nothing to kill: the same as a stop. */
  crash(): Promise<void> {
    return this.stop()
  }

  append(set: number, count: number): Promise<{ key: string; length: number }> {
    if (this.#replica === null) throw new Error(`peer ${this.index} is offline`)
    return this.#replica.append(set, count)
  }

  /** The live replica (null while offline): the wire watch asks its moderation synchronously. */
  get replica(): Replica | null {
    return this.#replica
  }

  spam(set: number, writers: number, count: number) {
    if (this.#replica === null) throw new Error(`peer ${this.index} is offline`)
    return this.#replica.spam(set, writers, count)
  }

  async moderate(set: number, act: ModerationAct): Promise<ActOutcome> {
    if (this.#replica === null) return 'nothing'
    return this.#replica.moderate(set, act)
  }

  async authority(set: number, action: 'grant' | 'revoke', identity: Buffer): Promise<ActOutcome> {
    if (this.#replica === null) return 'nothing'
    return this.#replica.authority(set, action, identity)
  }

  async remove(set: number, key: string): Promise<void> {
    await this.#replica?.remove(set, key)
  }

  async snapshot(ask: string[]): Promise<PeerSnapshot> {
    if (this.#replica === null) {
      return { index: this.index, online: false, sets: {}, stored: [], received: {} }
    }
    return this.#replica.snapshot(ask)
  }

  async destroy(): Promise<void> {
    await this.stop()
    if (this.#dir !== null) await rm(this.#dir, { recursive: true, force: true, maxRetries: 3 })
  }
}
