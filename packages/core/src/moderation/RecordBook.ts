/**
 * The records of one moderated set as a peer holds them: each received
 * record verified once, kept once (by id), and the reason counted when it is
 * refused, so that a peer's stats can say what it was sent. The state is
 * `evaluate` over what is held, computed again only after a change.
 */
import { addBinding, evaluate, type ModerationPolicy, type ModerationState } from './evaluate.js'
import { MAX_DEPS } from './records.js'
import { type VerifiedRecord, type VerifyRefusal, verifyRecord } from './signing.js'
import { successor } from './successor.js'

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
  /** Ids (hex) that a held record names, and the held records (binds aside) none names. */
  readonly #named = new Set<string>()
  readonly #heads = new Set<string>()
  #state: ModerationState | null = null
  /** True once `state()` handed the held state out: it is copied before it changes. */
  #shared = false

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
    const follows = this.#state !== null && this.#followsAll(record)
    this.#records.set(record.hex, record)
    const r = record.record
    if (r.type !== 'bind') {
      for (const dep of r.deps) {
        const hex = dep.toString('hex')
        this.#named.add(hex)
        this.#heads.delete(hex)
      }
      if (!this.#named.has(record.hex)) this.#heads.add(record.hex)
    }
    if (this.#state === null) return
    // A bind changes only who owns a feed, and a block or unblock that follows every
    // record held only its target: the state follows them without evaluating every
    // record again (each writer of a set is bound, and each block was such a record:
    // O(records held) apiece, notes/moderation-bench.md).
    if (r.type === 'bind') addBinding(this.#state, r.feed, r.signer)
    else {
      const next = follows ? successor(this.#state, record, this.#policy, !this.#shared) : null
      if (next !== this.#state) this.#shared = false
      this.#state = next
    }
  }

  /** True when `record` names every head held, and only records of the graph held (no bind). */
  #followsAll(record: VerifiedRecord): boolean {
    const deps = new Set(record.record.deps.map((d) => d.toString('hex')))
    for (const head of this.#heads) if (!deps.has(head)) return false
    for (const dep of deps) {
      // A bind is no one's past: a record naming one waits for good (evaluate: pending).
      const held = this.#records.get(dep)
      if (held === undefined || held.record.type === 'bind') return false
    }
    return true
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
    return [...this.#heads]
      .sort()
      .slice(0, MAX_DEPS)
      .map((hex) => this.#records.get(hex)!.id)
  }

  records(): IterableIterator<VerifiedRecord> {
    return this.#records.values()
  }

  state(): ModerationState {
    this.#state ??= evaluate(this.founder, this.#records.values(), this.#policy)
    this.#shared = true
    return this.#state
  }

  #refuse(reason: Refusal): AddResult {
    this.refusals[reason]++
    return { added: false, reason }
  }
}
