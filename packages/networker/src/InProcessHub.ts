import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'
import type { SwarmKeyPair } from './NetworkerInterface.js'

/** What a networker registers with a hub. */
export interface HubEndpoint {
  /** Its identity: streams are encrypted with it, and the remote sees its public key. */
  readonly keyPair: SwarmKeyPair
  /** Called with our end of every new link, at once (before the Noise handshake completes). */
  onConnection(stream: Connection, remotePublicKey: Buffer): void
}

/** An endpoint's membership of a hub. */
export interface HubMembership {
  /** Announce and/or look up `topic`; links to matching members are made before this returns. */
  join(topic: Buffer, options: TopicOptions): void
  /** Stop announcing and looking up `topic` (live links stay, as with Hyperswarm). */
  leave(topic: Buffer): void
  /** Leave every topic and destroy every link of this endpoint. Resolves when they closed. */
  unregister(): Promise<void>
}

/** How a member takes part in a topic. */
export interface TopicOptions {
  announce: boolean
  lookup: boolean
}

/** A member of a hub, as a subclass's hooks see it. */
export interface HubMember {
  /** Its number, in the order members registered. */
  readonly id: number
  readonly publicKey: Buffer
  /** The endpoint it registered with (`register()`), or null (a subclass's `enroll()`). */
  readonly endpoint: HubEndpoint | null
  /** The topics it joined (hex) and how. */
  readonly topics: ReadonlyMap<string, TopicOptions>
  readonly registered: boolean
}

/** A link between two members, as `connect()` makes it. */
export interface HubLink {
  /** Calls `listener` once, when the link is gone (at once if it is). */
  onClose(listener: () => void): void
  /** Resolves once both ends are closed. */
  readonly closed: Promise<void>
  destroy(): void
}

interface Member extends HubMember {
  readonly topics: Map<string, TopicOptions>
  registered: boolean
}

interface Entry<L> {
  readonly link: L
  readonly client: Member
  readonly server: Member
}

/**
 * The meeting place of in-process networkers: a topic registry that links
 * two members with a pair of replication streams (NoiseSecretStreams over an
 * in-memory duplex) as soon as one looks up a topic the other announces.
 * One link per pair of members, whatever the number of topics they share.
 *
 * The bookkeeping (members, topics, one link per pair, unregistering) is
 * here; a subclass decides whom a member meets (`match()`), what a link is
 * made of (`connect()`, of its own link type `L`) and what follows a link's
 * end (`unlinked()`), as the mesh simulator's hub does (degree, partitions,
 * links through pipes it controls).
 */
export class InProcessHub<L extends HubLink = HubLink> {
  /** The hub networkers use when none is given. */
  static readonly default = new InProcessHub()

  #nextId = 0
  readonly #members = new Set<Member>()
  readonly #links = new Map<string, Entry<L>>()

  /** Number of live links (connections) between members. */
  get connections(): number {
    return this.#links.size
  }

  register(endpoint: HubEndpoint): HubMembership {
    return this.enroll(endpoint.keyPair.publicKey, endpoint).membership
  }

  /** Every live link, in the order they were made. */
  links(): L[] {
    return [...this.#links.values()].map((entry) => entry.link)
  }

  /**
   * Adds a member (`register()` does, with its endpoint; a subclass may
   * enroll members whose links its own `connect()` makes).
   */
  protected enroll(
    publicKey: Buffer,
    endpoint: HubEndpoint | null
  ): { member: HubMember; membership: HubMembership } {
    const member: Member = {
      id: this.#nextId++,
      publicKey,
      endpoint,
      topics: new Map(),
      registered: true
    }
    this.#members.add(member)
    const membership: HubMembership = {
      join: (topic, options) => {
        if (!member.registered) return
        const id = topic.toString('hex')
        member.topics.set(id, options)
        this.match(member, id, options)
      },
      leave: (topic) => {
        member.topics.delete(topic.toString('hex'))
      },
      unregister: () => this.#unregister(member)
    }
    return { member, membership }
  }

  /** The registered members, in the order they registered. */
  protected members(): Iterable<HubMember> {
    return this.#members
  }

  /** Number of live links of `member`. */
  protected linkCount(member: HubMember): number {
    let n = 0
    for (const entry of this.#links.values()) {
      if (entry.client === member || entry.server === member) n++
    }
    return n
  }

  /**
   * The matching hook: `member` joined `topic` (hex) with `options`, or a
   * subclass asks again (a partition healed). By default it meets every
   * other member of the topic.
   */
  protected match(member: HubMember, topic: string, options: TopicOptions): void {
    for (const other of this.#members) {
      if (other === member) continue
      const theirs = other.topics.get(topic)
      if (theirs !== undefined) this.meet(member, options, other, theirs)
    }
  }

  /**
   * Links two members of a topic, the one that looks up as the client of
   * the one that announces; false when neither does, when they are linked
   * already, or when `connect()` made no link.
   */
  protected meet(
    member: HubMember,
    options: TopicOptions,
    other: HubMember,
    theirs: TopicOptions
  ): boolean {
    if (options.lookup && theirs.announce) return this.#link(member as Member, other as Member)
    if (theirs.lookup && options.announce) return this.#link(other as Member, member as Member)
    return false
  }

  /**
   * Makes a link between two members, or null for none. By default: a pair
   * of NoiseSecretStreams over an in-memory pipe, each handed to its
   * member's endpoint. A subclass with its own link type `L` overrides it.
   */
  protected connect(client: HubMember, server: HubMember): L | null {
    if (client.endpoint === null || server.endpoint === null) return null
    return streamPair(client.endpoint, server.endpoint) as L
  }

  /** A new link is live (after it is counted, before anything of its end). */
  protected linked(_link: L): void {}

  /** A link between two members ended (it is no longer counted). */
  protected unlinked(_client: HubMember, _server: HubMember): void {}

  #link(client: Member, server: Member): boolean {
    const key = client.id < server.id ? `${client.id}:${server.id}` : `${server.id}:${client.id}`
    if (this.#links.has(key)) return false
    const link = this.connect(client, server)
    if (link === null) return false
    const entry: Entry<L> = { link, client, server }
    this.#links.set(key, entry)
    this.linked(link)
    link.onClose(() => {
      if (this.#links.get(key) === entry) this.#links.delete(key)
      this.unlinked(client, server)
    })
    return true
  }

  async #unregister(member: Member): Promise<void> {
    if (!member.registered) return
    member.registered = false
    member.topics.clear()
    this.#members.delete(member)
    const closing: Promise<void>[] = []
    for (const { link, client, server } of this.#links.values()) {
      if (client !== member && server !== member) continue
      closing.push(link.closed)
      link.destroy()
    }
    await Promise.all(closing)
  }
}

/** Two NoiseSecretStreams over an in-memory pipe, each handed to its endpoint at once. */
function streamPair(client: HubEndpoint, server: HubEndpoint): HubLink {
  const initiator: Connection = new NoiseSecretStream(true, null, { keyPair: client.keyPair })
  const responder: Connection = new NoiseSecretStream(false, null, { keyPair: server.keyPair })
  initiator.rawStream.pipe(responder.rawStream).pipe(initiator.rawStream)
  const listeners: Array<() => void> = []
  let gone = false
  const onclose = (): void => {
    // One end gone: the other goes too (a pipe does not always carry a destroy across).
    initiator.destroy()
    responder.destroy()
    if (gone) return
    gone = true
    for (const listener of listeners.splice(0)) listener()
  }
  initiator.once('close', onclose)
  responder.once('close', onclose)
  const closed = Promise.all(
    [initiator, responder].map(
      (stream) => new Promise<void>((resolve) => stream.once('close', () => resolve()))
    )
  ).then(() => {})
  client.onConnection(initiator, server.keyPair.publicKey)
  server.onConnection(responder, client.keyPair.publicKey)
  return {
    onClose: (listener) => {
      if (gone) listener()
      else listeners.push(listener)
    },
    closed,
    destroy: () => {
      initiator.destroy()
      responder.destroy()
    }
  }
}
