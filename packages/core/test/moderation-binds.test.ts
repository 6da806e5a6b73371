/**
 * Bind records taken one by one (a writer created in a moderated set, a
 * member's writers arriving): a bind changes only who owns a feed, so the
 * held state follows it without evaluating every record again (making 10,000
 * writers evaluated the rule 10,000 times over all the binds: O(n²),
 * notes/moderation-bench.md), and still equals what `evaluate` gives over all
 * the records, whatever the order binds and acts arrive in.
 */
import fc from 'fast-check'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { evaluate, type ModerationState, ownerOf } from '../src/moderation/evaluate.js'
import { createModeratedSet } from '../src/moderation/invite.js'
import { RecordBook } from '../src/moderation/RecordBook.js'
import { bindFeed, signRecord, type VerifiedRecord } from '../src/moderation/signing.js'

const seeded = (n: number) => crypto.keyPair(Buffer.alloc(32, n))
const founder = seeded(1)
const identities = [seeded(2), seeded(3), seeded(4)]
const set = createModeratedSet(founder.publicKey)
const feedPairs = [seeded(10), seeded(11), seeded(12), seeded(13)]
const feedKey = (i: number) => Hypercore.key(feedPairs[i]!.publicKey)
const bind = (who: number, feed: number) =>
  bindFeed(set.key, identities[who]!, { key: feedKey(feed), keyPair: feedPairs[feed]! })

/** The state with its bindings' entries in key order (evaluate builds them so). */
function canonical(state: ModerationState) {
  return { ...state, bindings: [...state.bindings.entries()].sort(([a], [b]) => (a < b ? -1 : 1)) }
}

describe('bind records in a held state', () => {
  it('a bind taken after the state was read keeps that state (no evaluation again), its owners grown', () => {
    const book = new RecordBook(set.key, founder.publicKey)
    const g = signRecord(set.key, founder, { type: 'grant', target: identities[0]!.publicKey })
    book.add(g.bytes)
    book.add(bind(0, 0).bytes)
    const before = book.state()
    expect(book.add(bind(1, 1).bytes).added).toBe(true)
    const after = book.state()
    expect(after).toBe(before)
    expect(ownerOf(after, feedKey(1))).toEqual(identities[1]!.publicKey)
    // A second identity bound to the same feed: no single owner, as evaluate says.
    book.add(bind(2, 1).bytes)
    expect(ownerOf(book.state(), feedKey(1))).toBeNull()
    expect(canonical(book.state())).toEqual(canonical(evaluate(founder.publicKey, book.records())))
  })

  it('equals evaluate over every record, whatever the order binds and acts arrive and the state is read in', () => {
    const g = signRecord(set.key, founder, { type: 'grant', target: identities[0]!.publicKey })
    const acts: VerifiedRecord[] = [
      g,
      signRecord(
        set.key,
        founder,
        { type: 'block', kind: 'identity', target: identities[1]!.publicKey, reason: '' },
        { deps: [g.id] }
      ),
      signRecord(
        set.key,
        identities[0]!,
        { type: 'block', kind: 'feed', target: feedKey(2), reason: 'x' },
        { deps: [g.id] }
      )
    ]
    const binds = [bind(0, 0), bind(1, 1), bind(2, 1), bind(1, 2), bind(2, 3), bind(0, 3)]
    const all = [...acts, ...binds]
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all, { minLength: 1, maxLength: all.length }),
        fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
        (records, reads) => {
          const book = new RecordBook(set.key, founder.publicKey)
          records.forEach((r, i) => {
            book.add(r.bytes)
            if (reads[i]) book.state()
          })
          expect(canonical(book.state())).toEqual(canonical(evaluate(founder.publicKey, records)))
        }
      ),
      { numRuns: 200 }
    )
  })
})
