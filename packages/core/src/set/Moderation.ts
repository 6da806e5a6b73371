/**
 * The moderation of one moderated set, on this peer: the records held (a
 * RecordBook over the persisted ModerationLog), the state the convergence
 * rule gives from them, and the records this peer signs with its identity.
 *
 * Every record, ours or a peer's, is verified, then appended to the log,
 * then taken into the state: what the state says is always on disk. Each
 * call that changes the state reports what changed (targets newly blocked
 * or lifted, the moderators), for the set to act on: remove and refuse the
 * feeds a block reaches, fetch again the ones an unblock frees.
 */
import type { Corestore, KeyPair } from '@multifeed/holepunch-types'
import {
  InvalidArgumentError,
  LimitExceededError,
  NotWritableError,
  StorageCorruptError
} from '../errors.js'
import type { BlockEntry, ModerationPolicy, ModerationState } from '../moderation/evaluate.js'
import type { ModeratedSetId } from '../moderation/invite.js'
import { DEFAULT_MAX_RECORDS, RecordBook, type Refusal } from '../moderation/RecordBook.js'
import type { TargetKind } from '../moderation/records.js'
import { bindFeed, signRecord, type VerifiedRecord } from '../moderation/signing.js'
import { decodeHeader, encodeHeader, ModerationLog } from './ModerationLog.js'

/** What one change of the records changed in the state. */
export interface ModerationChange {
  /** Records taken (verified, stored, new). */
  added: VerifiedRecord[]
  /** Targets (`kind:hex`) blocked now that were not. */
  blocked: BlockEntry[]
  /** Targets (`kind:hex`) no longer blocked. */
  unblocked: string[]
  /** True when the moderators changed. */
  moderators: boolean
  /**
   * Records refused, by reason (verification and duplicates; `unauthorized`:
   * signed by someone never granted and named by no record: not kept).
   */
  refused: Partial<Record<Refusal | 'unauthorized', number>>
}

export class Moderation {
  readonly id: ModeratedSetId
  readonly identity: KeyPair
  readonly #book: RecordBook
  readonly #log: ModerationLog
  #taking: Promise<unknown> = Promise.resolve()
  /** What the set does with a change (remove, refuse, fetch again), awaited in turn. */
  readonly #effects: Array<(change: ModerationChange) => Promise<void>> = []
  /** Told of records as soon as they are on disk, before the effects (the peers: relay them). */
  readonly #stored: Array<(change: ModerationChange) => void> = []

  private constructor(id: ModeratedSetId, identity: KeyPair, log: ModerationLog, book: RecordBook) {
    this.id = id
    this.identity = identity
    this.#book = book
    this.#log = log
  }

  /**
   * Reads the set's records from `store` (the set's namespace). `set`: the
   * set's id (from its invite; written here the first time), or its key
   * alone (a set this store holds already; else `ERR_INVALID_ARGUMENT`).
   */
  static async open(
    store: Corestore,
    set: ModeratedSetId | Buffer,
    identity: KeyPair,
    options: { policy?: ModerationPolicy; maxPending?: number; maxRecords?: number } = {}
  ): Promise<Moderation> {
    // What the log holds is loaded whole (a limit lowered since must not make
    // it unreadable); the limit applies to what comes after.
    const loading = { ...options, maxRecords: Number.POSITIVE_INFINITY }
    const log = new ModerationLog(store)
    const key = Buffer.isBuffer(set) ? set : set.key
    let id: ModeratedSetId | null = Buffer.isBuffer(set) ? null : set
    let book: RecordBook | null = null
    try {
      let index = 0
      for await (const bytes of log.load()) {
        if (index++ === 0) {
          id = decodeHeader(bytes, key)
          book = new RecordBook(id.signingKey, id.founder, loading)
          continue
        }
        const result = book!.add(bytes)
        if (!result.added && result.reason !== 'duplicate') {
          throw new StorageCorruptError(
            `Moderation record ${index - 1} is refused: ${result.reason}`
          )
        }
      }
      if (id === null) {
        throw new InvalidArgumentError(
          'This corestore holds no moderated set of this key: open it with its invite'
        )
      }
      if (book === null) {
        await log.append([encodeHeader(id)])
        book = new RecordBook(id.signingKey, id.founder, loading)
      }
      book.maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS
    } catch (err) {
      await log.close()
      throw err
    }
    return new Moderation(id, identity, log, book)
  }

  get state(): ModerationState {
    return this.#book.state()
  }

  /** Records refused since open, by reason (for the peers' stats). */
  get refusals(): Readonly<Record<Refusal, number>> {
    return this.#book.refusals
  }

  /** How many records are held. */
  get size(): number {
    return this.#book.size
  }

  /** The records held, for a peer that lacks them. */
  records(): IterableIterator<VerifiedRecord> {
    return this.#book.records()
  }

  /** True when `identity` is the founder or a moderator now. */
  isModerator(identity: Buffer): boolean {
    return this.state.moderators.some((key) => key.equals(identity))
  }

  /** Grants the moderator right (the founder only). */
  grant(identity: Buffer): Promise<ModerationChange> {
    this.#assertFounder('grant')
    return this.#sign({ type: 'grant', target: identity })
  }

  /** Revokes the moderator right (the founder only). */
  revoke(identity: Buffer): Promise<ModerationChange> {
    this.#assertFounder('revoke')
    return this.#sign({ type: 'revoke', target: identity })
  }

  /** Blocks a feed or an identity (a moderator only). */
  block(kind: TargetKind, target: Buffer, reason = ''): Promise<ModerationChange> {
    this.#assertModerator('block')
    return this.#sign({ type: 'block', kind, target, reason })
  }

  /** Lifts the blocks of a target that this peer holds (a moderator only). */
  unblock(kind: TargetKind, target: Buffer): Promise<ModerationChange> {
    this.#assertModerator('unblock')
    return this.#sign({ type: 'unblock', kind, target })
  }

  /** Binds one of our writers to our identity. */
  bind(feed: { key: Buffer; keyPair: KeyPair }): Promise<ModerationChange> {
    this.#assertMember('bind a writer')
    return this.#takeOwn(bindFeed(this.id.signingKey, this.identity, feed).bytes)
  }

  /**
   * What the set does with each change, run after the change is on disk and
   * in the state, before the call that made it resolves: whoever takes
   * records (a user's call, the transport), the set acts on them. Effects
   * run in the order they were added, after the `onStored` listeners.
   */
  onChange(effect: (change: ModerationChange) => Promise<void>): void {
    this.#effects.push(effect)
  }

  /**
   * Told of each change as soon as its records are on disk and in the
   * state, before the effects run: what relays them to the peers, so that a
   * block leaves for the other members before this peer's own removal and
   * purge of the feed (which may wait behind the feed's writes), not after.
   * A peer acts on a record before any feed message that follows it on the
   * channel, so the order on the wire stays safe. Synchronous: a throw is a
   * bug of ours, not the change's.
   */
  onStored(listener: (change: ModerationChange) => void): void {
    this.#stored.push(listener)
  }

  /** Takes records a peer sent: verified, stored, then evaluated. */
  receive(records: Buffer[]): Promise<ModerationChange> {
    return this.#take(records)
  }

  async close(): Promise<void> {
    await this.#taking
    await this.#log.close()
  }

  #sign(body: Parameters<typeof signRecord>[2]): Promise<ModerationChange> {
    this.#assertMember(`sign a ${body.type}`)
    const record = signRecord(this.id.signingKey, this.identity, body, { deps: this.#book.heads() })
    return this.#takeOwn(record.bytes)
  }

  /** A record this peer made: refused for the set's limit, the call that made it fails. */
  async #takeOwn(bytes: Buffer): Promise<ModerationChange> {
    const change = await this.#take([bytes])
    if ((change.refused.full ?? 0) > 0) {
      const max = this.#book.maxRecords
      throw new LimitExceededError(
        'maxRecords',
        max,
        `The set holds ${max} moderation records of this kind (limits.maxRecords): this one is not made`
      )
    }
    return change
  }

  /** One change at a time: each checks duplicates against what the ones before it kept. */
  #take(records: Buffer[]): Promise<ModerationChange> {
    const next = this.#taking.then(() => this.#takeNow(records))
    this.#taking = next.catch(() => {})
    return next
  }

  async #takeNow(records: Buffer[]): Promise<ModerationChange> {
    const before = this.state
    const refused: ModerationChange['refused'] = {}
    const added: VerifiedRecord[] = []
    const ids = new Set<string>()
    for (const bytes of records) {
      const result = this.#book.check(bytes, ids)
      if (result.added) {
        added.push(result.record)
        ids.add(result.record.hex)
      } else {
        refused[result.reason] = (refused[result.reason] ?? 0) + 1
      }
    }
    for (const r of added) this.#book.keep(r)
    // Unauthorized and named by no record, or pending past the bound: neither stored nor relayed.
    const pending = new Set(this.#book.state().pending)
    const dropped = new Set(this.#book.dropUnrooted(added).map((r) => r.hex))
    for (const hex of dropped) {
      const reason = pending.has(hex) ? 'full' : 'unauthorized'
      refused[reason] = (refused[reason] ?? 0) + 1
    }
    const kept = added.filter((r) => !dropped.has(r.hex))
    if (kept.length === 0)
      return { added: kept, blocked: [], unblocked: [], moderators: false, refused }
    // On disk before anything acts on the state (a failed append lets the records go).
    try {
      await this.#log.append(kept.map((r) => r.bytes))
    } catch (err) {
      this.#book.forget(kept)
      throw err
    }
    const change = { added: kept, refused, ...diff(before, this.state) }
    for (const listener of this.#stored) listener(change)
    for (const effect of this.#effects) await effect(change)
    return change
  }

  /** A mirror relays and applies records; it signs none (it holds no member key, and is no one's identity). */
  #assertMember(what: string): void {
    if (this.id.tier === 'mirror') {
      throw new NotWritableError(
        `A mirror does not ${what}: it verifies, applies and relays the set's records`
      )
    }
  }

  #assertFounder(what: string): void {
    this.#assertMember(what)
    if (!this.identity.publicKey.equals(this.id.founder)) {
      throw new InvalidArgumentError(`Only the set's founder may ${what} a moderator`)
    }
  }

  #assertModerator(what: string): void {
    this.#assertMember(what)
    if (!this.isModerator(this.identity.publicKey)) {
      throw new InvalidArgumentError(`Only a moderator of the set may ${what}`)
    }
  }
}

function diff(
  before: ModerationState,
  after: ModerationState
): Pick<ModerationChange, 'blocked' | 'unblocked' | 'moderators'> {
  const blocked = [...after.blocked].filter(([key]) => !before.blocked.has(key)).map(([, e]) => e)
  const unblocked = [...before.blocked.keys()].filter((key) => !after.blocked.has(key))
  const hexes = (s: ModerationState) => s.moderators.map((k) => k.toString('hex')).join()
  return { blocked, unblocked, moderators: hexes(before) !== hexes(after) }
}
