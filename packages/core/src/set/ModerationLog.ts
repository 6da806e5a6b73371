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
 * Block 0 is the set's id (founder and secret), written when the set is
 * first opened here: the set then re-opens by its key alone, and a log
 * found under a key that the id does not derive is refused.
 */
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'
import crypto from 'hypercore-crypto'
import { StorageCorruptError } from '../errors.js'
import { type ModeratedSetId, moderatedSetKey } from '../moderation/invite.js'
import { readLog } from './localLog.js'

const HEADER_VERSION = 1
const KEY_BYTES = 32

/** Block 0 of the log: `1 ‖ founder ‖ secret`. */
export function encodeHeader(id: ModeratedSetId): Buffer {
  return Buffer.concat([Buffer.from([HEADER_VERSION]), id.founder, id.secret])
}

/** The set id block 0 holds, checked against the key the set was opened by. */
export function decodeHeader(block: Buffer, key: Buffer): ModeratedSetId {
  if (block.byteLength !== 1 + 2 * KEY_BYTES || block[0] !== HEADER_VERSION) {
    throw new StorageCorruptError('The moderation log does not start with a set id')
  }
  const founder = Buffer.from(block.subarray(1, 1 + KEY_BYTES))
  const secret = Buffer.from(block.subarray(1 + KEY_BYTES))
  if (!moderatedSetKey(founder, secret).equals(key)) {
    throw new StorageCorruptError("The moderation log holds another set's id")
  }
  return { founder, secret, key }
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
