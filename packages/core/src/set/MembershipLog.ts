/**
 * The set's membership, persisted in a local-only core of the multifeed's
 * namespace. Its key is derived from the store's secret primary key and
 * never leaves this process; the core is opened inactive and never attached
 * to a stream, so no peer is ever offered it.
 *
 * Each block is one batch: feeds that joined (key, origin, local name),
 * length checkpoints (feed position → length held), feeds removed (a
 * tombstone, with `block` when the key is refused for good) and keys
 * unblocked. A feed's record is appended before the feed is announced, and
 * a removal before anything of the feed is let go, so a crash leaves either
 * the feed or its removal, never half of one.
 * Checkpoints are written lazily: a crash loses at most the last ones, and a
 * session's first block is marked "opened" and its last, written at close,
 * "closed": a log that does not end with "closed" was left by a crash, and
 * its lengths are then read from the cores' storage (Membership.load).
 *
 * The log is read from the storage without opening its core (storedLog.ts);
 * the core opens on the first append, which a session that changes nothing
 * never makes (Membership: the "opened" mark is written before the set's
 * first core opens, not at open).
 */
import type { Corestore, Hypercore, EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { StorageCorruptError } from '../errors.js'
import { readStoredLog, type StoredLog } from './storedLog.js'
import { TIER_MARK, type TierRecord } from './tier.js'

/**
 * Version 1 (multifeed 0.1) held feeds only; version 2 appends the
 * checkpoints, then optionally a session mark (absent: none; older readers
 * ignore it). Version 3 is version 2 where a feed record may hold its
 * admission tag (FLAG_TAGGED: 16 bytes after the key): written only for a
 * block holding a tag (an encrypted set's), so a plain set's blocks stay
 * version 2 byte for byte, and an older reader refuses a version 3 block
 * (unknown version) rather than misread it.
 */
const FORMAT_V1 = 1
const FORMAT_V2 = 2
const FORMAT_V3 = 3
const FLAG_LOCAL = 1
const FLAG_NAMED = 2
const FLAG_TAGGED = 4
const KEY_BYTES = 32
const TAG_BYTES = 16
/** The first block a session writes. */
export const MARK_OPENED = 1
/** The last block of a session that closed cleanly. */
export const MARK_CLOSED = 2
/** Records per block at most: a block stays small whatever the burst. */
const MAX_RECORDS_PER_BLOCK = 4096

export interface FeedRecord {
  key: Buffer
  local: boolean
  name: string | null
  /** An encrypted set's admission tag of the feed (absent or null: none recorded). */
  tag?: Buffer | null
}

export interface Checkpoint {
  /** Position of the feed in the order feeds joined. */
  seq: number
  length: number
}

export interface Removal {
  key: Buffer
  /** Refuse the key from every peer until unblocked. */
  block: boolean
}

export interface Batch {
  feeds: FeedRecord[]
  lengths: Checkpoint[]
  removals: Removal[]
  /** Keys no longer blocked. */
  unblocks: Buffer[]
  /** MARK_OPENED, MARK_CLOSED or 0. */
  mark: number
}

interface Pending extends Batch {
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>
}

const NAME = 'multifeed/membership'

export class MembershipLog {
  readonly #store: Corestore
  /** The log core, opened on the first write (reading it needs no hypercore: storedLog.ts). */
  #core: Promise<Hypercore> | null = null
  /** What the storage held, read by tierRecord() for load() (null: no log stored). */
  #stored: StoredLog | null = null
  #read = false
  /** Records queued while an append is in flight: written together, in order. */
  #pending: Pending | null = null
  #draining: Promise<void> | null = null
  /** True once this session appended a block (or asked to). */
  #written = false

  constructor(store: Corestore) {
    this.#store = store
  }

  /** True once this session wrote to the log (a block appended, or being appended). */
  get written(): boolean {
    return this.#written
  }

  /**
   * The stored log's length and tier mark, read from the storage (with the
   * log's first blocks) without opening the core; a mark is written
   * through the core, opened then (set/tier.ts). Call once, before load().
   */
  async tierRecord(): Promise<TierRecord> {
    this.#stored = await readStoredLog(this.#store, NAME, TIER_MARK, 'Membership')
    this.#read = true
    const length = this.#stored?.length ?? 0
    const mark = this.#stored?.userData ?? null
    return {
      length,
      mark,
      setMark: async (value) => (await this.#open()).setUserData(TIER_MARK, value)
    }
  }

  /** Reads every batch in order, in one streaming pass (after tierRecord(): what it read). */
  async *load(): AsyncGenerator<Batch> {
    const stored = this.#read
      ? this.#stored
      : await readStoredLog(this.#store, NAME, TIER_MARK, 'Membership')
    this.#stored = null
    this.#read = true
    if (stored === null) return
    for await (const [block, index] of stored.blocks()) yield decodeBatch(block, index)
  }

  /**
   * Appends feeds and checkpoints; resolves once they are stored. Calls made
   * while an append is in flight are coalesced into one block, order kept.
   * The log core opens on the first one.
   */
  append(records: Partial<Batch>): Promise<void> {
    this.#written = true
    return new Promise((resolve, reject) => {
      if (this.#pending === null) {
        this.#pending = { feeds: [], lengths: [], removals: [], unblocks: [], mark: 0, waiters: [] }
      }
      const pending = this.#pending
      for (const record of records.feeds ?? []) pending.feeds.push(record)
      for (const checkpoint of records.lengths ?? []) pending.lengths.push(checkpoint)
      for (const removal of records.removals ?? []) pending.removals.push(removal)
      for (const key of records.unblocks ?? []) pending.unblocks.push(key)
      if (records.mark) pending.mark = records.mark
      pending.waiters.push({ resolve, reject })
      if (this.#draining === null) this.#draining = this.#drain()
    })
  }

  async close(): Promise<void> {
    if (this.#draining !== null) await this.#draining
    await this.#stored?.close()
    if (this.#core !== null) await (await this.#core.catch(() => null))?.close()
  }

  /** The log core, opened once (ready). */
  #open(): Promise<Hypercore> {
    if (this.#core === null) {
      const core = this.#store.get({ name: NAME, active: false })
      this.#core = core.ready().then(
        () => core,
        async (err: unknown) => {
          await core.close().catch(() => {})
          throw err
        }
      )
    }
    return this.#core
  }

  async #drain(): Promise<void> {
    while (this.#pending !== null) {
      const { feeds, lengths, removals, unblocks, mark, waiters } = this.#pending
      this.#pending = null
      try {
        const blocks: Buffer[] = []
        // A mark alone is a block too; it goes on the last block.
        const total = Math.max(
          feeds.length,
          lengths.length,
          removals.length,
          unblocks.length,
          mark ? 1 : 0
        )
        const slice = <T>(list: T[], i: number): T[] => list.slice(i, i + MAX_RECORDS_PER_BLOCK)
        for (let i = 0; i < total; i += MAX_RECORDS_PER_BLOCK) {
          blocks.push(
            encodeBatch({
              feeds: slice(feeds, i),
              lengths: slice(lengths, i),
              removals: slice(removals, i),
              unblocks: slice(unblocks, i),
              mark: i + MAX_RECORDS_PER_BLOCK >= total ? mark : 0
            })
          )
        }
        if (blocks.length > 0) await (await this.#open()).append(blocks)
        for (const waiter of waiters) waiter.resolve()
      } catch (err) {
        for (const waiter of waiters) waiter.reject(err)
      }
    }
    this.#draining = null
  }
}

export function encodeBatch(batch: Batch): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  const format = batch.feeds.some((r) => r.tag) ? FORMAT_V3 : FORMAT_V2
  c.uint.preencode(state, format)
  c.uint.preencode(state, batch.feeds.length)
  for (const r of batch.feeds) {
    c.uint.preencode(state, flagsOf(r))
    state.end += KEY_BYTES
    if (r.tag) state.end += TAG_BYTES
    if (r.name !== null) c.string.preencode(state, r.name)
  }
  c.uint.preencode(state, batch.lengths.length)
  for (const l of batch.lengths) {
    c.uint.preencode(state, l.seq)
    c.uint.preencode(state, l.length)
  }
  c.uint.preencode(state, batch.removals.length)
  state.end += batch.removals.length * (KEY_BYTES + 1)
  c.uint.preencode(state, batch.unblocks.length)
  state.end += batch.unblocks.length * KEY_BYTES
  if (batch.mark) c.uint.preencode(state, batch.mark)
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  c.uint.encode(state, format)
  c.uint.encode(state, batch.feeds.length)
  for (const r of batch.feeds) {
    c.uint.encode(state, flagsOf(r))
    buffer.set(r.key, state.start)
    state.start += KEY_BYTES
    if (r.tag) {
      buffer.set(r.tag, state.start)
      state.start += TAG_BYTES
    }
    if (r.name !== null) c.string.encode(state, r.name)
  }
  c.uint.encode(state, batch.lengths.length)
  for (const l of batch.lengths) {
    c.uint.encode(state, l.seq)
    c.uint.encode(state, l.length)
  }
  c.uint.encode(state, batch.removals.length)
  for (const r of batch.removals) {
    buffer.set(r.key, state.start)
    state.start += KEY_BYTES
    buffer[state.start++] = r.block ? 1 : 0
  }
  c.uint.encode(state, batch.unblocks.length)
  for (const key of batch.unblocks) {
    buffer.set(key, state.start)
    state.start += KEY_BYTES
  }
  if (batch.mark) c.uint.encode(state, batch.mark)
  return buffer
}

export function decodeBatch(block: Buffer, index: number): Batch {
  try {
    const state: State = { start: 0, end: block.byteLength, buffer: block }
    const version = c.uint.decode(state)
    if (version !== FORMAT_V1 && version !== FORMAT_V2 && version !== FORMAT_V3) {
      throw new Error(`unknown format version ${version}`)
    }
    const count = c.uint.decode(state)
    const feeds: FeedRecord[] = []
    for (let i = 0; i < count; i++) {
      const flags = c.uint.decode(state)
      // A view of the block: the set copies keys into its own slab.
      const key = c.fixed32.decode(state) as Buffer
      const tag = version >= FORMAT_V3 && flags & FLAG_TAGGED ? viewOf(state, TAG_BYTES) : null
      const name = flags & FLAG_NAMED ? c.string.decode(state) : null
      feeds.push({ key, local: (flags & FLAG_LOCAL) !== 0, name, tag })
    }
    const lengths: Checkpoint[] = []
    const removals: Removal[] = []
    const unblocks: Buffer[] = []
    let mark = 0
    if (version >= FORMAT_V2) {
      const n = c.uint.decode(state)
      for (let i = 0; i < n; i++) {
        lengths.push({ seq: c.uint.decode(state), length: c.uint.decode(state) })
      }
      const r = c.uint.decode(state)
      for (let i = 0; i < r; i++) {
        const key = c.fixed32.decode(state) as Buffer
        removals.push({ key, block: c.uint8.decode(state) === 1 })
      }
      const u = c.uint.decode(state)
      for (let i = 0; i < u; i++) unblocks.push(c.fixed32.decode(state) as Buffer)
      if (state.start < state.end) mark = c.uint.decode(state)
    }
    return { feeds, lengths, removals, unblocks, mark }
  } catch (err) {
    throw new StorageCorruptError(
      `Membership block ${index} does not decode: ${(err as Error).message}`,
      { cause: err }
    )
  }
}

/** `bytes` bytes of the block, a view (the set copies what it keeps). */
function viewOf(state: State, bytes: number): Buffer {
  if (state.end - state.start < bytes) throw new Error('truncated')
  const out = state.buffer!.subarray(state.start, state.start + bytes)
  state.start += bytes
  return out
}

function flagsOf(r: FeedRecord): number {
  return (r.local ? FLAG_LOCAL : 0) | (r.name !== null ? FLAG_NAMED : 0) | (r.tag ? FLAG_TAGGED : 0)
}
