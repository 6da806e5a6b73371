/**
 * A moderated set's records as reconciliation sees them: each record's id is
 * an element (the 32-byte id and a length of 0, so the feeds' codec, window
 * and messages serve unchanged), with what an exchange needs of the whole:
 * an order-independent digest (in sync costs one proof), a small difference
 * sketch, and from the first reconciliation on the first coded symbols
 * (SymbolWindow), so that d new records cost O(d), in bytes and in CPU.
 *
 * Everything is keyed by `recordsKey(key)` (pairing.ts), never by the set's
 * own key: the records' proof, salts and symbols are unrelated to the feeds'.
 *
 * It follows the set's records (`RecordSource`: records are only ever
 * added), taking the new ones in when asked (`refresh`), so the moderation
 * needs no hook for it. One index per multifeed, shared by its peers.
 */
import sodium from 'sodium-universal'
import type { VerifiedRecord } from '../moderation/signing.js'
import { ELEMENT_BYTES, elementOf } from '../protocol/elements.js'
import { DifferenceSketch } from '../protocol/estimator.js'
import type { RecordsSummary } from '../protocol/messages.js'
import { recordsKey, setProof, setSalt, symbolSaltOf } from '../protocol/pairing.js'
import { type LocalSet, SymbolWindow } from '../protocol/SymbolWindow.js'
import type { Exchanged, ExchangedSet } from './SetExchange.js'

/**
 * Counters of the records' sketch: fewer than the feeds' 128 (its relative
 * error 0.25 only sizes a first batch, which doubles when short), so that an
 * in-sync open announces its records in ~50 bytes.
 */
export const RECORD_SKETCH_COUNTERS = 32

const DIGEST_BYTES = 32

/** The records of a moderated set, as they are held: only ever added to. */
export interface RecordSource {
  readonly size: number
  records(): Iterable<VerifiedRecord>
}

export class RecordIndex {
  /** What the records are reconciled under (the SetExchange's key). */
  readonly key: Buffer
  readonly #source: RecordSource
  readonly #salt: Buffer
  readonly #records = new Map<string, VerifiedRecord>()
  /** In the order the index took them (only ever appended to). */
  readonly #order: VerifiedRecord[] = []
  readonly #elements: Exchanged[] = []
  readonly #digest = Buffer.alloc(DIGEST_BYTES)
  readonly #sketch: DifferenceSketch
  #window: SymbolWindow | null = null

  /** `key`: the set's pairing key; `source`: its records. */
  constructor(key: Buffer, source: RecordSource) {
    this.key = recordsKey(key)
    this.#source = source
    this.#salt = setSalt(this.key)
    this.#sketch = new DifferenceSketch(this.#salt, RECORD_SKETCH_COUNTERS)
  }

  get size(): number {
    this.refresh()
    return this.#records.size
  }

  /** The record of this id (hex), if held. */
  get(hex: string): VerifiedRecord | undefined {
    this.refresh()
    return this.#records.get(hex)
  }

  /** The `i`th record the index took (i < size). */
  at(i: number): VerifiedRecord {
    return this.#order[i]!
  }

  /** Takes in the records the source holds and this index does not; returns them. */
  refresh(): VerifiedRecord[] {
    if (this.#source.size === this.#records.size) return []
    const added: VerifiedRecord[] = []
    for (const record of this.#source.records()) {
      if (this.#records.has(record.hex)) continue
      this.#records.set(record.hex, record)
      this.#order.push(record)
      const element = elementOf(record.id, 0)
      this.#elements.push({ id: record.hex, key: record.id, length: 0 })
      const hash = Buffer.allocUnsafe(DIGEST_BYTES)
      sodium.crypto_generichash(hash, element, this.#salt)
      for (let i = 0; i < DIGEST_BYTES; i++) this.#digest[i]! ^= hash[i]!
      this.#sketch.add(element)
      this.#window?.add(element)
      added.push(record)
    }
    return added
  }

  /** Our records for one exchange: as they are now (the window pinned when `local` is called). */
  shared(): ExchangedSet {
    this.refresh()
    const elements = this.#elements
    return {
      feeds: elements,
      count: elements.length,
      digest: this.#digest,
      sketch: Array.from(this.#sketch.counters),
      local: () => this.#snapshot()
    }
  }

  /** The records' proof on the connection of `handshakeHash`, as held now (what a summary would carry). */
  proof(handshakeHash: Buffer): Buffer {
    this.refresh()
    return setProof(this.key, handshakeHash, this.#digest)
  }

  /** What our open message announces of the records on the connection of `handshakeHash`. */
  summary(handshakeHash: Buffer, shared: ExchangedSet): RecordsSummary {
    return {
      setProof: setProof(this.key, handshakeHash, shared.digest),
      count: shared.count,
      sketch: shared.sketch
    }
  }

  #snapshot(): LocalSet {
    this.#window ??= new SymbolWindow(
      ELEMENT_BYTES,
      symbolSaltOf(this.#salt),
      this.#elements.map((e) => elementOf(e.key, 0))
    )
    return this.#window.pin(() => this.#elements.map((e) => elementOf(e.key, 0)))
  }
}
