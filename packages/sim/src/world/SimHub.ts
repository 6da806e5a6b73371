/**
 * The simulated network: an `InProcessHub` (so the real `InProcessNetworker`
 * runs on it) whose links go through pipes we control. A link can be cut by
 * a partition (and made again when it heals), slowed, or made non-reading in
 * one direction. A member is an in-process networker (`register`) or a peer
 * in a child process reached over a socket (`registerRemote`, SocketEnd.ts).
 */
import {
  type HubEndpoint,
  type HubMember,
  type HubMembership,
  InProcessHub,
  type TopicOptions
} from '@multifeed/networker'
import { Link } from './Link.js'
import type { EndMaker, LinkEnd } from './LinkEnd.js'
import { localEnd } from './LocalEnd.js'

export type { EndMaker, LinkEnd }

/** What the simulator knows of a member: its peer index and how its ends are made. */
interface Ends {
  readonly peer: number
  readonly maker: EndMaker
}

export class SimHub extends InProcessHub<Link> {
  /**
   * Most links a member makes itself on a topic (others may still link to
   * it, as a swarm's server side accepts). 0: every pair sharing a topic is
   * linked, as `InProcessHub` does. A member that loses a link makes a new
   * one, as a swarm's lookups would.
   */
  readonly degree: number
  readonly #ends = new WeakMap<HubMember, Ends>()
  /** Peer index of each public key (hex), set by the world before a networker registers. */
  readonly #peerOf = new Map<string, number>()
  /** While partitioned: the side of each peer (peers not listed are on side 0). */
  #side: Set<number> | null = null
  /** Called with every new link. */
  onLink: ((link: Link) => void) | null = null
  /** Called with each end of a new link whose Noise stream lives in this process. */
  onStream: ((peer: number, remote: number, end: LinkEnd) => void) | null = null

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
    const { member, membership } = this.enroll(maker.publicKey, null)
    this.#ends.set(member, { peer, maker })
    return membership
  }

  /** The live link between two peers, if any. */
  linkOf(a: number, b: number): Link | null {
    for (const link of this.links()) {
      if ((link.a === a && link.b === b) || (link.a === b && link.b === a)) return link
    }
    return null
  }

  /** Cuts every link between `side` and the rest; no new one is made across until `heal()`. */
  partition(side: Iterable<number>): void {
    this.#side = new Set(side)
    for (const link of this.links()) {
      if (!this.#reachable(link.a, link.b)) link.destroy()
    }
  }

  /** Ends the partition: members that share a topic are linked again. */
  heal(): void {
    this.#side = null
    for (const member of this.members()) {
      for (const [id, options] of member.topics) this.match(member, id, options)
    }
  }

  get partitioned(): boolean {
    return this.#side !== null
  }

  #reachable(a: number, b: number): boolean {
    return this.#side === null || this.#side.has(a) === this.#side.has(b)
  }

  /** The others of the topic in a spread order, up to `degree` links of this member. */
  protected override match(member: HubMember, topic: string, options: TopicOptions): void {
    const candidates = [...this.members()]
      .filter((other) => other !== member && other.topics.has(topic))
      .sort((x, y) => this.#spread(member, x) - this.#spread(member, y))
    for (const other of candidates) {
      if (this.degree > 0 && this.linkCount(member) >= this.degree) break
      this.meet(member, options, other, other.topics.get(topic)!)
    }
  }

  /** A link through pipes we control, unless a partition is between them. */
  protected override connect(client: HubMember, server: HubMember): Link | null {
    const c = this.#ends.get(client)!
    const s = this.#ends.get(server)!
    if (!this.#reachable(c.peer, s.peer)) return null
    const a = c.maker.open(true, s.maker.publicKey)
    const b = s.maker.open(false, c.maker.publicKey)
    this.onStream?.(c.peer, s.peer, a)
    this.onStream?.(s.peer, c.peer, b)
    return new Link(c.peer, s.peer, a, b)
  }

  protected override linked(link: Link): void {
    this.onLink?.(link)
  }

  /** After a link closed: members below their degree link again (not across a partition). */
  protected override unlinked(): void {
    queueMicrotask(() => this.#topUp())
  }

  #topUp(): void {
    if (this.degree === 0) return
    for (const member of this.members()) {
      if (this.linkCount(member) >= this.degree) continue
      for (const [id, options] of member.topics) this.match(member, id, options)
    }
  }

  /** A deterministic order of the others for each member (so that links spread over the mesh). */
  #spread(member: HubMember, other: HubMember): number {
    return spread(this.#ends.get(member)!.peer, this.#ends.get(other)!.peer)
  }
}

function spread(member: number, other: number): number {
  return Math.imul((member + 1) * 0x9e3779b1 + (other + 1), 0x85ebca6b) >>> 0
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
