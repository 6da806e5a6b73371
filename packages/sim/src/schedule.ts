/**
 * The event schedule: a pure function of the seed and the options. The same
 * seed gives the same peers, memberships and events in the same order at the
 * same planned times (`fingerprint` proves it); what the stack does in
 * between (Noise keys, timing) varies, the plan does not.
 */
import { createHash } from 'node:crypto'
import { Rng } from '@multifeed/core/fuzz'
import type { SimOptions } from './options.js'

/** `spammer`: an honest peer's code (moderated runs) that floods its sets with new writers. */
export type PeerKind = 'honest' | 'child' | 'hostile' | 'spammer'
export type HostileMode = 'keyholder' | 'forger' | 'stranger'

export interface PeerPlan {
  readonly index: number
  readonly kind: PeerKind
  /** Sets this peer is a member of (for a hostile peer: the sets it attacks). */
  readonly sets: number[]
  /** Online from the start (else it joins later). */
  readonly online: boolean
  /** A hostile peer's role in each of its sets (same order as `sets`). */
  readonly modes: HostileMode[]
}

export type SimEvent =
  | { at: number; kind: 'append'; peer: number; set: number; count: number }
  | { at: number; kind: 'join'; peer: number }
  | { at: number; kind: 'leave'; peer: number }
  | { at: number; kind: 'crash'; peer: number }
  | { at: number; kind: 'partition'; side: number[] }
  | { at: number; kind: 'heal' }
  | { at: number; kind: 'slow'; a: number; b: number; ms: number }
  | { at: number; kind: 'stall'; from: number; to: number }
  | { at: number; kind: 'unstall'; from: number; to: number }
  | { at: number; kind: 'hostile'; peer: number; steps: number }
  | { at: number; kind: 'remove'; peer: number; set: number }
  /** The spammer makes `writers` new writers of `set`, `count` junk blocks each. */
  | { at: number; kind: 'spam'; peer: number; set: number; writers: number; count: number }
  /**
   * A moderator (or the founder) blocks or unblocks, in `set`, the spammer's
   * identity or a feed of it (to block: its latest; to unblock: one it blocks).
   */
  | {
      at: number
      kind: 'moderate'
      peer: number
      set: number
      action: 'block' | 'unblock'
      target: 'feed' | 'identity'
    }
  /** The founder grants or revokes the moderator right of peer `moderator` in `set`. */
  | {
      at: number
      kind: 'authority'
      peer: number
      set: number
      action: 'grant' | 'revoke'
      moderator: number
    }

/** Who holds authority in a moderated run (every set alike). */
export interface ModerationPlan {
  /** The founder of every set: peer 0 (never leaves). */
  readonly founder: number
  /** Peers the founder grants at the start (one in process, one in a child process when there is one). */
  readonly moderators: number[]
  /** The peer that floods new writers (a member of every set). */
  readonly spammer: number
}

export interface Schedule {
  readonly seed: number
  readonly peers: PeerPlan[]
  /** 32-byte key of each set. */
  readonly setKeys: Buffer[]
  readonly events: SimEvent[]
  /** Moderated runs: who founds, moderates and spams; null otherwise. */
  readonly moderation: ModerationPlan | null
  /** Hash of everything above: equal for equal seeds and options. */
  readonly fingerprint: string
}

/** Labels of the derived generators (one per concern, so adding one does not shift the others). */
const PEERS = 1
const KEYS = 2
const EVENTS = 3
const MODERATION = 4

export function buildSchedule(seed: number, o: SimOptions): Schedule {
  const peers = planPeers(Rng.derive(seed, PEERS), o)
  const keyRng = Rng.derive(seed, KEYS)
  const setKeys = Array.from({ length: o.sets }, () => keyRng.bytes(32))
  const moderation = o.moderated ? planModeration(peers) : null
  let events = planEvents(Rng.derive(seed, EVENTS), o, peers)
  if (moderation !== null) {
    const acts = planModerationEvents(Rng.derive(seed, MODERATION), o, moderation)
    events = [...events, ...acts].sort((a, b) => a.at - b.at)
  }
  const hash = createHash('sha256')
  hash.update(
    JSON.stringify(moderation === null ? { peers, events } : { peers, events, moderation })
  )
  for (const key of setKeys) hash.update(key)
  return {
    seed,
    peers,
    setKeys,
    events,
    moderation,
    fingerprint: hash.digest('hex').slice(0, 16)
  }
}

/**
 * A moderated run's roles: the last in-process honest peer turns spammer
 * (a member of every set, online from the start); peer 1 and the first
 * child peer (else peer 2) are the moderators (members of every set too).
 */
function planModeration(peers: PeerPlan[]): ModerationPlan {
  const local = peers.filter((p) => p.kind === 'honest')
  const spam = local[local.length - 1]!
  const all = peers[0]!.sets
  peers[spam.index] = { ...spam, kind: 'spammer', sets: [...all], online: true }
  const child = peers.find((p) => p.kind === 'child')
  const moderators = [1, child?.index ?? 2]
  // Moderators act in every set: members of all.
  for (const m of moderators) peers[m] = { ...peers[m]!, sets: [...all] }
  return { founder: 0, moderators, spammer: spam.index }
}

/**
 * The moderation events, drawn apart from the others (a plain run's
 * schedule is unchanged): the grants first, then spam, blocks and unblocks
 * of the spammer's identity or feeds by any moderator, pairs of concurrent
 * opposite acts by two moderators, and the founder revoking and granting
 * again. They fall wherever the other events do: during partitions, while
 * peers (moderators too) are away or crashed.
 */
function planModerationEvents(rng: Rng, o: SimOptions, plan: ModerationPlan): SimEvent[] {
  const span = o.seconds * 1000
  const events: SimEvent[] = []
  const sets = Array.from({ length: o.sets }, (_, s) => s)
  for (const set of sets) {
    for (const moderator of plan.moderators) {
      events.push({ at: 0, kind: 'authority', peer: plan.founder, set, action: 'grant', moderator })
    }
  }
  const granted = new Set(sets.flatMap((s) => plan.moderators.map((m) => `${s}:${m}`)))
  const acting = [plan.founder, ...plan.moderators]
  const count = Math.max(6, Math.round(o.seconds * 1.5))
  const times = Array.from({ length: count }, () => Math.round(span * 0.05) + rng.int(span * 0.95))
  times.sort((a, b) => a - b)
  for (const at of times) {
    const kind = rng.weighted({ spam: 35, block: 25, unblock: 15, concurrent: 12, authority: 8 })
    const set = rng.pick(sets)
    const target = rng.chance(0.5) ? ('feed' as const) : ('identity' as const)
    if (kind === 'spam') {
      const writers = rng.range(1, 3)
      events.push({ at, kind, peer: plan.spammer, set, writers, count: rng.range(1, 8) })
    } else if (kind === 'block' || kind === 'unblock') {
      events.push({ at, kind: 'moderate', peer: rng.pick(acting), set, action: kind, target })
    } else if (kind === 'concurrent') {
      // Two moderators at once, neither seeing the other's record: two blocks of
      // one target, or an unblock (of the blocks its signer saw) and a block.
      const first = rng.pick(acting)
      const second = rng.pick(acting.filter((m) => m !== first))
      const firstAct = rng.chance(0.5) ? ('block' as const) : ('unblock' as const)
      events.push({ at, kind: 'moderate', peer: first, set, action: firstAct, target })
      events.push({ at, kind: 'moderate', peer: second, set, action: 'block', target })
    } else {
      const moderator = rng.pick(plan.moderators)
      const id = `${set}:${moderator}`
      const action = granted.has(id) ? ('revoke' as const) : ('grant' as const)
      if (action === 'revoke') granted.delete(id)
      else granted.add(id)
      events.push({ at, kind: 'authority', peer: plan.founder, set, action, moderator })
    }
  }
  return events
}

function planPeers(rng: Rng, o: SimOptions): PeerPlan[] {
  // The first two peers are honest in-process peers that hold every set.
  const hostile = Math.min(Math.round(o.peers * o.hostile), o.peers - 2)
  const honest = o.peers - hostile
  const children = Math.min(o.children, honest - 2)
  const plans: PeerPlan[] = []
  for (let i = 0; i < o.peers; i++) {
    const kind: PeerKind = i >= honest ? 'hostile' : i >= honest - children ? 'child' : 'honest'
    const sets = Array.from({ length: o.sets }, (_, s) => s).filter(() => rng.chance(0.6))
    if (sets.length === 0) sets.push(rng.int(o.sets))
    const modes: HostileMode[] =
      kind === 'hostile'
        ? sets.map(() => rng.weighted<HostileMode>({ keyholder: 60, forger: 20, stranger: 20 }))
        : []
    // Most peers start online; a few join later (never the first two).
    const online = i < 2 || kind === 'hostile' || rng.chance(0.85)
    plans.push({ index: i, kind, sets, online, modes })
  }
  // Every set has at least two honest members (the first two peers hold every set).
  for (const plan of plans.slice(0, 2)) {
    plan.sets.splice(0, plan.sets.length, ...Array.from({ length: o.sets }, (_, s) => s))
  }
  return plans
}

function planEvents(rng: Rng, o: SimOptions, peers: PeerPlan[]): SimEvent[] {
  const span = o.seconds * 1000
  const honest = peers.filter((p) => p.kind !== 'hostile' && p.kind !== 'spammer')
  const hostile = peers.filter((p) => p.kind === 'hostile')
  const children = peers.filter((p) => p.kind === 'child')
  const online = new Set(peers.filter((p) => p.online).map((p) => p.index))
  const events: SimEvent[] = []
  const count = Math.max(8, Math.round(o.seconds * (1 + o.peers / 10)))
  const times = Array.from({ length: count }, () => rng.int(span)).sort((a, b) => a - b)
  let partitioned = false
  /** Writers (peer:set) that appended, and those whose feed was removed (their name is retired). */
  const writers = new Set<string>()
  const retired = new Set<string>()
  const stalled: Array<{ from: number; to: number }> = []
  for (const at of times) {
    const kind = rng.weighted({
      append: 50,
      churn: 12,
      crash: children.length > 0 ? 4 : 0,
      partition: 3,
      slow: 5,
      stall: 4,
      hostile: hostile.length > 0 ? 12 : 0,
      remove: 2
    })
    if (kind === 'append') {
      const up = honest.filter((p) => online.has(p.index))
      if (up.length === 0) continue
      const peer = rng.pick(up)
      const set = rng.pick(peer.sets)
      if (retired.has(`${peer.index}:${set}`)) continue
      writers.add(`${peer.index}:${set}`)
      events.push({ at, kind, peer: peer.index, set, count: rng.range(1, 20) })
    } else if (kind === 'remove') {
      // The members of a set drop one writer's feed for good (its writer included).
      const live = [...writers].filter(
        (w) => !retired.has(w) && online.has(Number(w.split(':')[0]))
      )
      if (live.length === 0) continue
      const w = rng.pick(live)
      retired.add(w)
      const [peer, set] = w.split(':').map(Number) as [number, number]
      events.push({ at, kind, peer, set })
    } else if (kind === 'churn') {
      // Never the first peer: it stays up, so every set keeps a member online.
      const peer = rng.pick(honest.slice(1))
      if (peer === undefined) continue
      if (online.has(peer.index)) online.delete(peer.index)
      else online.add(peer.index)
      events.push({ at, kind: online.has(peer.index) ? 'join' : 'leave', peer: peer.index })
    } else if (kind === 'crash') {
      const up = children.filter((p) => online.has(p.index))
      if (up.length === 0) continue
      const peer = rng.pick(up)
      online.delete(peer.index)
      events.push({ at, kind: 'crash', peer: peer.index })
    } else if (kind === 'partition') {
      if (partitioned) events.push({ at, kind: 'heal' })
      else {
        const side = peers.filter(() => rng.chance(0.5)).map((p) => p.index)
        events.push({ at, kind: 'partition', side })
      }
      partitioned = !partitioned
    } else if (kind === 'slow') {
      const [a, b] = pair(rng, peers)
      events.push({ at, kind, a, b, ms: rng.pick([0, 5, 20, 100]) })
    } else if (kind === 'stall') {
      const open = stalled.length > 0 && rng.chance(0.5)
      if (open) {
        const s = stalled.splice(rng.int(stalled.length), 1)[0]!
        events.push({ at, kind: 'unstall', ...s })
      } else {
        // Honest links stall both ways; a hostile peer stops reading for good.
        const [from, to] = pair(rng, peers)
        stalled.push({ from, to })
        events.push({ at, kind: 'stall', from, to })
      }
    } else {
      const peer = rng.pick(hostile)
      events.push({ at, kind: 'hostile', peer: peer.index, steps: rng.range(1, 30) })
    }
  }
  return events
}

function pair(rng: Rng, peers: PeerPlan[]): [number, number] {
  const a = rng.int(peers.length)
  let b = rng.int(peers.length - 1)
  if (b >= a) b++
  return [a, b]
}
