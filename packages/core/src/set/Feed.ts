/**
 * What a feed reads of its record, and what the set writes there: the
 * FeedTable (it implements this; named here so that Feed does not import it).
 */
export interface FeedRecords {
  readonly lengths: Float64Array
  readonly seqs: Float64Array
  keyOf(slot: number): Buffer
  hexOf(slot: number): string
  localOf(slot: number): boolean
  nameOf(slot: number): string | null
  setLocal(slot: number, local: boolean, name: string | null): void
  discoveryKeyOf(slot: number): Buffer
  discoveryHexOf(slot: number): string
  elementOf(slot: number): Buffer
  tagOf(slot: number): Buffer | null
  setTag(slot: number, tag: Uint8Array): void
  /** The verified identity that owns a feed in a moderated set (set/Moderation.ts), or null. */
  ownerOf(key: Buffer): Buffer | null
}

/**
 * A feed of the set: a handle on its record in a FeedTable. Identity is
 * stable for the life of the feed (a Set or Map of feeds works); `key` and
 * `discoveryKey` are views of the table's slabs, made on first read and
 * kept (rows are never written again, so a view keeps its bytes).
 */
export class Feed {
  /** The table holding this feed's record (internal to the set). */
  table: FeedRecords
  /** The record's slot in `table` (internal to the set). */
  slot: number
  #id: string | null = null
  #key: Buffer | null = null
  #discoveryKey: Buffer | null = null

  constructor(table: FeedRecords, slot: number) {
    this.table = table
    this.slot = slot
  }

  /** The core's public key (32 bytes; a view of the set's slab: do not write to it). */
  get key(): Buffer {
    this.#key ??= this.table.keyOf(this.slot)
    return this.#key
  }

  /** Lower-case hex of the key (made on first use, then kept). */
  get id(): string {
    this.#id ??= this.table.hexOf(this.slot)
    return this.#id
  }

  /** Position in the order feeds joined (stable: a removed feed keeps its position). */
  get seq(): number {
    return this.table.seqs[this.slot]!
  }

  /** True for a writer of ours (created by `writer()`). */
  get local(): boolean {
    return this.table.localOf(this.slot)
  }

  /** Local name of a writer; never sent to peers. */
  get name(): string | null {
    return this.table.nameOf(this.slot)
  }

  /** Blocks 0..length-1 are held here (contiguous length, as last known). */
  get length(): number {
    return this.table.lengths[this.slot]!
  }

  /** The discovery key (computed on first use; a view, like `key`). */
  get discoveryKey(): Buffer {
    this.#discoveryKey ??= this.table.discoveryKeyOf(this.slot)
    return this.#discoveryKey
  }

  /** Lower-case hex of the discovery key. */
  get discoveryId(): string {
    return this.table.discoveryHexOf(this.slot)
  }

  /** An encrypted set's admission tag of the feed (a view of the set's slab), or null. */
  get tag(): Buffer | null {
    return this.table.tagOf(this.slot)
  }

  /** The reconciliation element of the feed (key + length), a new Buffer. */
  element(): Buffer {
    return this.table.elementOf(this.slot)
  }

  /** Drops the views: the slabs they show were replaced (the next read makes new ones). */
  unview(): void {
    this.#key = null
    this.#discoveryKey = null
  }
}
