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
  join(topic: Buffer, options: { announce: boolean; lookup: boolean }): void
  /** Stop announcing and looking up `topic` (live links stay, as with Hyperswarm). */
  leave(topic: Buffer): void
  /** Leave every topic and destroy every link of this endpoint. Resolves when they closed. */
  unregister(): Promise<void>
}

interface Member {
  readonly id: number
  readonly endpoint: HubEndpoint
  readonly topics: Map<string, { announce: boolean; lookup: boolean }>
  registered: boolean
}

interface Link {
  readonly key: string
  readonly initiator: Connection
  readonly responder: Connection
}

/**
 * The meeting place of in-process networkers: a topic registry that links
 * two members with a pair of replication streams (NoiseSecretStreams over an
 * in-memory duplex) as soon as one looks up a topic the other announces.
 * One link per pair of members, whatever the number of topics they share.
 */
export class InProcessHub {
  /** The hub networkers use when none is given. */
  static readonly default = new InProcessHub()

  #nextId = 0
  readonly #members = new Set<Member>()
  readonly #links = new Map<string, Link>()

  /** Number of live links (connections) between members. */
  get connections(): number {
    return this.#links.size
  }

  register(endpoint: HubEndpoint): HubMembership {
    const member: Member = { id: this.#nextId++, endpoint, topics: new Map(), registered: true }
    this.#members.add(member)
    return {
      join: (topic, options) => this.#join(member, topic, options),
      leave: (topic) => {
        member.topics.delete(topic.toString('hex'))
      },
      unregister: () => this.#unregister(member)
    }
  }

  #join(member: Member, topic: Buffer, options: { announce: boolean; lookup: boolean }): void {
    if (!member.registered) return
    const id = topic.toString('hex')
    member.topics.set(id, options)
    for (const other of this.#members) {
      if (other === member || !other.registered) continue
      const theirs = other.topics.get(id)
      if (theirs === undefined) continue
      if (options.lookup && theirs.announce) this.#link(member, other)
      else if (theirs.lookup && options.announce) this.#link(other, member)
    }
  }

  #link(client: Member, server: Member): void {
    const key = linkKey(client, server)
    if (this.#links.has(key)) return
    const initiator: Connection = new NoiseSecretStream(true, null, {
      keyPair: client.endpoint.keyPair
    })
    const responder: Connection = new NoiseSecretStream(false, null, {
      keyPair: server.endpoint.keyPair
    })
    initiator.rawStream.pipe(responder.rawStream).pipe(initiator.rawStream)
    const link: Link = { key, initiator, responder }
    this.#links.set(key, link)
    const onclose = (): void => {
      if (this.#links.get(key) === link) this.#links.delete(key)
      // One end gone: the other goes too (a pipe does not always carry a destroy across).
      initiator.destroy()
      responder.destroy()
    }
    initiator.once('close', onclose)
    responder.once('close', onclose)
    client.endpoint.onConnection(initiator, server.endpoint.keyPair.publicKey)
    server.endpoint.onConnection(responder, client.endpoint.keyPair.publicKey)
  }

  async #unregister(member: Member): Promise<void> {
    if (!member.registered) return
    member.registered = false
    member.topics.clear()
    this.#members.delete(member)
    const closing: Promise<void>[] = []
    for (const other of this.#members) {
      const link = this.#links.get(linkKey(member, other))
      if (link === undefined) continue
      for (const stream of [link.initiator, link.responder]) {
        if (stream.destroyed) continue
        closing.push(new Promise((resolve) => stream.once('close', () => resolve())))
        stream.destroy()
      }
    }
    await Promise.all(closing)
  }
}

function linkKey(a: Member, b: Member): string {
  return a.id < b.id ? `${a.id}:${b.id}` : `${b.id}:${a.id}`
}
