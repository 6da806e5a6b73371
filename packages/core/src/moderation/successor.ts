/**
 * The state after one more block or unblock that follows every record held:
 * what a moderator's own call makes (it names the heads it holds), and what a
 * member holding the same records receives. Nothing held is concurrent with
 * such a record, so of the rules only its own standing and its target can
 * change: the state is carried over rather than evaluated again over every
 * record (which made each block() and each record received cost O(records):
 * 1.4 s a call at 10,000 records on the shared machine, notes/moderation-bench.md).
 *
 * `follows` is the caller's word that the record's deps name every head held
 * and nothing held waits for its past. Null when the record is of another kind
 * or would not count (the rule or the policy refuses it): evaluate then.
 */
import type { BlockEntry, ModerationPolicy, ModerationState } from './evaluate.js'
import type { VerifiedRecord } from './signing.js'

export function successor(
  state: ModerationState,
  entry: VerifiedRecord,
  policy?: ModerationPolicy,
  /** True when no one holds `state` yet: it is changed in place, not copied. */
  own = false
): ModerationState | null {
  const r = entry.record
  if (r.type !== 'block' && r.type !== 'unblock') return null
  if (state.pending.length > 0) return null
  // Rule 1: the founder cannot be blocked (refused: evaluate says so).
  if (r.type === 'block' && r.kind === 'identity' && r.target.equals(state.founder)) return null
  // Rule 3 with the whole held set as the record's past and no revoke concurrent with it:
  // it counts when its signer is the founder or a moderator now.
  if (!state.moderators.some((m) => m.equals(r.signer))) return null
  // Rule 5: a policy that ignores it (a refusal to record): evaluate.
  if (policy?.(entry, null) === false) return null
  const key = `${r.kind}:${r.target.toString('hex')}`
  const shown = state.blocked.get(key)
  // Rule 4: an unblock saw every block of its target; a block joins those in force,
  // and the earliest of them is shown.
  if (r.type === 'unblock' ? shown === undefined : shown !== undefined && !earlier(entry, shown)) {
    return state
  }
  const next = own ? state : { ...state, blocked: new Map(state.blocked) }
  if (r.type === 'unblock') next.blocked.delete(key)
  else {
    const mine: BlockEntry = {
      kind: r.kind,
      target: r.target,
      signer: r.signer,
      time: r.time,
      reason: r.reason,
      id: entry.id
    }
    next.blocked.set(key, mine)
  }
  return next
}

/** True when `entry` is shown before `shown` (earlier time, then lower id). */
function earlier(entry: VerifiedRecord, shown: BlockEntry): boolean {
  const { time } = entry.record
  return time < shown.time || (time === shown.time && entry.hex < shown.id.toString('hex'))
}
