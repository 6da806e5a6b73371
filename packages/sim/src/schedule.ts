/**
 * The event schedule: a pure function of the seed and the options. The same
 * seed gives the same peers, memberships and events in the same order at the
 * same planned times (`fingerprint` proves it); what the stack does in
 * between (Noise keys, timing) varies, the plan does not.
 */
import { createHash } from 'node:crypto'
import { Rng } from '@multifeed/core/fuzz'
import type { SimOptions } from './options.js'

export type PeerKind = 'honest' | 'child' | 'hostile'
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

export interface Schedule {
  readonly seed: number
  readonly peers: PeerPlan[]
  /** 32-byte key of each set. */
  readonly setKeys: Buffer[]
  readonly events: SimEvent[]
  /** Hash of everything above: equal for equal seeds and options. */
  readonly fingerprint: string
}

/** Labels of the derived generators (one per concern, so adding one does not shift the others). */
const PEERS = 1
const KEYS = 2
const EVENTS = 3

export function buildSchedule(seed: number, o: SimOptions): Schedule {
  const peers = planPeers(Rng.derive(seed, PEERS), o)
  const keyRng = Rng.derive(seed, KEYS)
  const setKeys = Array.from({ length: o.sets }, () => keyRng.bytes(32))
  const events = planEvents(Rng.derive(seed, EVENTS), o, peers)
  const hash = createHash('sha256')
  hash.update(JSON.stringify({ peers, events }))
  for (const key of setKeys) hash.update(key)
  return { seed, peers, setKeys, events, fingerprint: hash.digest('hex').slice(0, 16) }
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
  const honest = peers.filter((p) => p.kind !== 'hostile')
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
