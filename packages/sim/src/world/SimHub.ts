/**
 * The simulated network: an `InProcessHub` (so the real `InProcessNetworker`
 * runs on it) whose links go through pipes we control. A link can be cut by
 * a partition (and made again when it heals), slowed, or made non-reading in
 * one direction. A member is an in-process networker (`register`) or a peer
 * in a child process reached over a socket (`registerRemote`, SocketEnd.ts).
 */
import { type HubEndpoint, type HubMembership, InProcessHub } from '@multifeed/networker'
import { Link } from './Link.js'
import type { EndMaker, LinkEnd } from './LinkEnd.js'
import { localEnd } from './LocalEnd.js'

export type { EndMaker, LinkEnd }

interface Member {
  readonly id: number
  readonly peer: number
  readonly maker: EndMaker
  readonly topics: Map<string, { announce: boolean; lookup: boolean }>
  registered: boolean
}

export class SimHub extends InProcessHub {
  /**
   * Most links a member makes itself on a topic (others may still link to
   * it, as a swarm's server side accepts). 0: every pair sharing a topic is
   * linked, as `InProcessHub` does. A member that loses a link makes a new
   * one, as a swarm's lookups would.
   */
  readonly degree: number
  #nextId = 0
  readonly #members = new Set<Member>()
  readonly #links = new Map<string, Link>()
  /** Peer index of each public key (hex), set by the world before a networker registers. */
  readonly #peerOf = new Map<string, number>()
  /** While partitioned: the side of each peer (peers not listed are on side 0). */
  #side: Set<number> | null = null
  /** Called with every new link. */
  onLink: ((link: Link) => void) | null = null

  override get connections(): number {
    return this.#links.size
  }

  constructor(options: { degree?: number } = {}) {
    super()
    this.degree = options.degree ?? 0
  }

  /** Tells the hub which peer a public key belongs to. */
  name(publicKey: Buffer, peer: number): void {
    this.#peerOf.set(publicKey.toString('hex'), peer)
  }

  override register(endpoint: HubEndpoint): HubMembership {
    return this.registerRemote(localMaker(endpoint))
  }

  /** Registers a member whose ends the maker builds (an in-process endpoint or a child's socket). */
  registerRemote(maker: EndMaker): HubMembership {
    const peer = this.#peerOf.get(maker.publicKey.toString('hex')) ?? -1
    const member: Member = { id: this.#nextId++, peer, maker, topics: new Map(), registered: true }
    this.#members.add(member)
    return {
      join: (topic, options) => this.#join(member, topic, options),
      leave: (topic) => {
        member.topics.delete(topic.toString('hex'))
      },
      unregister: () => this.#unregister(member)
    }
  }

  /** Every live link. */
  links(): Link[] {
    return [...this.#links.values()]
  }

  /** The live link between two peers, if any. */
  linkOf(a: number, b: number): Link | null {
    for (const link of this.#links.values()) {
      if ((link.a === a && link.b === b) || (link.a === b && link.b === a)) return link
    }
    return null
  }

  /** Cuts every link between `side` and the rest; no new one is made across until `heal()`. */
  partition(side: Iterable<number>): void {
    this.#side = new Set(side)
    for (const link of [...this.#links.values()]) {
      if (!this.#reachable(link.a, link.b)) link.destroy()
    }
  }

  /** Ends the partition: members that share a topic are linked again. */
  heal(): void {
    this.#side = null
    for (const member of this.#members) {
      for (const [id, options] of member.topics) this.#match(member, id, options)
    }
  }

  get partitioned(): boolean {
    return this.#side !== null
  }

  #reachable(a: number, b: number): boolean {
    return this.#side === null || this.#side.has(a) === this.#side.has(b)
  }

  #join(member: Member, topic: Buffer, options: { announce: boolean; lookup: boolean }): void {
    if (!member.registered) return
    const id = topic.toString('hex')
    member.topics.set(id, options)
    this.#match(member, id, options)
  }

  #match(member: Member, id: string, options: { announce: boolean; lookup: boolean }): void {
    const candidates = [...this.#members]
      .filter((other) => other !== member && other.registered && other.topics.has(id))
      .sort((x, y) => spread(member, x) - spread(member, y))
    for (const other of candidates) {
      if (this.degree > 0 && this.#linksOf(member) >= this.degree) break
      const theirs = other.topics.get(id)!
      if (options.lookup && theirs.announce) this.#link(member, other)
      else if (theirs.lookup && options.announce) this.#link(other, member)
    }
  }

  #linksOf(member: Member): number {
    let n = 0
    for (const key of this.#links.keys()) {
      const [x, y] = key.split(':').map(Number)
      if (x === member.id || y === member.id) n++
    }
    return n
  }

  /** After a link closed: members below their degree link again (not across a partition). */
  #topUp(): void {
    if (this.degree === 0) return
    for (const member of this.#members) {
      if (!member.registered || this.#linksOf(member) >= this.degree) continue
      for (const [id, options] of member.topics) this.#match(member, id, options)
    }
  }

  /** Links two members; false when they are linked already or a partition is between them. */
  #link(client: Member, server: Member): boolean {
    const key = client.id < server.id ? `${client.id}:${server.id}` : `${server.id}:${client.id}`
    if (this.#links.has(key) || !this.#reachable(client.peer, server.peer)) return false
    const a = client.maker.open(true, server.maker.publicKey)
    const b = server.maker.open(false, client.maker.publicKey)
    const link = new Link(client.peer, server.peer, a, b)
    this.#links.set(key, link)
    this.onLink?.(link)
    link.onClose(() => {
      if (this.#links.get(key) === link) this.#links.delete(key)
      queueMicrotask(() => this.#topUp())
    })
    return true
  }

  async #unregister(member: Member): Promise<void> {
    if (!member.registered) return
    member.registered = false
    member.topics.clear()
    this.#members.delete(member)
    const closing: Promise<void>[] = []
    for (const [key, link] of this.#links) {
      const [x, y] = key.split(':').map(Number)
      if (x !== member.id && y !== member.id) continue
      closing.push(link.closed)
      link.destroy()
    }
    await Promise.all(closing)
  }
}

/** A deterministic order of the others for each member (so that links spread over the mesh). */
function spread(member: Member, other: Member): number {
  return Math.imul((member.peer + 1) * 0x9e3779b1 + (other.peer + 1), 0x85ebca6b) >>> 0
}

/** Ends for an in-process networker: a NoiseSecretStream over an in-memory raw stream. */
function localMaker(endpoint: HubEndpoint): EndMaker {
  return {
    publicKey: endpoint.keyPair.publicKey,
    open(initiator, remotePublicKey) {
      return localEnd(endpoint, initiator, remotePublicKey)
    }
  }
}
