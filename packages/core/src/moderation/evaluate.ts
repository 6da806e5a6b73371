/**
 * The convergence rule: from a set of verified records, the set's
 * moderators and what is blocked. A function of the set alone (arrival
 * order, clocks and who evaluates play no part), on the causal graph the
 * records' deps draw (`x ≺ y`: x is in y's past):
 *
 * 1. The founder is the root: its records are valid; it cannot be revoked
 *    or blocked (`immutable`). Only the founder grants and revokes.
 * 2. S is a moderator, seen from a set of records, when the founder's
 *    grants and revokes of S that no other of them follows include a grant
 *    and no revoke (a revoke wins over a concurrent grant).
 * 3. A block or unblock r by S ≠ founder counts when S is a moderator seen
 *    from r's past, and no founder's revoke of S is concurrent with r: a
 *    revoke keeps what the founder had seen of S and cuts the rest.
 * 4. A target is blocked when one of its valid blocks is ≺ none of its valid
 *    unblocks (an unblock lifts the blocks it saw; a concurrent block wins).
 * 5. A member's own policy, if any, may follow or ignore each block and
 *    unblock before rule 4 (a local choice: "choose your moderators").
 *
 * A record refused by a rule stays refused whatever arrives later (its past
 * is fixed, and records only add revokes), so refusals are counted once.
 */
import { Causality } from './causality.js'
import type { TargetKind } from './records.js'
import type { VerifiedRecord } from './signing.js'

/** Why a verified record changes nothing. */
export type RuleRefusal =
  /** Granted, revoked or blocked the founder. */
  | 'immutable'
  /** A grant or revoke not by the founder, or a block/unblock by someone not a moderator in its past. */
  | 'unauthorized'
  /** A block/unblock by a moderator revoked in its past, or by a revoke it did not see. */
  | 'revoked'
  /** A block/unblock this peer's policy chose not to follow (a local choice). */
  | 'ignored'

/**
 * A member's own choice about one block or unblock, given what the rule
 * says of it (`null`: it counts): `true` follows it whatever the rule says
 * (trust more: a block by someone the set does not make a moderator),
 * `false` ignores it (a moderator this member does not follow), `undefined`
 * keeps the rule's verdict. Refusals `immutable` stay. A pure function of
 * the record keeps the state a function of the records.
 */
export type ModerationPolicy = (
  record: VerifiedRecord,
  verdict: RuleRefusal | null
) => boolean | undefined

export interface BlockEntry {
  kind: TargetKind
  target: Buffer
  /** Of the blocks in force: the earliest claimed time (then the lowest id). */
  signer: Buffer
  time: number
  reason: string
  /** The block record's id. */
  id: Buffer
}

export interface ModerationState {
  founder: Buffer
  /** The founder, then the moderators by key. */
  moderators: Buffer[]
  /** Targets blocked, keyed `${kind}:${hex}` (evaluate lists them in key order, a state carried over may not). */
  blocked: Map<string, BlockEntry>
  /** Feed (hex) → the identities bound to it, by key. */
  bindings: Map<string, Buffer[]>
  /** Records a rule refused, by id (hex), in id order. */
  refused: Map<string, RuleRefusal>
  /** Ids (hex) of the records waiting for part of their past, in order. */
  pending: string[]
}

/** The state the records `records` (verified for the set) give in a set founded by `founder`. */
export function evaluate(
  founder: Buffer,
  records: Iterable<VerifiedRecord>,
  policy?: ModerationPolicy
): ModerationState {
  const acts: VerifiedRecord[] = []
  /** Feed (hex) → the identities (hex) bound to it. */
  const bindings = new Map<string, Set<string>>()
  for (const entry of records) {
    const r = entry.record
    if (r.type !== 'bind') {
      acts.push(entry)
      continue
    }
    const feed = r.feed.toString('hex')
    const owners = bindings.get(feed) ?? new Set<string>()
    owners.add(r.signer.toString('hex'))
    bindings.set(feed, owners)
  }
  const graph = new Causality(acts)
  const founderHex = founder.toString('hex')
  const refused = new Map<string, RuleRefusal>()
  /** Identity (hex) → positions of the founder's grants and revokes of it. */
  const authority = new Map<string, number[]>()
  /** `${kind}:${hex}` → positions of its blocks and unblocks, before the rules. */
  const actions = new Map<string, number[]>()

  graph.complete.forEach((entry, i) => {
    const r = entry.record
    const signer = r.signer.toString('hex')
    switch (r.type) {
      case 'grant':
      case 'revoke':
        if (signer !== founderHex) refused.set(entry.hex, 'unauthorized')
        else if (r.target.equals(founder)) refused.set(entry.hex, 'immutable')
        else push(authority, r.target.toString('hex'), i)
        break
      case 'block':
      case 'unblock':
        if (r.type === 'block' && r.kind === 'identity' && r.target.equals(founder)) {
          refused.set(entry.hex, 'immutable')
        } else {
          push(actions, `${r.kind}:${r.target.toString('hex')}`, i)
        }
        break
      case 'bind':
        break
    }
  })

  const isRevoke = (i: number) => graph.complete[i]!.record.type === 'revoke'
  /** Of `among`, those that no other of them follows. */
  const maximal = (among: number[]) =>
    among.filter((a) => !among.some((b) => b !== a && graph.precedes(a, b)))
  /** Rule 2 over `among` (the founder's records about one identity). */
  const moderatorOver = (among: number[]) => {
    const heads = maximal(among)
    return heads.length > 0 && !heads.some(isRevoke)
  }
  /** Rule 3: why the block/unblock at `i` does not count, or null. */
  const standing = (i: number): RuleRefusal | null => {
    const signer = graph.complete[i]!.record.signer.toString('hex')
    if (signer === founderHex) return null
    const about = authority.get(signer) ?? []
    // In this order, a reason once given stays (what r saw is fixed; revokes only add).
    const seen = about.filter((a) => graph.precedes(a, i))
    if (seen.length === 0) return 'unauthorized'
    if (!moderatorOver(seen)) return 'revoked'
    return about.some((a) => isRevoke(a) && graph.concurrent(a, i)) ? 'revoked' : null
  }

  /** The member's choice over the rule's verdict. */
  const chosen = (i: number, verdict: RuleRefusal | null): RuleRefusal | null => {
    const choice = policy?.(graph.complete[i]!, verdict)
    if (choice === true) return null
    if (choice === false) return 'ignored'
    return verdict
  }

  const blocked = new Map<string, BlockEntry>()
  for (const target of [...actions.keys()].sort()) {
    const blocks: number[] = []
    const unblocks: number[] = []
    for (const i of actions.get(target)!) {
      const refusal = chosen(i, standing(i))
      if (refusal !== null) refused.set(graph.complete[i]!.hex, refusal)
      else if (graph.complete[i]!.record.type === 'block') blocks.push(i)
      else unblocks.push(i)
    }
    const standingBlocks = blocks.filter((b) => !unblocks.some((u) => graph.precedes(b, u)))
    const shown = standingBlocks.map((i) => graph.complete[i]!).sort(byTimeThenId)[0]
    if (shown?.record.type === 'block') {
      const { kind, target: key, signer, time, reason } = shown.record
      blocked.set(target, { kind, target: key, signer, time, reason, id: shown.id })
    }
  }

  const moderators = [...authority.keys()]
    .filter((hex) => moderatorOver(authority.get(hex)!))
    .sort()
    .map((hex) => Buffer.from(hex, 'hex'))

  const owners = new Map<string, Buffer[]>()
  for (const feed of [...bindings.keys()].sort()) {
    owners.set(
      feed,
      [...bindings.get(feed)!].sort().map((hex) => Buffer.from(hex, 'hex'))
    )
  }

  return {
    founder,
    moderators: [founder, ...moderators],
    blocked,
    bindings: owners,
    refused: new Map([...refused.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    pending: graph.pending
  }
}

/**
 * Adds one bind record to a state `evaluate` gave, in place: binds stay
 * outside the causal graph and every rule, so only `bindings` changes, as
 * `evaluate` over all the records would give it (the identities in key order).
 */
export function addBinding(state: ModerationState, feed: Buffer, identity: Buffer): void {
  const key = feed.toString('hex')
  const owners = state.bindings.get(key) ?? []
  if (owners.some((owner) => owner.equals(identity))) return
  state.bindings.set(key, [...owners, Buffer.from(identity)].sort(Buffer.compare))
}

/** The one identity bound to `feed`, or null (none, or several). */
export function ownerOf(state: ModerationState, feed: Buffer): Buffer | null {
  const owners = state.bindings.get(feed.toString('hex'))
  return owners?.length === 1 ? owners[0]! : null
}

/** The block that keeps `feed` out (of the feed itself, or of an identity bound to it), or null. */
export function blockOf(state: ModerationState, feed: Buffer): BlockEntry | null {
  const direct = state.blocked.get(`feed:${feed.toString('hex')}`)
  if (direct) return direct
  for (const owner of state.bindings.get(feed.toString('hex')) ?? []) {
    const entry = state.blocked.get(`identity:${owner.toString('hex')}`)
    if (entry) return entry
  }
  return null
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

function byTimeThenId(a: VerifiedRecord, b: VerifiedRecord): number {
  return a.record.time - b.record.time || (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0)
}
