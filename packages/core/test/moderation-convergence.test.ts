/**
 * The convergence rule, by properties: random histories of a founder on
 * two devices, three moderators and a member, each signing on its own view
 * of the records (its deps are the heads of what it holds) and merging
 * views now and then (partitions that heal). Whatever the order, the
 * partition and the duplicates a peer receives the records in, it computes
 * one state; a history with no concurrency gives what replaying it in order
 * gives; and a record refused on part of the history is refused the same on
 * all of it.
 */

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Causality } from '../src/moderation/causality.js'
import { evaluate } from '../src/moderation/evaluate.js'
import { RecordBook } from '../src/moderation/RecordBook.js'
import { MAX_DEPS } from '../src/moderation/records.js'
import type { VerifiedRecord } from '../src/moderation/signing.js'
import {
  ACTORS,
  founder,
  hex,
  keyOf,
  type Op,
  op,
  set,
  signOp,
  summary,
  targetOf
} from './moderation-history.js'
import { rng } from './seeded.js'

function heads(view: Map<string, VerifiedRecord>): Buffer[] {
  const named = new Set<string>()
  for (const r of view.values()) for (const d of r.record.deps) named.add(d.toString('hex'))
  return [...view.values()]
    .filter((r) => !named.has(r.hex))
    .map((r) => r.id)
    .sort(Buffer.compare)
    .slice(0, MAX_DEPS)
}

function sign(view: Map<string, VerifiedRecord>, o: Exclude<Op, { k: 'sync' }>): VerifiedRecord {
  const r = signOp(heads(view), o)
  view.set(r.hex, r)
  return r
}

/** Runs a history; returns each actor's view at the end and every record made. */
function play(ops: Op[]): { views: Map<string, VerifiedRecord>[]; all: VerifiedRecord[] } {
  const views = Array.from({ length: ACTORS }, () => new Map<string, VerifiedRecord>())
  const all: VerifiedRecord[] = []
  for (const o of ops) {
    if (o.k === 'sync') {
      for (const [hex, r] of views[o.from]!) views[o.to]!.set(hex, r)
    } else {
      all.push(sign(views[o.actor]!, o))
    }
  }
  return { views, all }
}

function shuffle<T>(items: T[], seed: number): T[] {
  const next = rng(seed)
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const history = fc.array(op, { minLength: 1, maxLength: 40 })

describe('moderation converges', () => {
  it('one state whatever the order, the partitions and the duplicates of delivery', () => {
    fc.assert(
      fc.property(history, fc.integer(), fc.integer({ min: 1, max: 4 }), (ops, seed, parts) => {
        const { all } = play(ops)
        const expected = summary(evaluate(founder.publicKey, all))
        // A member's own policy (a function of the record): ignore one actor, trust another.
        const ignored = keyOf(2 + (Math.abs(seed) % 4)).publicKey
        const trusted = keyOf(2 + ((Math.abs(seed) + 1) % 4)).publicKey
        const policy = (r: VerifiedRecord) =>
          r.record.signer.equals(ignored)
            ? false
            : r.record.signer.equals(trusted)
              ? true
              : undefined
        const chosen = summary(evaluate(founder.publicKey, all, policy))
        expect(summary(evaluate(founder.publicKey, shuffle(all, seed), policy))).toEqual(chosen)
        // Two peers: each gets the records split in `parts` partitions (with
        // duplicates across them), partitions and records in its own order.
        for (const peer of [1, 2]) {
          const next = rng(seed + peer)
          const partitions: VerifiedRecord[][] = Array.from({ length: parts }, () => [])
          for (const r of all) {
            partitions[next() % parts]!.push(r)
            if (next() % 4 === 0) partitions[next() % parts]!.push(r)
          }
          const book = new RecordBook(set.key, founder.publicKey)
          for (const partition of shuffle(partitions, seed ^ peer)) {
            for (const r of shuffle(partition, seed + 7 * peer)) book.add(r.bytes)
            book.state() // evaluated on the way: a cached state must not stick
          }
          expect(summary(book.state())).toEqual(expected)
        }
      }),
      { numRuns: 150 }
    )
  })

  it('a history with no concurrency gives what replaying it in order gives', () => {
    fc.assert(
      fc.property(history, (ops) => {
        // Everyone holds everything before each record: one chain.
        const view = new Map<string, VerifiedRecord>()
        const moderators = new Set<number>()
        const blocked = new Set<string>()
        for (const o of ops) {
          if (o.k === 'sync') continue
          sign(view, o)
          const byFounder = o.actor < 2
          if (o.k === 'auth') {
            if (byFounder && o.who >= 2) {
              if (o.revoke) moderators.delete(o.who)
              else moderators.add(o.who)
            }
          } else if (byFounder || moderators.has(o.actor)) {
            const key = `${o.kind}:${hex(targetOf(o))}`
            if (o.unblock) blocked.delete(key)
            else if (!(o.kind === 'identity' && o.target === 0)) blocked.add(key)
          }
        }
        const state = evaluate(founder.publicKey, view.values())
        const expectedModerators = [...moderators].map((a) => hex(keyOf(a).publicKey)).sort()
        expect(state.moderators.map(hex)).toEqual([hex(founder.publicKey), ...expectedModerators])
        expect([...state.blocked.keys()]).toEqual([...blocked].sort())
      }),
      { numRuns: 150 }
    )
  })

  it('a record refused on part of a history is refused the same on all of it', () => {
    fc.assert(
      fc.property(history, (ops) => {
        const { views, all } = play(ops)
        const whole = evaluate(founder.publicKey, all)
        for (const view of views) {
          // Each view holds the whole past of what it holds.
          const part = evaluate(founder.publicKey, view.values())
          expect(part.pending).toEqual([])
          for (const [id, reason] of part.refused) expect(whole.refused.get(id)).toBe(reason)
        }
      }),
      { numRuns: 150 }
    )
  })
})

/** A record as the causal graph sees it: an id and the ids it names. */
function node(id: number, deps: number[]): VerifiedRecord {
  const idOf = (n: number) => Buffer.alloc(32, 0).fill(n, 28)
  const key = idOf(id)
  return {
    id: key,
    hex: key.toString('hex'),
    bytes: Buffer.alloc(0),
    record: { deps: deps.map(idOf) }
  } as unknown as VerifiedRecord
}

describe('the causal graph', () => {
  it('answers x ≺ y as the transitive closure does, by clocks and by search', () => {
    fc.assert(
      fc.property(
        // Record i names some of the records before it, or (sometimes) one never held.
        fc.array(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 4 }), {
          minLength: 1,
          maxLength: 40
        }),
        fc.integer({ min: 0, max: 9 }),
        (links, missingEvery) => {
          const n = links.length
          const deps = links.map((ds, i) =>
            [...new Set(ds.map((d) => (i === 0 ? -1 : d % (i + missingEvery))))].map((d) =>
              d >= i ? 9999 : d
            )
          )
          const records = deps.map((ds, i) =>
            node(
              i,
              ds.filter((d) => d >= 0)
            )
          )
          // The truth: closure and completeness by brute force.
          const past = deps.map(() => new Set<number>())
          const whole: boolean[] = []
          for (let i = 0; i < n; i++) {
            whole[i] = true
            for (const d of deps[i]!.filter((x) => x >= 0)) {
              if (d === 9999 || !whole[d]) whole[i] = false
              else {
                past[i]!.add(d)
                for (const p of past[d]!) past[i]!.add(p)
              }
            }
          }
          for (const budget of [undefined, 0]) {
            const graph = new Causality(shuffle(records, n), { clockBudget: budget })
            expect(graph.pending).toEqual(
              records
                .filter((_, i) => !whole[i])
                .map((r) => r.hex)
                .sort()
            )
            const at = (i: number) => graph.complete.findIndex((r) => r.hex === records[i]!.hex)
            for (let x = 0; x < n; x++) {
              for (let y = 0; y < n; y++) {
                if (!whole[x] || !whole[y]) continue
                expect(graph.precedes(at(x), at(y)), `${x} ≺ ${y}`).toBe(past[y]!.has(x))
              }
            }
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it('holds records that name each other as pending (no hash allows it; no loop either)', () => {
    const graph = new Causality([node(1, [2]), node(2, [1]), node(3, [])])
    expect(graph.pending).toHaveLength(2)
    expect(graph.complete.map((r) => r.hex)).toEqual([node(3, []).hex])
  })
})
