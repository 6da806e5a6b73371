/**
 * The mesh of one run: the hub, every peer the schedule names (honest in
 * process, honest in a child process, hostile), and what happened on the
 * links. Applies one event at a time; the runner decides when, and the
 * checkers read what observe.ts gathers from it.
 */
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { InProcessNetworker, Networker } from '@multifeed/networker'
import { createTestnet, type TestDHT } from '@multifeed/testing'
import crypto from 'hypercore-crypto'
import { Ledger } from '../ledger.js'
import type { SimOptions } from '../options.js'
import type { PeerPlan, Schedule, SimEvent } from '../schedule.js'
import type { RunAccess } from './access.js'
import { ChildPeer } from './ChildPeer.js'
import { HostilePeer } from './HostilePeer.js'
import type { Link } from './Link.js'
import { LocalPeer } from './LocalPeer.js'
import type { HonestMember } from './Member.js'
import type { Acted, ActOutcome } from './Moderated.js'
import { hostileTraffic } from './observe.js'
import { SimHub } from './SimHub.js'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'
import { WireWatch } from './WireWatch.js'

/** Moderated runs: what the moderation events did (the summary's figures). */
export interface ModerationTally {
  /** Records signed, by act. */
  signed: Record<'grant' | 'revoke' | 'block' | 'unblock', number>
  /** Acts with nothing to sign (already so, or no feed to name; or the peer was away). */
  nothing: number
  /** Acts refused for want of authority (a moderator revoked, as it saw itself). */
  refused: number
  /** Spam feeds written, and writers refused or cut by a block of the spammer's identity. */
  spamFeeds: number
  spamRefused: number
}

export class World {
  readonly hub: SimHub
  readonly ledger: Ledger
  readonly honest = new Map<number, HonestMember>()
  readonly hostile = new Map<number, HostilePeer>()
  readonly peerErrors: PeerErrorReport[] = []
  /** Every link ever made (pipes keep their counts after close). */
  readonly #links = new Set<Link>()
  readonly #kindOf = new Map<string, PeerPlan['kind']>()
  readonly #dk = new Map<string, string>()
  /** Background work of hostile peers (awaited at the end). */
  readonly #attacks = new Set<Promise<void>>()
  /** The loopback testnet (transport `testnet` only), made by `start()`. */
  #testnet: TestDHT | null = null
  readonly #indexOf = new Map<string, number>()
  /** Per `peer:set`, the most feeds a snapshot saw (largestSet). */
  readonly #largestSet = new Map<string, number>()
  /** The writer key (hex) of `peer:set`, once it appended. */
  readonly #writerKeys = new Map<string, string>()
  /** Moderated runs: what each peer acted on, per `peer:set`. */
  readonly #acted = new Map<string, Acted>()
  /** Moderated runs: blocks of blocked feeds seen crossing links (in-process senders). */
  readonly wire: WireWatch
  readonly tally: ModerationTally = {
    signed: { grant: 0, revoke: 0, block: 0, unblock: 0 },
    nothing: 0,
    refused: 0,
    spamFeeds: 0,
    spamRefused: 0
  }

  constructor(
    readonly schedule: Schedule,
    readonly options: SimOptions,
    readonly access: RunAccess = {
      sets: schedule.setKeys.map((key) => ({ key, invite: null })),
      identities: new Map()
    }
  ) {
    this.hub = new SimHub({ degree: options.degree })
    this.ledger = new Ledger(options.sets)
    this.wire = new WireWatch({
      sets: options.sets,
      acted: (peer, set) => this.#acted.get(`${peer}:${set}`) ?? null,
      blocksNow: (peer, set, key, owner) => {
        const local = this.honest.get(peer)
        if (!(local instanceof LocalPeer)) return false
        return local.replica?.moderation(set)?.blocksNow(key, owner) ?? false
      }
    })
    const setKeys = access.sets.map((a) => a.key)
    const seed = Buffer.alloc(32)
    for (const plan of schedule.peers) {
      seed.writeUInt32BE(schedule.seed, 0)
      seed.writeUInt32BE(plan.index, 4)
      const keyPair = NoiseSecretStream.keyPair(crypto.hash(seed))
      this.hub.name(keyPair.publicKey, plan.index)
      this.#indexOf.set(keyPair.publicKey.toString('hex'), plan.index)
      this.#kindOf.set(keyPair.publicKey.toString('hex'), plan.kind)
      if (plan.kind === 'hostile') {
        this.hostile.set(
          plan.index,
          new HostilePeer(
            {
              index: plan.index,
              keyPair,
              seed: schedule.seed,
              setKeys,
              sets: plan.sets,
              modes: plan.modes,
              topics: plan.sets.map((s) => crypto.discoveryKey(setKeys[s]!))
            },
            this.hub
          )
        )
        continue
      }
      seed.writeUInt32BE(0xffffffff, 8)
      const setup = {
        index: plan.index,
        keyPair,
        primaryKey: crypto.hash(seed),
        access: access.sets,
        identity: access.identities.get(plan.index) ?? null,
        sets: plan.sets,
        removed: () => this.#removed()
      }
      const peer: HonestMember =
        plan.kind === 'child'
          ? new ChildPeer(setup, this.hub, () => this.#testnet?.bootstrap ?? null)
          : new LocalPeer(setup, (store, keyPair) =>
              this.#testnet === null
                ? new InProcessNetworker(store, { hub: this.hub, keyPair })
                : new Networker(store, { dht: this.#testnet.createNode(), keyPair })
            )
      peer.onPeerError = (report) => this.peerErrors.push(report)
      peer.onActed = (acted) => this.#acted.set(`${acted.peer}:${acted.set}`, acted)
      this.honest.set(plan.index, peer)
    }
    this.hub.onLink = (link) => this.#links.add(link)
    if (schedule.moderation !== null) {
      this.hub.onStream = (peer, remote, end) => {
        if (this.honest.get(peer) instanceof LocalPeer) this.wire.attach(peer, remote, end)
      }
    }
  }

  /** Moderated runs: the identity (public key) of an honest peer. */
  identityOf(peer: number): Buffer {
    const identity = this.access.identities.get(peer)
    if (identity === undefined) throw new Error(`peer ${peer} has no identity`)
    return identity.publicKey
  }

  /** The set key of a set (a moderated set's is derived from its founder and secret). */
  setKey(set: number): Buffer {
    return this.access.sets[set]!.key
  }

  #count(outcome: ActOutcome, act: keyof ModerationTally['signed']): void {
    if (outcome === 'signed') this.tally.signed[act]++
    else if (outcome === 'refused') this.tally.refused++
    else this.tally.nothing++
  }

  plan(peer: number): PeerPlan {
    return this.schedule.peers[peer]!
  }

  isMember(peer: number, set: number): boolean {
    const plan = this.plan(peer)
    // plan.kind 'spammer' is a member: honest code, the key (invite) of every set.
    return plan.kind !== 'hostile' && plan.sets.includes(set)
  }

  /** Honest members of a set. */
  members(set: number): number[] {
    return this.schedule.peers
      .filter((p) => p.kind !== 'hostile' && p.sets.includes(set))
      .map((p) => p.index)
  }

  isHonestKey(publicKey: string | null): boolean {
    if (publicKey === null) return false
    const kind = this.#kindOf.get(publicKey)
    return kind === 'honest' || kind === 'child' || kind === 'spammer'
  }

  discoveryKeyOf(key: string): string {
    let dk = this.#dk.get(key)
    if (dk === undefined) {
      dk = crypto.discoveryKey(Buffer.from(key, 'hex')).toString('hex')
      this.#dk.set(key, dk)
    }
    return dk
  }

  /** True over the loopback testnet: link events (partition, slow, stall) do not apply. */
  get overTestnet(): boolean {
    return this.options.transport === 'testnet'
  }

  async start(): Promise<void> {
    if (this.overTestnet) this.#testnet = await createTestnet()
    for (const plan of this.schedule.peers) {
      if (!plan.online) continue
      if (plan.kind !== 'hostile') await this.honest.get(plan.index)!.start()
      else {
        const keyPair = this.hostile.get(plan.index)!.setup.keyPair
        const swarm = this.#testnet?.createSwarm({ keyPair }) ?? null
        this.hostile.get(plan.index)!.start(swarm)
      }
    }
  }

  async apply(event: SimEvent): Promise<void> {
    switch (event.kind) {
      case 'append': {
        const peer = this.honest.get(event.peer)!
        if (!peer.online) return
        const { key, length } = await peer.append(event.set, event.count)
        this.#writerKeys.set(`${event.peer}:${event.set}`, key)
        this.ledger.wrote(event.set, key, length, event.count)
        return
      }
      case 'remove': {
        const key = this.#writerKeys.get(`${event.peer}:${event.set}`)
        if (key === undefined) return
        this.ledger.removed(event.set, key)
        for (const member of this.members(event.set)) {
          await this.honest.get(member)!.remove(event.set, key)
        }
        return
      }
      case 'spam': {
        const peer = this.honest.get(event.peer)!
        if (!peer.online) return
        const { feeds, refused } = await peer.spam(event.set, event.writers, event.count)
        for (const f of feeds) this.ledger.spammed(event.set, f.key, f.length)
        this.tally.spamFeeds += feeds.length
        this.tally.spamRefused += refused
        return
      }
      case 'moderate': {
        const spam = [...this.ledger.spam(event.set).keys()]
        const latestFeed = spam.length === 0 ? null : Buffer.from(spam[spam.length - 1]!, 'hex')
        const spammer = this.identityOf(this.schedule.moderation!.spammer)
        const { action, target } = event
        const peer = this.honest.get(event.peer)!
        const outcome = await peer.moderate(event.set, { action, target, spammer, latestFeed })
        this.#count(outcome, event.action)
        return
      }
      case 'authority': {
        const peer = this.honest.get(event.peer)!
        const outcome = await peer.authority(
          event.set,
          event.action,
          this.identityOf(event.moderator)
        )
        this.#count(outcome, event.action)
        return
      }
      case 'join':
        return this.honest.get(event.peer)!.start()
      case 'leave':
        return this.honest.get(event.peer)!.stop()
      case 'crash':
        return this.honest.get(event.peer)!.crash()
      case 'partition':
        return this.hub.partition(event.side)
      case 'heal':
        return this.hub.heal()
      case 'slow': {
        const link = this.hub.linkOf(event.a, event.b)
        if (link !== null) link.ab.delay = link.ba.delay = event.ms
        return
      }
      case 'stall':
      case 'unstall': {
        const link = this.hub.linkOf(event.from, event.to)
        if (link !== null) link.from(event.from).reading = event.kind === 'unstall'
        return
      }
      case 'hostile': {
        const attack = this.hostile.get(event.peer)!.act(event.steps)
        this.#attacks.add(attack)
        attack.finally(() => this.#attacks.delete(attack)).catch(() => {})
      }
    }
  }

  #removed(): Record<number, string[]> {
    const out: Record<number, string[]> = {}
    for (let set = 0; set < this.ledger.sets; set++) out[set] = [...this.ledger.removedFrom(set)]
    return out
  }

  /** Ends every disturbance: links healed and reading, hostile peers gone, every honest peer up. */
  async quiet(
    bounded: <T>(action: Promise<T>, what: string) => Promise<T> = (action) => action
  ): Promise<void> {
    await bounded(Promise.allSettled([...this.#attacks]), 'the attacks under way ending')
    for (const peer of this.hostile.values()) await peer.stop()
    this.hub.heal()
    for (const link of this.hub.links()) {
      link.ab.reading = link.ba.reading = true
      link.ab.delay = link.ba.delay = 0
    }
    // One start at a time, each an honest action of its own (bounded alone).
    for (const peer of this.honest.values()) {
      await bounded(peer.start(), `peer ${peer.index} starting for the quiet`)
    }
  }

  /** Snapshots of every honest peer; `ask`: whether they store the cores of sets they are not in. */
  async snapshots(): Promise<PeerSnapshot[]> {
    const snaps = await Promise.all(
      [...this.honest.values()].map((peer) => {
        const ask: string[] = []
        for (let set = 0; set < this.ledger.sets; set++) {
          // Moderated runs: whether the spammer's feeds are stored (a blocked one must not be).
          for (const key of this.ledger.spam(set).keys()) ask.push(this.discoveryKeyOf(key))
          if (this.isMember(peer.index, set)) continue
          for (const key of this.ledger.feeds(set).keys()) ask.push(this.discoveryKeyOf(key))
        }
        return peer.snapshot(ask)
      })
    )
    for (const snap of snaps) {
      for (const [set, feeds] of Object.entries(snap.sets)) {
        const id = `${snap.index}:${set}`
        this.#largestSet.set(id, Math.max(this.#largestSet.get(id) ?? 0, feeds.length))
      }
    }
    return snaps
  }

  /**
   * The most feeds an honest peer's `set` held in any snapshot so far (its
   * `feeds()`, what it announces; feeds hostile key holders offered count):
   * at least what its opens announced between two snapshots, sets growing.
   */
  largestSet(peer: number, set: number): number {
    return this.#largestSet.get(`${peer}:${set}`) ?? 0
  }

  /** Every link made so far, live or closed (pipes keep their counts). */
  allLinks(): ReadonlySet<Link> {
    return this.#links
  }

  /** The peer index of a public key (hex). */
  indexOf(publicKey: string): number | undefined {
    return this.#indexOf.get(publicKey)
  }

  /** Bytes carried by every link so far (in-process links; over the testnet: hostile links only). */
  bytes(): number {
    if (this.overTestnet) {
      return hostileTraffic(this).reduce((sum, t) => sum + t.sent + t.received, 0)
    }
    let sum = 0
    for (const link of this.#links) sum += link.ab.bytes + link.ba.bytes
    return sum
  }

  async destroy(): Promise<void> {
    for (const peer of this.hostile.values()) await peer.stop()
    for (const peer of this.honest.values()) await peer.destroy()
    await this.#testnet?.close()
  }
}
