/**
 * A block or unblock that follows every record held (a moderator's own call
 * names the heads it holds; a member holding the same records receives it)
 * changes only its target: the held state is carried over, not evaluated
 * again over every record (each block() and each record received cost
 * O(records held), 1.4 s a call at 10,000 records: notes/moderation-bench.md).
 * Counted here through `evaluate`'s calls; and, by properties, the state a
 * book holds after any history, read after every record, equals `evaluate`
 * over the records it holds.
 */
import fc from 'fast-check'
import crypto from 'hypercore-crypto'
import { describe, expect, it, vi } from 'vitest'
import * as rule from '../src/moderation/evaluate.js'
import { RecordBook } from '../src/moderation/RecordBook.js'
import { bindFeed, signRecord } from '../src/moderation/signing.js'
import {
  ACTORS,
  feeds,
  founder,
  identities,
  keyOf,
  op,
  set,
  signOp,
  summary
} from './moderation-history.js'

vi.mock('../src/moderation/evaluate.js', async (original) => {
  const actual = await original<typeof import('../src/moderation/evaluate.js')>()
  return { ...actual, evaluate: vi.fn(actual.evaluate) }
})
const evaluate = vi.mocked(rule.evaluate)

describe('a block that follows every record held', () => {
  it('is taken without evaluating the records again; one that does not is evaluated', () => {
    const book = new RecordBook(set.key, founder.publicKey)
    const moderator = identities[0]!
    const grant = signRecord(set.key, founder, { type: 'grant', target: moderator.publicKey })
    book.add(grant.bytes)
    evaluate.mockClear()
    expect(book.state().moderators).toHaveLength(2)
    for (let i = 0; i < 50; i++) {
      const signer = i % 2 === 0 ? founder : moderator
      const body =
        i % 3 === 2
          ? { type: 'unblock' as const, kind: 'feed' as const, target: feeds[i % 3]! }
          : {
              type: 'block' as const,
              kind: 'feed' as const,
              target: feeds[i % 3]!,
              reason: `r${i}`
            }
      book.add(signRecord(set.key, signer, body, { deps: book.heads(), time: i }).bytes)
      book.state()
    }
    expect(evaluate).toHaveBeenCalledTimes(1)
    expect(summary(book.state())).toEqual(summary(evaluate(founder.publicKey, book.records())))

    // A state handed out stays what it was (the set compares it with the next one);
    // records taken between two reads change one copy.
    evaluate.mockClear()
    const read = book.state()
    const held = [...read.blocked.keys()]
    for (const target of [Buffer.alloc(32, 0xb1), Buffer.alloc(32, 0xb2)]) {
      const body = { type: 'block' as const, kind: 'feed' as const, target, reason: '' }
      book.add(signRecord(set.key, founder, body, { deps: book.heads(), time: 99 }).bytes)
    }
    expect([...read.blocked.keys()]).toEqual(held)
    expect(book.state().blocked.size).toBe(held.length + 2)
    expect(evaluate).not.toHaveBeenCalled()

    // A block naming a bind among its deps: a bind is no one's past, it waits (as evaluate says).
    const feedPair = crypto.keyPair(Buffer.alloc(32, 40))
    const bound = bindFeed(set.key, moderator, { key: feedPair.publicKey, keyPair: feedPair })
    book.add(bound.bytes)
    book.state()
    const namingBind = signRecord(
      set.key,
      founder,
      { type: 'block', kind: 'feed', target: feeds[1]!, reason: 'b' },
      { deps: [...book.heads(), bound.id].sort(Buffer.compare) }
    )
    book.add(namingBind.bytes)
    expect(book.state().pending).toEqual([namingBind.hex])
    expect(summary(book.state())).toEqual(summary(evaluate(founder.publicKey, book.records())))

    // Concurrent with what is held (names none of it): evaluated again.
    evaluate.mockClear()
    book.add(
      signRecord(set.key, founder, { type: 'block', kind: 'feed', target: feeds[0]!, reason: 'c' })
        .bytes
    )
    book.state()
    expect(evaluate).toHaveBeenCalledTimes(1)
  })
})

describe('a held state, read after every record', () => {
  it('equals evaluate over the records held, whatever the history and the order of delivery', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer(), (ops, seed) => {
        // A member's policy (a function of the record): ignore one actor, trust another.
        const ignored = keyOf(2 + (Math.abs(seed) % 4)).publicKey
        const trusted = keyOf(2 + ((Math.abs(seed) + 1) % 4)).publicKey
        const policy: rule.ModerationPolicy = (r) =>
          r.record.signer.equals(ignored)
            ? false
            : r.record.signer.equals(trusted)
              ? true
              : undefined
        const books = Array.from(
          { length: ACTORS },
          (_, i) => new RecordBook(set.key, founder.publicKey, i === 5 ? { policy } : {})
        )
        ops.forEach((o, n) => {
          if (o.k === 'sync') {
            // In its own order: a record may come before its past (pending).
            const records = [...books[o.from]!.records()]
            let s = seed + n
            for (let i = records.length - 1; i > 0; i--) {
              s = (s * 1103515245 + 12345) & 0x7fffffff
              const j = s % (i + 1)
              ;[records[i], records[j]] = [records[j]!, records[i]!]
            }
            for (const r of records) {
              books[o.to]!.add(r.bytes)
              books[o.to]!.state()
            }
          } else {
            books[o.actor]!.add(signOp(books[o.actor]!.heads(), o).bytes)
            books[o.actor]!.state()
          }
        })
        books.forEach((book, i) => {
          const fresh = evaluate(founder.publicKey, book.records(), i === 5 ? policy : undefined)
          expect(summary(book.state())).toEqual(summary(fresh))
        })
      }),
      { numRuns: 300 }
    )
  })
})
