/**
 * A member's `policy.moderation` as the convergence rule asks it
 * (moderation/evaluate.ts `ModerationPolicy`): each block and unblock shown
 * as the public `ModerationRecord`, with the rule's verdict.
 */
import type { Callbacks } from '../lifecycle/Callbacks.js'
import type { ModerationPolicy } from '../moderation/evaluate.js'
import type { ModerationRecord } from '../types.js'

/** The rule's policy from the user's hook, or undefined when there is none. */
export function policyOf(callbacks: Callbacks): ModerationPolicy | undefined {
  if (!callbacks.hasModerationPolicy) return undefined
  return ({ record, id }, verdict) => {
    if (record.type !== 'block' && record.type !== 'unblock') return undefined
    const view: ModerationRecord = {
      type: record.type,
      target: record.kind === 'feed' ? { feed: record.target } : { identity: record.target },
      signer: record.signer,
      time: record.time,
      reason: record.type === 'block' ? record.reason : '',
      id
    }
    // Only 'unauthorized' and 'revoked' reach a policy ('immutable' is decided before).
    return callbacks.follows(view, {
      verdict: verdict === 'unauthorized' || verdict === 'revoked' ? verdict : null
    })
  }
}
