import c from 'compact-encoding'
import fc from 'fast-check'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import z32 from 'z32'
import { blockOf, evaluate, ownerOf } from '../src/moderation/evaluate.js'
import {
  createModeratedSet,
  formatInvite,
  INVITE_CHARS,
  moderatedSetKey,
  parseInvite
} from '../src/moderation/invite.js'
import { RecordBook } from '../src/moderation/RecordBook.js'
import { decodeRecord, encodeRecord, encodeUnsigned, MAX_DEPS } from '../src/moderation/records.js'
import {
  bindFeed,
  type SignOptions,
  signRecord,
  type VerifiedRecord,
  verifyRecord
} from '../src/moderation/signing.js'

const seeded = (n: number) => crypto.keyPair(Buffer.alloc(32, n))
const founder = seeded(1)
const alice = seeded(2)
const bob = seeded(3)
const mallory = seeded(4)
const set = createModeratedSet(founder.publicKey)
const F = Buffer.alloc(32, 0xf1)
const G = Buffer.alloc(32, 0xf2)

type Signer = typeof founder
const grant = (by: Signer, who: Signer, o: SignOptions = {}) =>
  signRecord(set.key, by, { type: 'grant', target: who.publicKey }, o)
const revoke = (by: Signer, who: Signer, o: SignOptions = {}) =>
  signRecord(set.key, by, { type: 'revoke', target: who.publicKey }, o)
const block = (by: Signer, target: Buffer, o: SignOptions & { reason?: string } = {}) =>
  signRecord(set.key, by, { type: 'block', kind: 'feed', target, reason: o.reason ?? '' }, o)
const unblock = (by: Signer, target: Buffer, o: SignOptions = {}) =>
  signRecord(set.key, by, { type: 'unblock', kind: 'feed', target }, o)
const after = (...records: VerifiedRecord[]): SignOptions => ({ deps: records.map((r) => r.id) })
const run = (...records: VerifiedRecord[]) => evaluate(founder.publicKey, records)
const hex = (b: Buffer) => b.toString('hex')
const isBlocked = (state: ReturnType<typeof run>, feed: Buffer) => blockOf(state, feed) !== null

describe('moderated set id and invite', () => {
  it('is 104 z-base-32 characters that give back the founder, the secret and the key', () => {
    const invite = formatInvite(set)!
    expect(invite).toHaveLength(INVITE_CHARS)
    expect(INVITE_CHARS).toBeLessThanOrEqual(110)
    const parsed = parseInvite(invite)
    expect(parsed.founder.equals(founder.publicKey)).toBe(true)
    expect(parsed.secret!.equals(set.secret!)).toBe(true)
    expect(parsed.key.equals(set.key)).toBe(true)
  })

  it('binds the founder: another founder with the same secret is another set', () => {
    const claimed = moderatedSetKey(mallory.publicKey, set.secret!)
    expect(claimed.equals(set.key)).toBe(false)
    // Mallory's invite, claiming to found the set: her records are of another set.
    const forged = formatInvite({
      founder: mallory.publicKey,
      secret: set.secret!,
      key: claimed,
      tier: 'plain',
      signingKey: claimed
    })!
    const record = signRecord(parseInvite(forged).key, mallory, {
      type: 'grant',
      target: bob.publicKey
    })
    expect(verifyRecord(set.key, record.bytes)).toEqual({ ok: false, reason: 'signature' })
  })

  it('a member holding the invite cannot sign as the founder', () => {
    // Mallory names the founder as signer, signs with her own key.
    const mine = grant(mallory, bob)
    const bytes = Buffer.from(mine.bytes)
    founder.publicKey.copy(bytes, 2) // version, type, then the signer
    expect(verifyRecord(set.key, bytes)).toEqual({ ok: false, reason: 'signature' })
    // Signed as herself, her grant is refused by the rule.
    const state = run(mine)
    expect(state.refused.get(mine.hex)).toBe('unauthorized')
    expect(state.moderators.map(hex)).toEqual([hex(founder.publicKey)])
  })

  it('refuses what is not an invite with ERR_INVALID_KEY', () => {
    const invite = formatInvite(set)!
    for (const bad of [
      '',
      invite.slice(1),
      `${invite}y`,
      invite.replace(/.$/, 'l'),
      z32.encode(Buffer.concat([Buffer.from([4]), founder.publicKey, set.secret!])),
      42 as unknown as string
    ]) {
      expect(() => parseInvite(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    }
  })
})

describe('moderation records on the wire', () => {
  const samples = () => {
    const g = grant(founder, alice, { time: 1 })
    return [
      g,
      revoke(founder, alice, { time: 2, ...after(g) }),
      block(alice, F, { time: 3, reason: 'spam 🥫', ...after(g) }),
      unblock(alice, F, { time: 2 ** 40, ...after(g) }),
      signRecord(set.key, alice, {
        type: 'block',
        kind: 'identity',
        target: bob.publicKey,
        reason: ''
      }),
      bindFeed(set.key, bob, { key: Hypercore.key(mallory.publicKey), keyPair: mallory })
    ]
  }

  it('round-trips each type and verifies', () => {
    for (const r of samples()) {
      expect(encodeRecord(decodeRecord(r.bytes)).equals(r.bytes)).toBe(true)
      const verdict = verifyRecord(set.key, r.bytes)
      expect(verdict.ok).toBe(true)
      if (verdict.ok) expect(verdict.record.hex).toBe(r.hex)
    }
  })

  it('refuses any mutated byte, any truncation and any extension', () => {
    for (const r of samples()) {
      for (let i = 0; i < r.bytes.byteLength; i++) {
        const bytes = Buffer.from(r.bytes)
        bytes[i]! ^= 0x01
        const verdict = verifyRecord(set.key, bytes)
        expect(verdict.ok, `byte ${i} of a ${r.record.type}`).toBe(false)
      }
      for (const bytes of [r.bytes.subarray(0, -1), Buffer.concat([r.bytes, Buffer.alloc(1)])]) {
        expect(verifyRecord(set.key, bytes)).toMatchObject({ ok: false, reason: 'malformed' })
      }
    }
  })

  it("never throws on a peer's bytes: random, or a record with bytes changed, cut or added", () => {
    const records = samples()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1100 }).map((b) => Buffer.from(b)),
          fc
            .tuple(
              fc.integer({ min: 0, max: records.length - 1 }),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
              fc.nat(),
              fc.uint8Array({ maxLength: 8 })
            )
            .map(([which, changes, cut, extra]) => {
              const bytes = Buffer.from(records[which]!.bytes)
              for (const [at, value] of changes) bytes[at % bytes.length] = value
              return Buffer.concat([bytes.subarray(0, bytes.length - (cut % 4)), extra])
            })
        ),
        (bytes) => {
          const verdict = verifyRecord(set.key, bytes)
          if (!verdict.ok) {
            expect(['malformed', 'signature', 'feed-key']).toContain(verdict.reason)
            if (verdict.reason === 'malformed')
              expect(verdict.error?.code).toBe('ERR_MALFORMED_MESSAGE')
          } else {
            // Only an unchanged record verifies.
            expect(records.some((r) => r.bytes.equals(bytes))).toBe(true)
          }
        }
      ),
      { numRuns: 2000 }
    )
  })

  it('reports malformed records with ERR_MALFORMED_MESSAGE and what was wrong', () => {
    const g = grant(founder, alice, { time: 5 })
    const cases: Array<[string, Buffer, RegExp]> = [
      ['version', Buffer.concat([Buffer.from([2]), g.bytes.subarray(1)]), /version/],
      ['type', Buffer.concat([Buffer.from([1, 9]), g.bytes.subarray(2)]), /type/],
      [
        // time 5 written in three bytes (0xfd prefix): the same content, other bytes.
        'non-canonical',
        Buffer.concat([g.bytes.subarray(0, 34), Buffer.from([0xfd, 5, 0]), g.bytes.subarray(35)]),
        /canonical/
      ],
      ['too long', Buffer.alloc(2000, 1), /at most 1024/]
    ]
    for (const [what, bytes, message] of cases) {
      expect(() => decodeRecord(bytes), what).toThrow(
        expect.objectContaining({
          code: 'ERR_MALFORMED_MESSAGE',
          message: expect.stringMatching(message)
        })
      )
      expect(verifyRecord(set.key, bytes)).toMatchObject({ ok: false, reason: 'malformed' })
    }
  })

  it('refuses deps out of order, repeated or too many, and an unknown target kind', () => {
    const a = grant(founder, alice)
    const b = grant(founder, bob)
    const [low, high] = Buffer.compare(a.id, b.id) < 0 ? [a.id, b.id] : [b.id, a.id]
    const withDeps = (deps: Buffer[]) => {
      const r = grant(founder, alice, { time: 7 })
      // version, type, signer, time: then the deps (none in r).
      const head = r.bytes.subarray(0, 35)
      return Buffer.concat([head, c.encode(c.uint, deps.length), ...deps, r.bytes.subarray(36)])
    }
    expect(() => decodeRecord(withDeps([high, low]))).toThrow(/strictly ascending/)
    expect(() => decodeRecord(withDeps([low, low]))).toThrow(/strictly ascending/)
    const many = Array.from({ length: MAX_DEPS + 1 }, (_, i) => Buffer.alloc(32, i))
    expect(() => decodeRecord(withDeps(many))).toThrow(/at most 16 deps/)
    // A bind is outside the causal graph: it names no past.
    const bind = bindFeed(set.key, bob, { key: G, keyPair: { ...bob, publicKey: G } }, { time: 7 })
    const named = Buffer.concat([
      bind.bytes.subarray(0, 35),
      Buffer.from([1]),
      low,
      bind.bytes.subarray(36)
    ])
    expect(() => decodeRecord(named)).toThrow(/names no deps/)
    const u = unblock(founder, F, { time: 7 })
    const kind = Buffer.from(u.bytes)
    kind[36] = 7 // after version, type, signer, time, deps count
    expect(() => decodeRecord(kind)).toThrow(/kind/)
  })

  it('refuses to sign what peers would refuse, with ERR_INVALID_ARGUMENT', () => {
    const code = expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    expect(() => block(founder, F, { reason: 'x'.repeat(281) })).toThrow(code)
    expect(() => block(founder, Buffer.alloc(31))).toThrow(code)
    const deps = Array.from({ length: MAX_DEPS + 1 }, (_, i) => Buffer.alloc(32, i))
    expect(() => block(founder, F, { deps })).toThrow(code)
    expect(() =>
      signRecord(
        set.key,
        { publicKey: founder.publicKey, secretKey: Buffer.alloc(10) },
        {
          type: 'grant',
          target: alice.publicKey
        }
      )
    ).toThrow(code)
  })

  it('binds a feed to an identity only with both signatures and the feed key of its signer', () => {
    const feedPair = seeded(9)
    const key = Hypercore.key(feedPair.publicKey)
    const ok = bindFeed(set.key, bob, { key, keyPair: feedPair })
    expect(verifyRecord(set.key, ok.bytes).ok).toBe(true)
    // Mallory claims bob's feed: the feed's signer is not hers, so she cannot sign its half.
    const claimed = bindFeed(set.key, mallory, { key, keyPair: seeded(10) })
    expect(verifyRecord(set.key, claimed.bytes)).toEqual({ ok: false, reason: 'feed-key' })
    // ... nor reuse bob's feed half (it names bob) under her own, valid, record signature.
    const { signature: _, ...theirs } = decodeRecord(ok.bytes)
    const signable = encodeUnsigned({ ...theirs, signer: mallory.publicKey })
    const domain = Buffer.from('multifeed/moderation/1\n')
    const resigned = Buffer.concat([
      signable,
      crypto.sign(Buffer.concat([domain, set.key, signable]), mallory.secretKey)
    ])
    expect(verifyRecord(set.key, resigned)).toEqual({ ok: false, reason: 'signature' })
    // A compat core: the feed key is its signer.
    expect(
      verifyRecord(
        set.key,
        bindFeed(set.key, bob, { key: feedPair.publicKey, keyPair: feedPair }).bytes
      ).ok
    ).toBe(true)
  })
})

describe('the convergence rule', () => {
  it('a founder block holds, with who, when and why; an unblock that saw it lifts it', () => {
    const b = block(founder, F, { time: 100, reason: 'spam' })
    const state = run(b)
    expect(blockOf(state, F)).toMatchObject({ kind: 'feed', time: 100, reason: 'spam' })
    expect(blockOf(state, F)!.signer.equals(founder.publicKey)).toBe(true)
    expect(isBlocked(state, G)).toBe(false)
    const u = unblock(founder, F, after(b))
    expect(isBlocked(run(b, u), F)).toBe(false)
    // A block again after the unblock holds again.
    expect(isBlocked(run(b, u, block(founder, F, after(u))), F)).toBe(true)
  })

  it('a replayed block changes nothing after its unblock', () => {
    const b = block(founder, F)
    const u = unblock(founder, F, after(b))
    const book = new RecordBook(set.key, founder.publicKey)
    for (const r of [b, u, b, u]) book.add(r.bytes)
    expect(book.refusals.duplicate).toBe(2)
    expect(book.size).toBe(2)
    expect(isBlocked(book.state(), F)).toBe(false)
  })

  it('a concurrent block wins over an unblock that did not see it', () => {
    const b1 = block(founder, F, { time: 1 })
    const u = unblock(founder, F, after(b1))
    const b2 = block(founder, F, { time: 2 }) // concurrent with both
    expect(isBlocked(run(b1, u, b2), F)).toBe(true)
    expect(blockOf(run(b1, u, b2), F)!.id.equals(b2.id)).toBe(true)
    // An unblock that saw both lifts both.
    expect(isBlocked(run(b1, u, b2, unblock(founder, F, after(u, b2))), F)).toBe(false)
  })

  it('shows the earliest of the blocks in force, then the lowest id', () => {
    // A later block with the lower id: the time decides, not the id.
    let n = 0
    let late = block(founder, F, { time: 9, reason: 'late' })
    const early = block(founder, F, { time: 3, reason: 'early' })
    while (Buffer.compare(late.id, early.id) > 0) {
      late = block(founder, F, { time: 9, reason: `late ${++n}` })
    }
    expect(blockOf(run(late, early), F)!.reason).toBe('early')
    expect(blockOf(run(early, late), F)!.reason).toBe('early')
    const tie = [
      block(founder, F, { time: 3, reason: 'a' }),
      block(founder, F, { time: 3, reason: 'b' })
    ]
    const lowest = tie.sort((x, y) => Buffer.compare(x.id, y.id))[0]!
    expect(blockOf(run(...tie), F)!.id.equals(lowest.id)).toBe(true)
  })

  it('a block by a member who is no moderator changes nothing', () => {
    const b = block(mallory, F)
    const state = run(b)
    expect(isBlocked(state, F)).toBe(false)
    expect(state.refused.get(b.hex)).toBe('unauthorized')
  })

  it('a moderator blocks once it has seen its grant', () => {
    const g = grant(founder, alice)
    const blind = block(alice, F) // made before alice held her grant
    const seen = block(alice, G, after(g))
    const state = run(g, blind, seen)
    expect(state.moderators.map(hex)).toEqual([hex(founder.publicKey), hex(alice.publicKey)])
    expect(state.refused.get(blind.hex)).toBe('unauthorized')
    expect(isBlocked(state, G)).toBe(true)
  })

  it("a revoked moderator's later blocks are ignored, back-dated or not; what the founder saw stays", () => {
    const g = grant(founder, alice)
    const before = block(alice, F, after(g))
    const r = revoke(founder, alice, after(before))
    const later = block(alice, G, after(r)) // she saw her revoke
    const backDated = block(alice, Buffer.alloc(32, 0xf3), after(g)) // she claims not to have
    const state = run(g, before, r, later, backDated)
    expect(state.moderators.map(hex)).toEqual([hex(founder.publicKey)])
    expect(isBlocked(state, F)).toBe(true)
    expect(state.refused.get(later.hex)).toBe('revoked')
    expect(state.refused.get(backDated.hex)).toBe('revoked')
    expect(isBlocked(state, G)).toBe(false)
    // Her unblock of her own earlier block, after the revoke, is ignored too.
    const undo = unblock(alice, F, after(r))
    expect(isBlocked(run(g, before, r, undo), F)).toBe(true)
  })

  it('the founder cannot be revoked or blocked, and only the founder grants', () => {
    const g = grant(founder, alice)
    const selfRevoke = revoke(founder, founder)
    const byModerator = revoke(alice, founder, after(g))
    const grantByModerator = grant(alice, bob, after(g))
    const blockFounder = signRecord(
      set.key,
      alice,
      { type: 'block', kind: 'identity', target: founder.publicKey, reason: '' },
      after(g)
    )
    const state = run(g, selfRevoke, byModerator, grantByModerator, blockFounder)
    expect(state.moderators.map(hex)).toEqual([hex(founder.publicKey), hex(alice.publicKey)])
    expect(state.refused.get(selfRevoke.hex)).toBe('immutable')
    expect(state.refused.get(byModerator.hex)).toBe('unauthorized')
    expect(state.refused.get(grantByModerator.hex)).toBe('unauthorized')
    expect(state.refused.get(blockFounder.hex)).toBe('immutable')
    expect(state.blocked.size).toBe(0)
  })

  it('grant, revoke and grant again: a moderator again, for what follows the new grant', () => {
    const g1 = grant(founder, alice)
    const r = revoke(founder, alice, after(g1))
    const g2 = grant(founder, alice, after(r))
    const b = block(alice, F, after(g2))
    const state = run(g1, r, g2, b)
    expect(state.moderators.map(hex)).toContain(hex(alice.publicKey))
    expect(isBlocked(state, F)).toBe(true)
    expect(run(g1, r).moderators.map(hex)).not.toContain(hex(alice.publicKey))
  })

  it("a revoke wins over a concurrent grant (the founder's two devices)", () => {
    const g1 = grant(founder, alice)
    const r = revoke(founder, alice, after(g1))
    const g2 = grant(founder, alice, after(g1)) // the other device had not seen the revoke
    const b = block(alice, F, after(g2))
    const state = run(g1, r, g2, b)
    expect(state.moderators.map(hex)).not.toContain(hex(alice.publicKey))
    expect(state.refused.get(b.hex)).toBe('revoked')
    expect(isBlocked(state, F)).toBe(false)
  })

  it('a moderator may lift a block it saw, whoever signed it', () => {
    const g = grant(founder, alice)
    const b = block(founder, F, after(g))
    expect(isBlocked(run(g, b, unblock(alice, F, after(b))), F)).toBe(false)
  })

  it('an identity block reaches every feed bound to it, bound before or after', () => {
    const feed1 = seeded(20)
    const feed2 = seeded(21)
    const k1 = Hypercore.key(feed1.publicKey)
    const k2 = Hypercore.key(feed2.publicKey)
    const bind1 = bindFeed(set.key, mallory, { key: k1, keyPair: feed1 })
    const b = signRecord(set.key, founder, {
      type: 'block',
      kind: 'identity',
      target: mallory.publicKey,
      reason: 'spammer'
    })
    const bind2 = bindFeed(set.key, mallory, { key: k2, keyPair: feed2 }) // made after the block
    const state = run(bind1, b, bind2)
    expect(ownerOf(state, k1)!.equals(mallory.publicKey)).toBe(true)
    expect(blockOf(state, k1)).toMatchObject({ kind: 'identity', reason: 'spammer' })
    expect(blockOf(state, k2)).toMatchObject({ kind: 'identity', reason: 'spammer' })
    expect(isBlocked(state, F)).toBe(false)
    // A feed whose key pair signed two identities has no one owner; a block of either holds.
    const twice = bindFeed(set.key, bob, { key: k1, keyPair: feed1 })
    const both = run(bind1, twice, b)
    expect(ownerOf(both, k1)).toBe(null)
    expect(both.bindings.get(hex(k1))).toHaveLength(2)
    expect(isBlocked(both, k1)).toBe(true)
  })

  it("a member's policy ignores a moderator or trusts more; the founder stays immutable", () => {
    const g = grant(founder, alice)
    const byAlice = block(alice, F, after(g))
    const byMallory = block(mallory, G)
    const blockFounder = signRecord(set.key, mallory, {
      type: 'block',
      kind: 'identity',
      target: founder.publicKey,
      reason: ''
    })
    const records = [g, byAlice, byMallory, blockFounder]
    const ignoreAlice = (r: VerifiedRecord) =>
      r.record.signer.equals(alice.publicKey) ? false : undefined
    const trustMallory = (r: VerifiedRecord) =>
      r.record.signer.equals(mallory.publicKey) ? true : undefined
    const plain = evaluate(founder.publicKey, records)
    expect([isBlocked(plain, F), isBlocked(plain, G)]).toEqual([true, false])
    const ignoring = evaluate(founder.publicKey, records, ignoreAlice)
    expect(isBlocked(ignoring, F)).toBe(false)
    expect(ignoring.refused.get(byAlice.hex)).toBe('ignored')
    const trusting = evaluate(founder.publicKey, records, trustMallory)
    expect(isBlocked(trusting, G)).toBe(true)
    expect(trusting.refused.get(blockFounder.hex)).toBe('immutable')
    expect(trusting.moderators.map(hex)).toEqual(plain.moderators.map(hex))
    // The policy sees the rule's verdict.
    const seen: Array<[string, string | null]> = []
    evaluate(founder.publicKey, records, (r, verdict) => {
      seen.push([r.hex, verdict])
      return undefined
    })
    expect(new Map(seen)).toEqual(
      new Map([
        [byAlice.hex, null],
        [byMallory.hex, 'unauthorized']
      ])
    )
  })

  it('a record waits for its whole past, then counts', () => {
    const g = grant(founder, alice)
    const b = block(alice, F, after(g))
    const waiting = run(b)
    expect(waiting.pending).toEqual([b.hex])
    expect(isBlocked(waiting, F)).toBe(false)
    expect(waiting.refused.size).toBe(0)
    const whole = run(b, g)
    expect(whole.pending).toEqual([])
    expect(isBlocked(whole, F)).toBe(true)
  })

  it('holds at most maxRecords records; a duplicate is still a duplicate when full', () => {
    const book = new RecordBook(set.key, founder.publicKey, { maxRecords: 2 })
    const [a, b, c] = [block(founder, F), block(founder, G), unblock(founder, F)]
    expect([a, b, c, a].map((r) => book.add(r.bytes).added)).toEqual([true, true, false, false])
    expect(book.refusals).toMatchObject({ full: 1, duplicate: 1 })
    expect(book.size).toBe(2)
  })

  it('counts each refusal by reason', () => {
    const book = new RecordBook(set.key, founder.publicKey)
    const g = grant(founder, alice)
    const mutated = Buffer.from(g.bytes)
    mutated[mutated.length - 1]! ^= 1
    const foreign = signRecord(moderatedSetKey(founder.publicKey, Buffer.alloc(32)), founder, {
      type: 'grant',
      target: alice.publicKey
    })
    expect(book.add(g.bytes)).toMatchObject({ added: true })
    expect(book.add(g.bytes)).toEqual({ added: false, reason: 'duplicate' })
    expect(book.add(mutated)).toEqual({ added: false, reason: 'signature' })
    expect(book.add(foreign.bytes)).toEqual({ added: false, reason: 'signature' })
    expect(book.add(Buffer.from([1, 2, 3]))).toEqual({ added: false, reason: 'malformed' })
    expect(book.refusals).toEqual({
      malformed: 1,
      signature: 2,
      'feed-key': 0,
      duplicate: 1,
      full: 0
    })
    // A new record follows the grant; binds are no one's past.
    const feedPair = seeded(30)
    book.add(
      bindFeed(set.key, bob, { key: Hypercore.key(feedPair.publicKey), keyPair: feedPair }).bytes
    )
    expect(book.size).toBe(2)
    expect(book.heads().map(hex)).toEqual([g.hex])
  })
})
