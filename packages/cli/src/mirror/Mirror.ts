import { Multifeed, MultifeedError } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import type { NetworkerInterface } from '@multifeed/networker'
import type { SetSnapshot } from './SetState.js'
import { SetStatus } from './SetStatus.js'

/** What a mirror tells: log lines, and a set whose state may have changed. */
export interface MirrorEvents {
  log(line: string): void
  changed(set: SetSnapshot): void
  forget(key: string): void
}

/**
 * Many sets over one networker and one store: `update(keys)` makes the sets
 * mirrored the ones listed (opens and swarms the new ones, leaves and closes
 * the ones gone), one update at a time. Each set is opened as its list entry
 * says (`Multifeed.open(store, key)`, a key or an invite): a mirror key or
 * mirror invite opens a mirror, a plain set's key or a moderated set's invite
 * a full copy; the mirror creates no writer, so it writes nothing.
 */
export class Mirror {
  readonly #store: Corestore
  readonly #net: NetworkerInterface
  readonly #events: MirrorEvents
  readonly #sets = new Map<string, { multi: Multifeed; status: SetStatus }>()
  #updating: Promise<void> = Promise.resolve()
  #closing = false

  constructor(store: Corestore, net: NetworkerInterface, events: MirrorEvents) {
    this.#store = store
    this.#net = net
    this.#events = events
    const peers = (): string => `${net.peers().length} now`
    net.on('peer-add', (peer) =>
      events.log(`peer ${hex8(peer.remotePublicKey)} connected (${peers()})`)
    )
    net.on('peer-remove', (peer) =>
      events.log(`peer ${hex8(peer.remotePublicKey)} left (${peers()})`)
    )
    net.on('connection-error', (err) => events.log(`connection error: ${err.message}`))
  }

  /** The sets mirrored now, as listed (keys in z-base-32, invites). */
  keys(): string[] {
    return [...this.#sets.keys()]
  }

  /** Where every set stands (each recomputed only if it changed since it was last asked). */
  snapshots(): SetSnapshot[] {
    return [...this.#sets.values()].map(({ status }) => status.current())
  }

  /** Connected peers (one connection each, whatever the number of sets shared). */
  peers(): number {
    return this.#net.peers().length
  }

  /** Mirrors exactly `keys` (after the updates before it). A set that fails to open is logged and left out. */
  update(keys: string[]): Promise<void> {
    const next = this.#updating.then(() => this.#apply(keys))
    this.#updating = next.catch(() => {})
    return next
  }

  async #apply(keys: string[]): Promise<void> {
    const wanted = new Set(keys)
    for (const [key, { multi, status }] of [...this.#sets]) {
      if (this.#closing) return
      if (wanted.has(key)) continue
      this.#sets.delete(key)
      status.dispose()
      this.#events.forget(key)
      await this.#net.leave(multi).catch(() => {})
      await multi.close()
      this.#events.log(`stopped mirroring ${key}`)
    }
    for (const key of wanted) {
      if (this.#closing) return
      if (this.#sets.has(key)) continue
      await this.#open(key)
    }
  }

  async #open(key: string): Promise<void> {
    let multi: Multifeed
    try {
      multi = await Multifeed.open(this.#store, key)
    } catch (err) {
      this.#events.log(`error: ${key}: ${describe(err)} (left out; fix the list to retry)`)
      return
    }
    const status = new SetStatus(key, multi, (set) => this.#events.changed(set))
    this.#sets.set(key, { multi, status })
    const report = (err: MultifeedError): void => this.#events.log(`${key}: ${describe(err)}`)
    multi.on('peer-error', report)
    multi.on('storage-error', report)
    multi.on('callback-error', report)
    this.#events.log(`mirroring ${key} (${kind(multi, key)})`)
    // Not awaited: a DHT that is slow to announce one set does not hold the others back.
    this.#net.swarm(multi).catch((err) => {
      if (!this.#closing && !multi.closing) {
        this.#events.log(`error: ${key}: joining the DHT: ${describe(err)}`)
      }
    })
  }

  /** Stops updating, leaves the DHT (connections end), closes every set. The store stays the caller's. */
  async close(): Promise<void> {
    this.#closing = true
    await this.#updating
    await this.#net.close()
    await Promise.all(
      [...this.#sets.values()].map(({ multi, status }) => {
        status.dispose()
        return multi.close()
      })
    )
    this.#sets.clear()
  }
}

/** What the key or invite opened, said in the log line of a set the mirror starts on. */
function kind(multi: Multifeed, key: string): string {
  const moderated = multi.moderation !== null
  if (multi.tier === 'mirror') {
    return moderated
      ? 'a mirror of a moderated set: this mirror cannot read the set, and applies its blocks'
      : 'a mirror key: this mirror cannot read the set'
  }
  if (multi.tier === 'plain') {
    return moderated
      ? 'a moderated set: a full copy, this mirror can read it'
      : 'a plain set: a full copy, this mirror can read it'
  }
  const form = key.length > 52 ? 'invite' : 'key'
  return `a member ${form}: this mirror CAN read the set; add its mirror ${form} instead`
}

function describe(err: unknown): string {
  if (err instanceof MultifeedError) return `${err.code}: ${err.message}`
  return err instanceof Error ? err.message : String(err)
}

const hex8 = (key: Buffer): string => key.toString('hex').slice(0, 8)
