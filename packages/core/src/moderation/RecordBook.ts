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

/**
 * Why received bytes changed nothing at once (`full`: the book holds
 * `maxRecords` records of the kind: binds, or the acts of the graph).
 */
export type Refusal = VerifyRefusal | 'duplicate' | 'full'

/**
 * Most bind records a set holds unless told otherwise, and apart from them
 * most grants, revokes, blocks and unblocks: counted apart, so that members
 * binding writers up to the limit never leave the founder unable to block.
 */
export const DEFAULT_MAX_RECORDS = 100_000
/**
 * Most records held waiting for part of their past (`pending`): an honest
 * peer sends a record's past before it or with it, so these are few and
 * brief; a record naming ids that never come (anyone can sign one) would
 * otherwise be kept for good.
 */
export const DEFAULT_MAX_PENDING = 1024

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
  /** Most binds held, and apart from them most other records (set after a load: see Moderation.open). */
  maxRecords: number
  readonly maxPending: number
  readonly #policy: ModerationPolicy | undefined
  readonly #records = new Map<string, VerifiedRecord>()
  /** Id (hex) → how many held records name it among their deps. */
  readonly #named = new Map<string, number>()
  /** The same over the graph's records (binds are no one's past), and the graph's records none names. */
  readonly #graphNamed = new Map<string, number>()
  readonly #heads = new Set<string>()
  /** Bind records held (the rest are the graph's). */
  #binds = 0
  #state: ModerationState | null = null
  /** True once `state()` handed the held state out: it is copied before it changes. */
  #shared = false

  constructor(
    setKey: Buffer,
    founder: Buffer,
    {
      maxRecords = DEFAULT_MAX_RECORDS,
      maxPending = DEFAULT_MAX_PENDING,
      policy
    }: { maxRecords?: number; maxPending?: number; policy?: ModerationPolicy } = {}
  ) {
    this.setKey = setKey
    this.founder = founder
    this.maxRecords = maxRecords
    this.maxPending = maxPending
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
    // Binds and the graph's records are counted apart (`also` counts against both).
    const bind = verdict.record.record.type === 'bind'
    const held = bind ? this.#binds : this.#records.size - this.#binds
    if (held + (also?.size ?? 0) >= this.maxRecords) return this.#refuse('full')
    return { added: true, record: verdict.record }
  }

  /** Keeps a record that `check` verified. */
  keep(record: VerifiedRecord): void {
    if (this.#records.has(record.hex)) return
    const follows = this.#state !== null && this.#followsAll(record)
    this.#records.set(record.hex, record)
    const r = record.record
    if (r.type === 'bind') this.#binds++
    for (const dep of r.deps) count(this.#named, dep.toString('hex'), 1)
    if (r.type !== 'bind') {
      for (const dep of r.deps) {
        const hex = dep.toString('hex')
        count(this.#graphNamed, hex, 1)
        this.#heads.delete(hex)
      }
      if (!this.#graphNamed.has(record.hex)) this.#heads.add(record.hex)
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

  /** Lets go of records kept (their log append failed): the state is computed again. */
  forget(records: VerifiedRecord[]): void {
    for (const r of records) this.#remove(r)
    this.#state = null
  }

  /**
   * Of `candidates` (records just kept), lets go of what no one granted can
   * make us keep, and returns it:
   *
   * - records the rule refuses `unauthorized` that no held record names,
   *   and those only they named, in turn: what a key holder never granted
   *   signs cannot widen the graph, so it is neither stored nor relayed. A
   *   record a held one names is kept (the graph's pasts stay complete).
   *   Such a record is in no record's past and counts for nothing: the
   *   state is the same without it but for its entry in `refused`;
   * - records waiting for their past beyond `maxPending` held (the newest
   *   first): a pending record is in the past of pending records only, so
   *   the state is the same without it but for `pending`.
   *
   * The state is patched, not evaluated again.
   */
  dropUnrooted(candidates: VerifiedRecord[]): VerifiedRecord[] {
    const state = this.state()
    const fresh = new Map(candidates.map((r) => [r.hex, r]))
    const droppable = (r: VerifiedRecord | undefined): r is VerifiedRecord =>
      r !== undefined &&
      this.#records.has(r.hex) &&
      state.refused.get(r.hex) === 'unauthorized' &&
      (this.#named.get(r.hex) ?? 0) === 0
    const work = candidates.filter(droppable)
    const dropped: VerifiedRecord[] = []
    for (let r = work.pop(); r !== undefined; r = work.pop()) {
      if (!droppable(r)) continue
      this.#remove(r)
      state.refused.delete(r.hex)
      dropped.push(r)
      for (const dep of r.record.deps) {
        const next = fresh.get(dep.toString('hex'))
        if (droppable(next)) work.push(next)
      }
    }
    if (state.pending.length > this.maxPending) {
      const over = new Set<string>()
      for (
        let i = state.pending.length - 1;
        i >= 0 && over.size < state.pending.length - this.maxPending;
        i--
      ) {
        const r = fresh.get(state.pending[i]!)
        if (r === undefined) continue
        over.add(r.hex)
        this.#remove(r)
        dropped.push(r)
      }
      state.pending = state.pending.filter((hex) => !over.has(hex))
    }
    return dropped
  }

  #remove(record: VerifiedRecord): void {
    if (!this.#records.delete(record.hex)) return
    const graph = record.record.type !== 'bind'
    if (!graph) this.#binds--
    if (graph) this.#heads.delete(record.hex)
    for (const dep of record.record.deps) {
      const hex = dep.toString('hex')
      count(this.#named, hex, -1)
      // A record no held record of the graph names any more is a head again.
      if (graph && count(this.#graphNamed, hex, -1) === 0) {
        const held = this.#records.get(hex)
        if (held !== undefined && held.record.type !== 'bind') this.#heads.add(hex)
      }
    }
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

/** Adds `by` to `hex`'s count (deleted at 0) and returns the new count. */
function count(counts: Map<string, number>, hex: string, by: number): number {
  const n = (counts.get(hex) ?? 0) + by
  if (n > 0) counts.set(hex, n)
  else counts.delete(hex)
  return Math.max(n, 0)
}
