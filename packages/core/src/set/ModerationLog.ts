/**
 * The records of a moderated set, persisted in a local-only core of the
 * set's namespace (`multifeed/moderation`): one verified record per block,
 * in the order this peer took them. Like the membership log, the core's key
 * derives from the store's secret, it is opened inactive and never attached
 * to a stream. A record is appended before anything acts on it, and an
 * append of several records is one hypercore append (all or none), so a
 * crash leaves a record held or not, never half: at open the state is
 * evaluated again from what the log holds.
 *
 * Block 0 is the set's id (founder and secret, or a mirror's founder and
 * mirror key), written when the set is
 * first opened here: the set then re-opens by its key alone, and a log
 * found under a key that the id does not derive is refused.
 */
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'
import crypto from 'hypercore-crypto'
import { StorageCorruptError } from '../errors.js'
import { idBytes, idOf, type ModeratedSetId } from '../moderation/invite.js'
import { readLog } from './localLog.js'

/** Block 0 of the log: the set's id as its invite carries it (`format ‖ founder ‖ secret`; a mirror's: `3 ‖ founder ‖ mirror key`). */
export function encodeHeader(id: ModeratedSetId): Buffer {
  return idBytes(id)
}

/** The set id block 0 holds, checked against the key the set was opened by. */
export function decodeHeader(block: Buffer, key: Buffer): ModeratedSetId {
  let id: ModeratedSetId
  try {
    id = idOf(block)
  } catch (err) {
    throw new StorageCorruptError('The moderation log does not start with a set id', { cause: err })
  }
  if (!id.key.equals(key)) {
    throw new StorageCorruptError("The moderation log holds another set's id")
  }
  return id
}

const NAME = 'multifeed/moderation'

export class ModerationLog {
  readonly #core: Hypercore
  #appending: Promise<void> = Promise.resolve()

  constructor(store: Corestore) {
    this.#core = store.get({ name: NAME, active: false })
  }

  /**
   * True when `store` (a set's namespace) holds a moderation log, asked of
   * `root`'s storage without creating the core: an unmoderated set's open
   * costs one lookup and leaves nothing behind.
   */
  static async exists(store: Corestore, root: Corestore): Promise<boolean> {
    // The core corestore's get({ name }) makes: its key pair's one-signer manifest.
    const { publicKey } = await store.createKeyPair(NAME)
    return root.storage.hasCore(crypto.discoveryKey(HypercoreClass.key(publicKey)))
  }

  /**
   * Block 0 of the log `store` (a set's namespace) holds, or null when it
   * holds none: read without creating the log.
   */
  static async header(store: Corestore, root: Corestore): Promise<Buffer | null> {
    if (!(await ModerationLog.exists(store, root))) return null
    const log = new ModerationLog(store)
    try {
      for await (const block of log.load()) return block
      return null
    } finally {
      await log.close()
    }
  }

  /** Every block held (the header, then the records), in order, in one streaming pass. */
  async *load(): AsyncGenerator<Buffer> {
    for await (const [block] of readLog(this.#core, 'Moderation log')) yield block
  }

  /** Appends records, all or none; appends run one after the other. */
  append(records: Buffer[]): Promise<void> {
    const next = this.#appending.then(async () => {
      if (records.length > 0) await this.#core.append(records)
    })
    this.#appending = next.catch(() => {})
    return next
  }

  async close(): Promise<void> {
    await this.#appending
    await this.#core.close()
  }
}
