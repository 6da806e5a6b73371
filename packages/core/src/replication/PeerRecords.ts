/**
 * A moderated set's records on one channel (protocol minor 3): reconciled
 * before the feeds, so that a peer holds every record the other side held
 * at its open before it acts on any feed the other side offers (a stale
 * peer learns a block before the blocked feed is offered to it).
 *
 * 1. Each open announces the records (RecordIndex: a proof, a count and a
 *    small sketch). Equal proofs: in sync, nothing more travels.
 * 2. Otherwise the record ids are reconciled as feeds are (SetExchange under
 *    the records' key: a list, or coded symbols sized by the sketches),
 *    on the record-symbols, record-more and record-elements messages.
 * 3. The responder, once it knows the difference, sends the records the
 *    initiator lacks (Records messages), then DONE naming the ids it lacks
 *    itself (record-elements, the last part flagged DONE); the initiator
 *    answers with those records, the last message flagged RECORDS_END.
 * 4. Each side is `ready` once it took (verified, stored, applied) what it
 *    lacked: the initiator at DONE, the responder at RECORDS_END (at once
 *    when it lacked nothing). Only then does MultifeedPeer begin the feeds.
 * 5. Afterwards records new here (signed here, or from another peer: the
 *    set calls `changed`) go to the peer as Records messages, except those
 *    it sent us or we sent it.
 *
 * What we send in steps 2–3 is a reply, paid from the connection's budget
 * (ReplyBudget: a record of ours costs at most REPLY_BYTES_PER_RECORD once);
 * the want list echoes the peer's own ids. A peer that asks for an id we do
 * not hold or names one twice is malformed. Every record received is
 * counted in the peer's stats: added, or why it changed nothing.
 */
import { MalformedMessageError } from '../errors.js'
import type { RuleRefusal } from '../moderation/evaluate.js'
import { recordId, type VerifiedRecord } from '../moderation/signing.js'
import {
  decodeElements,
  decodeRecords,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  type Element,
  encodeElements,
  encodeRecords,
  MAX_ELEMENTS_PER_MESSAGE,
  MAX_RECORDS_PER_MESSAGE,
  RECORDS_END,
  type RecordsSummary
} from '../protocol/messages.js'
import type { ModerationChange } from '../set/Moderation.js'
import type { PeerStats } from '../types.js'
import type { Producer } from './Outbox.js'
import type { RecordIndex } from './RecordIndex.js'
import { type ExchangedSet, SetExchange } from './SetExchange.js'

/** The record messages of a moderated set's channel. */
export type RecordMessage = 'record-symbols' | 'record-more' | 'record-elements' | 'records'

export const RECORD_MESSAGES: readonly RecordMessage[] = [
  'record-symbols',
  'record-more',
  'record-elements',
  'records'
]

/** What the set gives its peers of its records. */
export interface RecordHost {
  readonly index: RecordIndex
  /** Takes records a peer sent: verified, stored, their effect applied, then resolves. */
  receive(records: Buffer[]): Promise<ModerationChange>
  /** The convergence rule's refusal of a record held (null: it counts, or waits for its past). */
  refusal(hex: string): RuleRefusal | null
}

/** What the records of one channel need of the peer that owns them. */
export interface RecordsOwner {
  readonly host: RecordHost
  readonly stats: PeerStats
  readonly maxDifferences: number
  /** Sends a record message; `paid`: bytes charged to the reply budget (throws if they do not fit). */
  send(message: RecordMessage, raw: Buffer, paid?: number): void
  queue(producer: Producer): void
  live(): boolean
  /** The peer's fault: its channel closes. */
  fail(err: unknown): void
  /** Taking records failed here (storage): not the peer's fault. */
  localError(err: unknown): void
}

export class PeerRecords {
  /** Resolves once we took every record the peer held at its open (never rejects). */
  readonly ready: Promise<void>
  readonly #owner: RecordsOwner
  readonly #exchange: SetExchange
  #resolveReady: () => void = () => {}
  #ready = false
  /** Our records as our open announced them (the exchange's side). */
  #shared: ExchangedSet | null = null
  /** Records of the index up to here were announced or sent: later ones go out as pushes. */
  #cursor = 0
  /** Ids (hex) the peer holds: it sent them, we sent them, or it lacked none of ours. */
  readonly #known = new Set<string>()
  /** Initiator: the ids the responder asks for, as its DONE parts arrive. */
  readonly #wanted = new Set<string>()
  /** Responder: waiting for the initiator's answer (RECORDS_END). */
  #awaitingAnswer = false
  #isInitiator = false
  #queue: Promise<void> = Promise.resolve()
  /** Works queued and not yet done (records being taken). */
  #queued = 0

  constructor(owner: RecordsOwner) {
    this.#owner = owner
    // Coded symbols of the records are counted apart: the feeds' counters say whether they were in sync.
    const symbols = { symbolsSent: 0, symbolsReceived: 0 }
    this.#exchange = new SetExchange(owner.host.index.key, owner.maxDifferences, symbols, {
      queue: (producer) => owner.queue(producer),
      send: (name, raw, paid) => owner.send(`record-${name}`, raw, paid)
    })
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve
    })
  }

  /** True once we took every record the peer held at its open. */
  get isReady(): boolean {
    return this.#ready
  }

  /** Our records' proof on the connection of `handshakeHash` (for the state hint: announces nothing). */
  proof(handshakeHash: Buffer): Buffer {
    return this.#owner.host.index.proof(handshakeHash)
  }

  /** Our open announces the records held now (its summary, bound to the connection). */
  announce(handshakeHash: Buffer): RecordsSummary {
    const index = this.#owner.host.index
    const shared = index.shared()
    this.#shared = shared
    this.#cursor = shared.count
    this.#exchange.announce(shared)
    return index.summary(handshakeHash, shared)
  }

  /** Both opens are known: in sync, or the exchange starts. */
  opened(handshakeHash: Buffer, isInitiator: boolean, minor: number, remote: RecordsSummary): void {
    this.#isInitiator = isInitiator
    try {
      const shared = this.#owner.host.index.shared()
      if (this.#exchange.begin(handshakeHash, isInitiator, shared, { minor, ...remote })) {
        this.#finish()
      }
    } catch (err) {
      this.#owner.fail(err)
    }
  }

  message(name: RecordMessage, raw: Buffer): void {
    try {
      if (name === 'record-symbols') {
        const difference = this.#exchange.symbols(raw, () => this.#shared!.local())
        if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
      } else if (name === 'record-more') this.#exchange.more(raw)
      else if (name === 'record-elements') this.#elements(raw)
      else this.#records(raw)
    } catch (err) {
      this.#owner.fail(err)
    }
  }

  /**
   * How many record ids this channel remembers the peer holds: records held
   * here, and the ids the peer's side of the reconciliation named (bounded by
   * maxDifferences); never a record the set refused.
   */
  get remembered(): number {
    return this.#known.size
  }

  /** True while records the peer sent are being taken. */
  get busy(): boolean {
    return this.#queued > 0
  }

  /**
   * Runs `work` once the records the peer sent so far are taken: a feed
   * message that followed a record on the channel (a bind, a block) is acted
   * on after it, as it was sent.
   */
  after(work: () => void): void {
    this.#enqueue(async () => work())
  }

  /** Records were added here: the peer gets those it does not hold (once we are ready). */
  changed(): void {
    if (!this.#ready || !this.#owner.live()) return
    this.#push()
  }

  /** The channel closed: nothing more is sent or taken. */
  close(): void {
    this.#exchange.close()
  }

  #elements(raw: Buffer): void {
    const message = decodeElements(raw)
    if (message.flags & (ELEMENTS_LIST | ELEMENTS_LIST_END)) {
      const difference = this.#exchange.list(message, () => this.#owner.host.index.shared().feeds)
      if (difference !== null) this.#conclude(difference.localOnly, difference.remoteOnly)
      return
    }
    // Initiator: a part of the responder's want list; DONE on the last.
    if (this.#ready || !this.#isInitiator) {
      throw new MalformedMessageError('Unexpected record ids')
    }
    const index = this.#owner.host.index
    for (const { key } of message.elements) {
      const hex = key.toString('hex')
      if (index.get(hex) === undefined || this.#wanted.has(hex)) {
        throw new MalformedMessageError('Remote asked for a record we never announced, or twice')
      }
      this.#wanted.add(hex)
    }
    if (this.#wanted.size > this.#owner.maxDifferences) {
      throw new MalformedMessageError('Remote asked for more records than a reconciliation allows')
    }
    if ((message.flags & ELEMENTS_DONE) === 0) return
    this.#exchange.done()
    const answer = [...this.#wanted].map((hex) => index.get(hex)!)
    this.#wanted.clear()
    for (const r of answer) this.#known.add(r.hex)
    if (answer.length > 0) this.#sendRecords(answer, RECORDS_END, true)
    // After the records the responder sent before its DONE were taken.
    this.#enqueue(async () => this.#finish())
  }

  /** Responder: the difference is known; send what the initiator lacks, then DONE with what we lack. */
  #conclude(localOnly: Element[], remoteOnly: Element[]): void {
    const index = this.#owner.host.index
    const ours = localOnly.map(({ key }) => index.get(key.toString('hex')))
    const sending = ours.filter((r): r is VerifiedRecord => r !== undefined)
    for (const r of sending) this.#known.add(r.hex)
    if (sending.length > 0) this.#sendRecords(sending, 0, true)
    const wanted: Element[] = remoteOnly.map(({ key }) => ({ key, length: 0 }))
    for (const { key } of wanted) this.#known.add(key.toString('hex'))
    let i = 0
    this.#owner.queue(() => {
      const chunk = wanted.slice(i, i + MAX_ELEMENTS_PER_MESSAGE)
      i += MAX_ELEMENTS_PER_MESSAGE
      const last = i >= wanted.length
      // The ids echo the initiator's own: not a reply of ours to pay for.
      this.#owner.send(
        'record-elements',
        encodeElements({ flags: last ? ELEMENTS_DONE : 0, elements: chunk })
      )
      return last
    })
    if (wanted.length === 0) this.#enqueue(async () => this.#finish())
    else this.#awaitingAnswer = true
  }

  #records(raw: Buffer): void {
    const message = decodeRecords(raw)
    const ends = (message.flags & RECORDS_END) !== 0
    if (ends) {
      if (!this.#awaitingAnswer) throw new MalformedMessageError('Unexpected end of records')
      this.#awaitingAnswer = false
    }
    this.#enqueue(async () => {
      if (message.records.length > 0) await this.#take(message.records)
      if (ends) this.#finish()
    })
  }

  async #take(records: Buffer[]): Promise<void> {
    const { host, stats } = this.#owner
    // Counted as they are taken, and what became of each counted even if the
    // channel closed meanwhile: received = added + refused for a reason.
    stats.recordsReceived += records.length
    // Known before they are taken: the set tells its peers of new records as
    // it takes them, and this peer must not get its own back.
    const fresh: string[] = []
    for (const bytes of records) {
      const hex = recordId(bytes).toString('hex')
      if (this.#known.has(hex)) continue
      this.#known.add(hex)
      fresh.push(hex)
    }
    const change = await host.receive(records)
    // Those the set did not keep (forged, unauthorized, over a bound) are
    // forgotten: never pushed anyway, and a flood of distinct ones must not
    // grow this set (it stays within the records held).
    for (const hex of fresh) if (host.index.get(hex) === undefined) this.#known.delete(hex)
    for (const [reason, n] of Object.entries(change.refused)) {
      stats.recordsRefused[reason as keyof typeof change.refused] += n ?? 0
    }
    stats.recordsAdded += change.added.length
    for (const r of change.added) {
      this.#known.add(r.hex)
      const refusal = host.refusal(r.hex)
      if (refusal !== null) stats.recordsRefused[refusal]++
    }
  }

  /** We took what the peer held at its open: the feeds may begin; records since then go out. */
  #finish(): void {
    if (this.#ready || !this.#owner.live()) return
    this.#ready = true
    this.#resolveReady()
    this.#push()
  }

  /** Sends the records the index gained since the cursor that the peer does not hold. */
  #push(): void {
    const index = this.#owner.host.index
    const records: VerifiedRecord[] = []
    for (const count = index.size; this.#cursor < count; this.#cursor++) {
      const record = index.at(this.#cursor)
      if (this.#known.has(record.hex)) continue
      this.#known.add(record.hex)
      records.push(record)
    }
    if (records.length > 0) this.#sendRecords(records, 0, false)
  }

  /** Records in messages of at most MAX_RECORDS_PER_MESSAGE, the last flagged `lastFlags`. */
  #sendRecords(records: VerifiedRecord[], lastFlags: number, reply: boolean): void {
    let i = 0
    this.#owner.queue(() => {
      const chunk = records.slice(i, i + MAX_RECORDS_PER_MESSAGE)
      i += MAX_RECORDS_PER_MESSAGE
      const last = i >= records.length
      const raw = encodeRecords({ flags: last ? lastFlags : 0, records: chunk.map((r) => r.bytes) })
      this.#owner.send('records', raw, reply ? raw.byteLength : 0)
      this.#owner.stats.recordsSent += chunk.length
      return last
    })
  }

  /** Takes the peer's records in order, off the Protomux call stack. */
  #enqueue(work: () => Promise<void>): void {
    const owner = this.#owner
    this.#queued++
    this.#queue = this.#queue
      .then(() => (owner.live() ? work() : undefined))
      .catch((err) => owner.localError(err))
      .finally(() => {
        this.#queued--
      })
  }
}
