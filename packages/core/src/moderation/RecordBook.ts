/**
 * The records of one moderated set as a peer holds them: each received
 * record verified once, kept once (by id), and the reason counted when it is
 * refused, so that a peer's stats can say what it was sent. The state is
 * `evaluate` over what is held, computed again only after a change.
 */
import { addBinding, evaluate, type ModerationPolicy, type ModerationState } from './evaluate.js'
import { MAX_DEPS } from './records.js'
import { type VerifiedRecord, type VerifyRefusal, verifyRecord } from './signing.js'

/** Why received bytes changed nothing at once (`full`: the book holds `maxRecords`). */
export type Refusal = VerifyRefusal | 'duplicate' | 'full'

/** Most records a set holds unless told otherwise. */
export const DEFAULT_MAX_RECORDS = 100_000

export type AddResult = { added: true; record: VerifiedRecord } | { added: false; reason: Refusal }

export class RecordBook {
  readonly setKey: Buffer
  readonly founder: Buffer
  /** Refusals by reason, since the book was made. */
  readonly refusals: Record<Refusal, number> = {
    malformed: 0,
    signature: 0,
    'feed-key': 0,
    duplicate: 0,
    full: 0
  }
  readonly maxRecords: number
  readonly #policy: ModerationPolicy | undefined
  readonly #records = new Map<string, VerifiedRecord>()
  #state: ModerationState | null = null

  constructor(
    setKey: Buffer,
    founder: Buffer,
    {
      maxRecords = DEFAULT_MAX_RECORDS,
      policy
    }: { maxRecords?: number; policy?: ModerationPolicy } = {}
  ) {
    this.setKey = setKey
    this.founder = founder
    this.maxRecords = maxRecords
    this.#policy = policy
  }

  get size(): number {
    return this.#records.size
  }

  /** Verifies and keeps a record received (or made) for the set. */
  add(bytes: Buffer): AddResult {
    const result = this.check(bytes)
    if (result.added) this.keep(result.record)
    return result
  }

  /**
   * Verifies a record without keeping it (`added`: it would be new), or
   * counts why it is refused. `also`: ids (hex) about to be kept, as held.
   */
  check(bytes: Buffer, also?: ReadonlySet<string>): AddResult {
    const verdict = verifyRecord(this.setKey, bytes)
    if (!verdict.ok) return this.#refuse(verdict.reason)
    const { hex } = verdict.record
    if (this.#records.has(hex) || also?.has(hex)) return this.#refuse('duplicate')
    // Bounded like the feeds: a member flooding records fills no memory past the limit.
    if (this.#records.size + (also?.size ?? 0) >= this.maxRecords) return this.#refuse('full')
    return { added: true, record: verdict.record }
  }

  /** Keeps a record that `check` verified. */
  keep(record: VerifiedRecord): void {
    if (this.#records.has(record.hex)) return
    this.#records.set(record.hex, record)
    // A bind changes only who owns a feed: the state follows it without evaluating every
    // record again (each writer of a set is bound, so that was O(writers) per writer).
    const r = record.record
    if (this.#state !== null && r.type === 'bind') addBinding(this.#state, r.feed, r.signer)
    else this.#state = null
  }

  has(id: Buffer): boolean {
    return this.#records.has(id.toString('hex'))
  }

  /**
   * The ids of the records no other held record names (binds aside): a new
   * record's deps (at most MAX_DEPS, the lowest ids: more heads than that is
   * rare, and a head left out is only seen as concurrent).
   */
  heads(): Buffer[] {
    const named = new Set<string>()
    for (const r of this.#records.values()) {
      for (const dep of r.record.deps) named.add(dep.toString('hex'))
    }
    return [...this.#records.values()]
      .filter((r) => r.record.type !== 'bind' && !named.has(r.hex))
      .sort((a, b) => Buffer.compare(a.id, b.id))
      .slice(0, MAX_DEPS)
      .map((r) => r.id)
  }

  records(): IterableIterator<VerifiedRecord> {
    return this.#records.values()
  }

  state(): ModerationState {
    this.#state ??= evaluate(this.founder, this.#records.values(), this.#policy)
    return this.#state
  }

  #refuse(reason: Refusal): AddResult {
    this.refusals[reason]++
    return { added: false, reason }
  }
}
