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
 */
import type { Corestore, Hypercore, EncodingState as State } from '@multifeed/holepunch-types'
import c from 'compact-encoding'
import { StorageCorruptError } from '../errors.js'
import { readLog } from './localLog.js'
import type { TierRecord } from './tier.js'

/**
 * Version 1 (multifeed 0.1) held feeds only; version 2 appends the
 * checkpoints, then optionally a session mark (absent: none; older readers
 * ignore it).
 */
const FORMAT_V1 = 1
const FORMAT_V2 = 2
const FLAG_LOCAL = 1
const FLAG_NAMED = 2
const KEY_BYTES = 32
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

export class MembershipLog {
  readonly #core: Hypercore
  /** Records queued while an append is in flight: written together, in order. */
  #pending: Pending | null = null
  #draining: Promise<void> | null = null

  constructor(store: Corestore) {
    this.#core = store.get({ name: 'multifeed/membership', active: false })
  }

  /** The ready log core, as the tier check reads and marks it (set/tier.ts). */
  async tierRecord(): Promise<TierRecord> {
    await this.#core.ready()
    return this.#core
  }

  /** Reads every batch in order, in one streaming pass. */
  async *load(): AsyncGenerator<Batch> {
    for await (const [block, index] of readLog(this.#core, 'Membership')) {
      yield decodeBatch(block, index)
    }
  }

  /**
   * Appends feeds and checkpoints; resolves once they are stored. Calls made
   * while an append is in flight are coalesced into one block, order kept.
   */
  append(records: Partial<Batch>): Promise<void> {
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
    await this.#core.close()
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
        if (blocks.length > 0) await this.#core.append(blocks)
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
  c.uint.preencode(state, FORMAT_V2)
  c.uint.preencode(state, batch.feeds.length)
  for (const r of batch.feeds) {
    c.uint.preencode(state, flagsOf(r))
    state.end += KEY_BYTES
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
  c.uint.encode(state, FORMAT_V2)
  c.uint.encode(state, batch.feeds.length)
  for (const r of batch.feeds) {
    c.uint.encode(state, flagsOf(r))
    buffer.set(r.key, state.start)
    state.start += KEY_BYTES
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
    if (version !== FORMAT_V1 && version !== FORMAT_V2) {
      throw new Error(`unknown format version ${version}`)
    }
    const count = c.uint.decode(state)
    const feeds: FeedRecord[] = []
    for (let i = 0; i < count; i++) {
      const flags = c.uint.decode(state)
      // A view of the block: the set copies keys into its own slab.
      const key = c.fixed32.decode(state) as Buffer
      const name = flags & FLAG_NAMED ? c.string.decode(state) : null
      feeds.push({ key, local: (flags & FLAG_LOCAL) !== 0, name })
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

function flagsOf(r: FeedRecord): number {
  return (r.local ? FLAG_LOCAL : 0) | (r.name !== null ? FLAG_NAMED : 0)
}
