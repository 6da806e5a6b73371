/**
 * The sync with one peer, once its channel is open: what the peer sends,
 * taken in order, and what we send back.
 *
 * - Its open starts the reconciliation (SetExchange); its symbols, list or
 *   DONE conclude it. The responder answers DONE with what the initiator
 *   lacks, and our length 0 of its feeds we do not hold at all, so that both
 *   sides know the difference; then `reconciled` (once).
 * - The elements it names (in DONE or as updates) are learned: new feeds
 *   join the set (the host's policy decides), and the cores of feeds it
 *   holds more of attach in the background (PeerCores).
 * - Once reconciled, our changes go to it as updates (40 bytes a feed).
 * - An encrypted set's channel (minor 4) carries each feed's admission tag
 *   in every Elements message. Coded symbols give the responder the keys of
 *   the initiator's feeds, not their tags: after symbols, a DONE naming a
 *   feed at length 0 without a tag (the responder lacks it: an echo; its
 *   own feeds go tagged) is answered by the initiator with one message
 *   flagged TAGS (those of its feeds, tagged; possibly none), and the
 *   responder admits the feeds it lacked, and is reconciled, on that answer.
 *   Length differences alone cost no extra message.
 *
 * Peer input runs off the Protomux call stack, in order; a fault of the peer
 * goes to the owner (MultifeedPeer), which closes the channel.
 */
import { MalformedMessageError, MultifeedError } from '../errors.js'
import { debug } from '../lifecycle/debug.js'
import {
  decodeElements,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  ELEMENTS_TAGS,
  type Element,
  encodeElements,
  MAX_ELEMENTS_PER_MESSAGE,
  type Open
} from '../protocol/messages.js'
import type { FeedInfo, PeerRef, SyncInfo } from '../types.js'
import type { PeerChannel } from './PeerChannel.js'
import type { PeerCores } from './PeerCores.js'
import type { PeerHost, PeerStats } from './PeerHost.js'
import type { ReplicationStream } from './ReplicationStream.js'
import type { ExchangeOut, SetExchange } from './SetExchange.js'

/** What the sync needs of the peer that owns it. */
export interface SyncOwner {
  /** The peer (what the sync reads of it: its stream's handshake). */
  readonly peer: PeerRef & { readonly replication: ReplicationStream }
  readonly host: PeerHost
  readonly stats: PeerStats
  readonly channel: PeerChannel
  /** What we send, while the stream takes more; `reply`: paid from the connection's reply budget. */
  readonly out: ExchangeOut
  readonly exchange: SetExchange
  readonly cores: PeerCores
  /** False once the peer closed or failed: queued work is dropped. */
  live(): boolean
  /** The peer's fault: report it and close the channel. */
  fail(err: unknown): void
  /** True when our multifeed or corestore is closing (a failure then is ours, not the peer's). */
  closingHere(): boolean
  /** Closes the channel quietly (a local reason). */
  closeQuietly(): void
}

export class PeerSync {
  /** Resolves once the first reconciliation is complete; null if the channel closed before. */
  readonly synced: Promise<SyncInfo | null>
  readonly #owner: SyncOwner
  #resolveSynced: (info: SyncInfo | null) => void = () => {}
  #syncedDone = false
  #reconciled = false
  #added: FeedInfo[] = []
  #queue: Promise<void> = Promise.resolve()
  #flushScheduled = false
  /** What the reconciliation found to differ, for the debug line: responder decoded, initiator told. */
  #difference = ''
  /** Responder, tagged channel: our DONE named length 0 after symbols; the initiator's TAGS is due. */
  #awaitingTags = false
  /** Initiator, tagged channel, symbols: the feeds the responder's DONE echoed (length 0, no tag). */
  #zeroes: Element[] = []
  /** Initiator: the responder's DONE arrived. */
  #doneReceived = false

  constructor(owner: SyncOwner) {
    this.#owner = owner
    this.synced = new Promise((resolve) => {
      this.#resolveSynced = resolve
    })
  }

  /** True once the first reconciliation completed (both sides know the difference). */
  get reconciled(): boolean {
    return this.#reconciled
  }

  /** The remote's open, its capability verified: the sets are compared. */
  opened(remote: Open): void {
    const { peer, host, exchange } = this.#owner
    const noise = peer.replication.noise
    try {
      const shared = host.shared(peer)
      const inSync = exchange.begin(noise.handshakeHash!, noise.isInitiator, shared, remote)
      if (debug.reconcile.enabled) {
        debug.reconcile.log(
          `${peer.label} begins (${exchange.way}, ${noise.isInitiator ? 'initiator' : 'responder'}): we hold ${shared.count} feeds, the peer ${remote.count}`
        )
      }
      if (inSync) this.#finish()
    } catch (err) {
      this.#owner.fail(err)
    }
  }

  symbols(raw: Buffer): void {
    const { peer, host, exchange } = this.#owner
    try {
      const difference = exchange.symbols(raw, () => host.shared(peer).local())
      if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
    } catch (err) {
      this.#owner.fail(err)
    }
  }

  more(raw: Buffer): void {
    try {
      this.#owner.exchange.more(raw)
    } catch (err) {
      this.#owner.fail(err)
    }
  }

  elements(raw: Buffer): void {
    const { peer, host, exchange } = this.#owner
    let message: ReturnType<typeof decodeElements>
    let answerTags = false
    try {
      message = decodeElements(raw, exchange.tagged)
      if (message.flags & (ELEMENTS_LIST | ELEMENTS_LIST_END)) {
        if (message.flags & ELEMENTS_TAGS) throw new MalformedMessageError('Feed list flagged TAGS')
        const difference = exchange.list(message, () => host.shared(peer).feeds)
        if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
        return
      }
      if (message.flags & ELEMENTS_TAGS) {
        if (message.flags & ELEMENTS_DONE) throw new MalformedMessageError('DONE flagged TAGS')
        // The answer to our DONE: the feeds we lacked, with their tags (lenient when not due).
        const due = this.#awaitingTags
        this.#awaitingTags = false
        this.#enqueue(async () => {
          await this.#take(message.elements)
          if (due) this.#finish()
        })
        return
      }
      const initiator = peer.replication.noise.isInitiator
      if (exchange.tagged && exchange.way === 'symbols' && initiator && !this.#doneReceived) {
        // Before DONE, elements from the responder are DONE's (it sends no update until reconciled).
        for (const element of message.elements) {
          if (element.length === 0 && !element.tag) this.#zeroes.push(element)
        }
      }
      if (message.flags & ELEMENTS_DONE) {
        exchange.done()
        this.#doneReceived = true
        answerTags = exchange.tagged && exchange.way === 'symbols' && this.#zeroes.length > 0
        if (debug.reconcile.enabled)
          this.#difference = `the peer named ${message.elements.length} differences`
      }
    } catch (err) {
      this.#owner.fail(err)
      return
    }
    if (answerTags) this.#answerTags()
    this.#enqueue(async () => {
      await this.#take(message.elements)
      if (message.flags & ELEMENTS_DONE) this.#finish()
    })
  }

  /**
   * Initiator: the responder's DONE echoed feeds it lacks after coded
   * symbols (it decoded their keys, not their tags): those of ours, tagged
   * (a feed we hold without one goes without: the peer refuses it), in one
   * TAGS answer (sent even when none is ours: the responder waits for it).
   * A reply, paid from the reply budget.
   */
  #answerTags(): void {
    const { peer, host } = this.#owner
    const tagged: Element[] = []
    for (const { key } of this.#zeroes) {
      const feed = host.feed(key)
      if (feed === undefined || !host.shares(feed, peer)) continue
      tagged.push({ key, length: feed.length, tag: feed.tag })
    }
    this.#zeroes = []
    this.#send(tagged, ELEMENTS_TAGS, tagged.length)
  }

  /**
   * Our set changed: send the updates the cores kept for the peer (once
   * reconciled), when the stream takes them: changes meanwhile wait in the
   * cores (one per feed) and go out together.
   */
  flush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(() => {
      if (!this.#owner.live()) return
      this.#owner.out.queue(() => {
        this.#flushScheduled = false
        if (!this.#owner.live() || !this.#reconciled) return true
        const elements = this.#owner.cores.takeUpdates()
        if (elements.length > 0) this.#send(elements, 0, 0)
        return true
      })
    })
  }

  /** The channel closed: a reconciliation that never ended resolves `synced` with null. */
  close(): void {
    if (this.#syncedDone) return
    this.#syncedDone = true
    this.#resolveSynced(null)
  }

  /** Responder: the difference is known (decoded, or diffed against a list); answers DONE. */
  #conclude(localOnly: Element[], received: Element[]): void {
    const { peer, host, cores } = this.#owner
    // What the initiator lacks (our elements), and our length (0) of its
    // feeds we do not hold at all: both sides then know the difference.
    const lacking = localOnly.filter((e) => {
      const feed = host.feed(e.key)
      return feed !== undefined && host.shares(feed, peer)
    })
    const mine = lacking.length
    if (debug.reconcile.enabled) {
      this.#difference = `decoded ${localOnly.length + received.length} differences (the peer lacks ${mine}, we lack ${received.length})`
    }
    const ours = new Set(localOnly.map((e) => e.key.toString('hex')))
    for (const { key } of received) {
      if (!ours.has(key.toString('hex')) && host.feed(key) === undefined) {
        lacking.push({ key, length: 0 })
      }
    }
    const theirs = new Set(received.map((e) => e.key.toString('hex')))
    for (const { key } of lacking) {
      if (theirs.has(key.toString('hex'))) continue
      const feed = host.feed(key)
      if (feed !== undefined) cores.learnQuietly(feed, -1)
    }
    // Ours are a reply (paid from the budget); the zero lengths echo the remote's own.
    const { exchange } = this.#owner
    // Tags read now: whether an echo (untagged) goes out decides the TAGS answer on both sides.
    const done = exchange.tagged
      ? lacking.map((e) => ({ ...e, tag: host.feed(e.key)?.tag ?? null }))
      : lacking
    this.#send(done, ELEMENTS_DONE, mine)
    const echoes = done.some((e) => e.length === 0 && !e.tag)
    if (exchange.tagged && exchange.way === 'symbols' && echoes) {
      // Decoded keys come without their tags: the new ones join on the initiator's TAGS answer.
      this.#awaitingTags = true
      const held = received.filter(({ key }) => host.feed(key) !== undefined)
      this.#enqueue(() => this.#take(held))
      return
    }
    this.#enqueue(async () => {
      await this.#take(received)
      this.#finish()
    })
  }

  /** Runs peer input in order, off the Protomux call stack (never return it to Protomux). */
  #enqueue(work: () => Promise<void>): void {
    const owner = this.#owner
    this.#queue = this.#queue
      .then(() => (owner.live() ? work() : undefined))
      .catch((err) => {
        // The peer's fault (a limit, a malformed message) closes its channel;
        // ours is not blamed on it: our multifeed or corestore closing under
        // the exchange ends the channel quietly, any other local failure
        // (storage) is reported and the channel lives on (the next
        // reconciliation offers the same feeds again).
        if (owner.closingHere()) owner.closeQuietly()
        else if (err instanceof MultifeedError) owner.fail(err)
        else {
          if (debug.error.enabled) {
            debug.error.log(`${owner.peer.label} failed here: ${(err as Error)?.message ?? err}`)
          }
          owner.host.onLocalError(owner.peer, err)
        }
      })
  }

  /** The peer holds these feeds at these lengths: learn new ones, fetch what we lack. */
  async #take(elements: Element[]): Promise<void> {
    if (elements.length === 0) return
    const { peer, host, cores, stats } = this.#owner
    const added = await host.receive(peer, elements, () => {
      stats.feedsRefused++
    })
    if (!this.#owner.live()) return
    for (const info of added) this.#added.push(info)
    for (const { key, length } of elements) {
      const feed = host.feed(key)
      // The cores that differ attach in the background: both sides know
      // what differs as soon as the elements are here.
      if (feed !== undefined) cores.learn(feed, length)
    }
  }

  #finish(): void {
    if (this.#reconciled || !this.#owner.live()) return
    this.#reconciled = true
    const { stats, exchange, host, peer, cores } = this.#owner
    const inSync = stats.symbolsSent === 0 && stats.symbolsReceived === 0 && !exchange.listed
    if (debug.reconcile.enabled) {
      debug.reconcile.log(
        `${peer.label} reconciled (${exchange.way}) in ${exchange.rounds} rounds: symbols sent ${stats.symbolsSent}, received ${stats.symbolsReceived}${this.#difference === '' ? '' : `; ${this.#difference}`}`
      )
    }
    if (!this.#syncedDone) {
      this.#syncedDone = true
      const info: SyncInfo = { added: this.#added, inSync }
      this.#added = []
      this.#resolveSynced(info)
      host.onSynced(peer, info)
    }
    if (cores.pendingUpdates > 0) this.flush()
  }

  /**
   * Sends `elements` in messages of at most MAX_ELEMENTS_PER_MESSAGE, one a
   * call of the outbox, the last flagged `lastFlags`; the first `replies`
   * elements are a reply (paid from the reply budget).
   */
  #send(elements: Element[], lastFlags: number, replies: number): void {
    const { channel, out, exchange, host } = this.#owner
    if (!channel.active) return
    let i = 0
    out.queue(() => {
      const end = i + MAX_ELEMENTS_PER_MESSAGE
      let chunk = elements.slice(i, end)
      // Our feeds' tags, read when sent (a zero-length echo of the peer's own feed has none here).
      if (exchange.tagged) {
        chunk = chunk.map((e) => (e.tag === undefined ? { ...e, tag: host.feed(e.key)?.tag } : e))
      }
      const raw = encodeElements(
        { flags: end >= elements.length ? lastFlags : 0, elements: chunk },
        exchange.tagged
      )
      if (i < replies) {
        // The part of the message that is ours to pay for.
        const paid = Math.ceil((raw.byteLength * (Math.min(end, replies) - i)) / chunk.length)
        out.send('elements', raw, paid)
      } else out.send('elements', raw)
      i = end
      return i >= elements.length
    })
  }
}
