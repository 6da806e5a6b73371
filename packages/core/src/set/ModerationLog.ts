/**
 * The records of a moderated set, persisted in a local-only core of the
 * set's namespace (`multifeed/moderation`): one verified record per block,
 * in the order this peer took them. Like the membership log, the core's key
 * derives from the store's secret, it is opened inactive and never attached
 * to a stream. A record is appended before anything acts on it, and an
 * append of several records is one hypercore append (all or none), so a
 * crash leaves a record held or not, never half: at open the state is
 * evaluated again from what the log holds.
 */
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import { readLog } from './localLog.js'

export class ModerationLog {
  readonly #core: Hypercore
  #appending: Promise<void> = Promise.resolve()

  constructor(store: Corestore) {
    this.#core = store.get({ name: 'multifeed/moderation', active: false })
  }

  /** Every record held, in order, in one streaming pass. */
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
