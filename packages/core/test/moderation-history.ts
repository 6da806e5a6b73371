/**
 * Random histories of a moderated set for the property tests: a founder on two
 * devices, three moderators once granted and a member, each signing on its own
 * view (its deps: the heads of what it holds), with syncs between views.
 */
import fc from 'fast-check'
import crypto from 'hypercore-crypto'
import type { ModerationState } from '../src/moderation/evaluate.js'
import { createModeratedSet } from '../src/moderation/invite.js'
import type { TargetKind } from '../src/moderation/records.js'
import { signRecord, type VerifiedRecord } from '../src/moderation/signing.js'

export const founder = crypto.keyPair(Buffer.alloc(32, 1))
export const identities = [2, 3, 4, 5].map((n) => crypto.keyPair(Buffer.alloc(32, n)))
/** Actors 0 and 1: the founder's two devices; 2–4: moderators once granted; 5: a member. */
export const keyOf = (actor: number) => (actor < 2 ? founder : identities[actor - 2]!)
export const set = createModeratedSet(founder.publicKey)
export const feeds = [0xa1, 0xa2, 0xa3].map((n) => Buffer.alloc(32, n))
export const ACTORS = 6

export type Op =
  | { k: 'auth'; actor: number; revoke: boolean; who: number }
  | { k: 'act'; actor: number; unblock: boolean; kind: TargetKind; target: number; time: number }
  | { k: 'sync'; from: number; to: number }

export const actor = fc.integer({ min: 0, max: ACTORS - 1 })
export const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('auth' as const),
    // Mostly the founder's devices; sometimes a member who tries.
    actor: fc.oneof(fc.integer({ min: 0, max: 1 }), actor),
    revoke: fc.boolean(),
    who: fc.integer({ min: 1, max: ACTORS - 1 }) // 1: the founder itself
  }),
  fc.record({
    k: fc.constant('act' as const),
    actor,
    unblock: fc.boolean(),
    kind: fc.constantFrom<TargetKind>('feed', 'identity'),
    target: fc.integer({ min: 0, max: 3 }),
    // Few distinct times: ties of the time shown are frequent.
    time: fc.integer({ min: 0, max: 3 })
  }),
  fc.record({ k: fc.constant('sync' as const), from: actor, to: actor })
)

export function targetOf(o: Extract<Op, { k: 'act' }>): Buffer {
  if (o.kind === 'feed') return feeds[o.target % feeds.length]!
  // Identity 0 is the founder's: a block of it must be refused.
  return o.target === 0 ? founder.publicKey : identities[o.target - 1]!.publicKey
}

/** Signs the record of `o` by its actor, naming `deps`. */
export function signOp(deps: Buffer[], o: Exclude<Op, { k: 'sync' }>): VerifiedRecord {
  const signer = keyOf(o.actor)
  return o.k === 'auth'
    ? signRecord(
        set.key,
        signer,
        { type: o.revoke ? 'revoke' : 'grant', target: keyOf(o.who).publicKey },
        { deps, time: 0 }
      )
    : o.unblock
      ? signRecord(
          set.key,
          signer,
          { type: 'unblock', kind: o.kind, target: targetOf(o) },
          { deps, time: o.time }
        )
      : signRecord(
          set.key,
          signer,
          { type: 'block', kind: o.kind, target: targetOf(o), reason: `r${o.time}` },
          { deps, time: o.time }
        )
}

export const hex = (b: Buffer) => b.toString('hex')

/** Everything a state says, as plain data in the order the state gives it. */
export function summary(state: ModerationState) {
  return {
    moderators: state.moderators.map(hex),
    // In key order: a state carried over lists them as they came.
    blocked: [...state.blocked]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, e]) => [key, hex(e.id), hex(e.signer), e.time, e.reason]),
    bindings: [...state.bindings].map(([key, ids]) => [key, ids.map(hex)]),
    refused: [...state.refused],
    pending: state.pending
  }
}
