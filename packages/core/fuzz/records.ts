/**
 * Moderation records for the puppet to send a moderated X: a valid history
 * (the founder grants two moderators, they block and unblock feeds and an
 * identity, the founder revokes one), sent in random order and slices, and
 * the attacks on it: forged signatures, fields of a valid record changed
 * under its old signature, bytes mutated, records replayed, blocks signed by
 * the revoked moderator after its revoke or by a key holder never granted,
 * records naming ids nobody holds, oversize records, and floods of distinct
 * unauthorized records. Everything is signed by core's own signer, so a
 * valid record is valid.
 *
 * The episode checks X against the history alone: `expected` is what the
 * convergence rule gives from the history (and X's own records); whatever
 * else the puppet sent must change nothing.
 */
import type { KeyPair } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import {
  decodeRecord,
  encodeRecord,
  MAX_DEPS,
  MAX_RECORD_BYTES,
  type RecordBody
} from '../src/moderation/records.js'
import { signRecord, type VerifiedRecord } from '../src/moderation/signing.js'
import { mutate } from './mutate.js'
import type { Rng } from './rng.js'

/** What a record the puppet sends is meant to be (counted in the summary). */
export type RecordAttack =
  | 'valid'
  | 'replay'
  | 'forged'
  | 'mutated-field'
  | 'mutated-bytes'
  | 'revoked-signer'
  | 'unauthorized'
  | 'unknown-deps'
  | 'oversize'
  | 'flood'

/** Records of one kind the puppet sends in one message. */
export interface RecordBatch {
  attack: RecordAttack
  records: Buffer[]
}

type Body = Exclude<RecordBody, { type: 'bind' }>

export class RecordForge {
  readonly setKey: Buffer
  readonly founder: KeyPair
  /** The valid history, in causal order (each names the heads before it). */
  readonly history: VerifiedRecord[] = []
  /** The moderator the founder revokes (its later records are `revoked` or `unauthorized`). */
  readonly revoked: KeyPair
  /** A key holder never granted. */
  readonly stranger: KeyPair
  /** Ids (hex) of the history's records sent at least once (a later copy is a replay). */
  readonly sent = new Set<string>()
  readonly #rng: Rng
  #time = 1

  constructor(rng: Rng, setKey: Buffer, founder: KeyPair) {
    this.#rng = rng
    this.setKey = setKey
    this.founder = founder
    const kept = crypto.keyPair(rng.bytes(32))
    this.revoked = crypto.keyPair(rng.bytes(32))
    this.stranger = crypto.keyPair(rng.bytes(32))
    const feeds = Array.from({ length: 4 }, () => rng.bytes(32))
    const identity = rng.bytes(32)
    this.#append(founder, { type: 'grant', target: kept.publicKey })
    this.#append(founder, { type: 'grant', target: this.revoked.publicKey })
    this.#append(kept, { type: 'block', kind: 'feed', target: feeds[0]!, reason: 'spam' })
    this.#append(this.revoked, { type: 'block', kind: 'feed', target: feeds[1]!, reason: '' })
    this.#append(kept, { type: 'block', kind: 'identity', target: identity, reason: 'flood' })
    this.#append(founder, { type: 'revoke', target: this.revoked.publicKey })
    this.#append(kept, { type: 'unblock', kind: 'feed', target: feeds[1]! })
    this.#append(founder, { type: 'block', kind: 'feed', target: feeds[2]!, reason: 'founder' })
    this.#append(kept, { type: 'unblock', kind: 'feed', target: feeds[2]! })
    this.#append(kept, { type: 'block', kind: 'feed', target: feeds[3]!, reason: 'last' })
  }

  /** One message's worth of records of a drawn attack. */
  next(): RecordBatch {
    const rng = this.#rng
    const attack = rng.weighted<RecordAttack>({
      valid: 6,
      replay: 2,
      forged: 3,
      'mutated-field': 3,
      'mutated-bytes': 3,
      'revoked-signer': 2,
      unauthorized: 2,
      'unknown-deps': 2,
      oversize: 1,
      flood: 1
    })
    return { attack, records: this.#make(attack) }
  }

  #make(attack: RecordAttack): Buffer[] {
    const rng = this.#rng
    const pick = () => rng.pick(this.history)
    switch (attack) {
      case 'valid': {
        // A slice of the history in random order: a record may come before its past.
        const n = rng.range(1, 4)
        const out = Array.from({ length: n }, pick)
        for (const r of out) this.sent.add(r.hex)
        return out.map((r) => r.bytes)
      }
      case 'replay': {
        const sent = this.history.filter((r) => this.sent.has(r.hex))
        return sent.length > 0 ? [rng.pick(sent).bytes] : []
      }
      case 'forged': {
        const bytes = Buffer.from(pick().bytes)
        bytes[bytes.byteLength - 1 - rng.int(64)]! ^= 1 << rng.int(8)
        return [bytes]
      }
      case 'mutated-field': {
        const record = decodeRecord(pick().bytes)
        const changed = { ...record }
        switch (rng.int(4)) {
          case 0:
            changed.time = record.time + 1
            break
          case 1:
            changed.deps = []
            break
          case 2:
            changed.signer = this.stranger.publicKey
            break
          default:
            if ('target' in changed) changed.target = rng.bytes(32)
            else changed.time = record.time + 7
        }
        return [encodeRecord(changed)]
      }
      case 'mutated-bytes':
        return [mutate(rng, pick().bytes).bytes]
      case 'revoked-signer': {
        // After its revoke (it saw it: unauthorized), or naming only what it saw before (revoked).
        const at = this.history.findIndex((r) => r.record.type === 'revoke')
        const past = rng.chance(0.5) ? this.history.slice(0, at + 1) : this.history.slice(0, at)
        return [this.#sign(this.revoked, this.#block(), heads(past)).bytes]
      }
      case 'unauthorized':
        return [this.#sign(this.stranger, this.#block(), heads(this.history)).bytes]
      case 'unknown-deps': {
        const deps = Array.from({ length: rng.range(1, MAX_DEPS) }, () => rng.bytes(32))
        const signer = rng.chance(0.5) ? this.founder : this.stranger
        return [this.#sign(signer, this.#block(), deps).bytes]
      }
      case 'oversize':
        return [rng.bytes(rng.range(MAX_RECORD_BYTES + 1, 2 * MAX_RECORD_BYTES))]
      case 'flood': {
        // Distinct, valid-looking, signed by fresh identities nobody granted.
        const n = rng.range(16, 64)
        return Array.from({ length: n }, () => {
          const signer = crypto.keyPair(rng.bytes(32))
          return this.#sign(signer, this.#block(), rng.chance(0.5) ? [] : heads(this.history)).bytes
        })
      }
    }
  }

  #block(): Body {
    return { type: 'block', kind: 'feed', target: this.#rng.bytes(32), reason: 'junk' }
  }

  #sign(signer: KeyPair, body: Body, deps: Buffer[]): VerifiedRecord {
    return signRecord(this.setKey, signer, body, { deps, time: this.#time++ })
  }

  #append(signer: KeyPair, body: Body): void {
    this.history.push(this.#sign(signer, body, heads(this.history)))
  }
}

/** The ids no other record of `records` names (at most MAX_DEPS). */
function heads(records: VerifiedRecord[]): Buffer[] {
  const named = new Set<string>()
  for (const r of records) for (const d of r.record.deps) named.add(d.toString('hex'))
  return records
    .filter((r) => !named.has(r.hex))
    .map((r) => r.id)
    .sort(Buffer.compare)
    .slice(0, MAX_DEPS)
}
