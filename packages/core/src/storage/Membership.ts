/**
 * The set's membership, persisted in a local-only core of the multifeed's
 * namespace. Its key is derived from the store's secret primary key and never
 * leaves this process, and it is opened inactive, so no peer is ever offered
 * it. Each block is one batch of records, appended before the feeds it names
 * are announced: a feed that was announced is on disk.
 */

import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import c, { type State } from 'compact-encoding'
import { StorageCorruptError } from '../errors.js'

const FORMAT_VERSION = 1
const FLAG_LOCAL = 1
const FLAG_NAMED = 2
const KEY_BYTES = 32

export interface MembershipRecord {
  key: Buffer
  local: boolean
  name: string | null
}

/** Records per block at most: a block stays small whatever the burst. */
const MAX_RECORDS_PER_BLOCK = 4096

interface Pending {
  records: MembershipRecord[]
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>
}

export class Membership {
  readonly #core: Hypercore
  /** Records queued while an append is in flight: written together, in order. */
  #pending: Pending | null = null
  #draining: Promise<void> | null = null

  constructor(store: Corestore) {
    this.#core = store.get({ name: 'multifeed/membership', active: false })
  }

  /** Reads every record, in the order they were added. */
  async load(): Promise<MembershipRecord[]> {
    await this.#core.ready()
    const length = this.#core.length
    const blocks = await Promise.all(
      Array.from({ length }, (_, i) => this.#core.get(i, { wait: false }))
    )
    const records: MembershipRecord[] = []
    for (let i = 0; i < length; i++) {
      const block = blocks[i]
      if (!block) throw new StorageCorruptError(`Membership block ${i} is missing`)
      for (const record of decodeBatch(block, i)) records.push(record)
    }
    return records
  }

  /**
   * Appends records; resolves once they are stored. Calls made while an
   * append is in flight are coalesced into one block (ten concurrent
   * `writer()` calls write two blocks, not ten), and order is kept.
   */
  append(records: MembershipRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#pending === null) this.#pending = { records: [], waiters: [] }
      for (const record of records) this.#pending.records.push(record)
      this.#pending.waiters.push({ resolve, reject })
      if (this.#draining === null) this.#draining = this.#drain()
    })
  }

  async close(): Promise<void> {
    if (this.#draining !== null) await this.#draining
    await this.#core.close()
  }

  async #drain(): Promise<void> {
    while (this.#pending !== null) {
      const { records, waiters } = this.#pending
      this.#pending = null
      try {
        const blocks: Buffer[] = []
        for (let i = 0; i < records.length; i += MAX_RECORDS_PER_BLOCK) {
          blocks.push(encodeBatch(records.slice(i, i + MAX_RECORDS_PER_BLOCK)))
        }
        await this.#core.append(blocks)
        for (const waiter of waiters) waiter.resolve()
      } catch (err) {
        for (const waiter of waiters) waiter.reject(err)
      }
    }
    this.#draining = null
  }
}

export function encodeBatch(records: MembershipRecord[]): Buffer {
  const state: State = { start: 0, end: 0, buffer: null }
  c.uint.preencode(state, FORMAT_VERSION)
  c.uint.preencode(state, records.length)
  for (const r of records) {
    c.uint.preencode(state, flagsOf(r))
    state.end += KEY_BYTES
    if (r.name !== null) c.string.preencode(state, r.name)
  }
  const buffer = Buffer.allocUnsafe(state.end)
  state.buffer = buffer
  c.uint.encode(state, FORMAT_VERSION)
  c.uint.encode(state, records.length)
  for (const r of records) {
    c.uint.encode(state, flagsOf(r))
    buffer.set(r.key, state.start)
    state.start += KEY_BYTES
    if (r.name !== null) c.string.encode(state, r.name)
  }
  return buffer
}

export function decodeBatch(block: Buffer, index: number): MembershipRecord[] {
  try {
    const state: State = { start: 0, end: block.byteLength, buffer: block }
    const version = c.uint.decode(state)
    if (version !== FORMAT_VERSION) throw new Error(`unknown format version ${version}`)
    const count = c.uint.decode(state)
    const records: MembershipRecord[] = []
    for (let i = 0; i < count; i++) {
      const flags = c.uint.decode(state)
      const key = c.fixed32.decode(state)
      const name = flags & FLAG_NAMED ? c.string.decode(state) : null
      records.push({ key: Buffer.from(key), local: (flags & FLAG_LOCAL) !== 0, name })
    }
    return records
  } catch (err) {
    throw new StorageCorruptError(
      `Membership block ${index} does not decode: ${(err as Error).message}`,
      { cause: err }
    )
  }
}

function flagsOf(r: MembershipRecord): number {
  return (r.local ? FLAG_LOCAL : 0) | (r.name !== null ? FLAG_NAMED : 0)
}
