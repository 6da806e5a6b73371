/**
 * The multifeed side of an honest peer, wherever it runs (this process or a
 * child): its sets opened from the corestore and swarmed on the networker, a
 * writer per set, the blocks its sessions received, and its snapshot.
 */
import { Multifeed, type MultifeedPeer } from '@multifeed/core'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import type { NetworkerBase } from '@multifeed/networker'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

interface Held {
  multi: Multifeed
  writer: Hypercore<Buffer> | null
  sessions: Set<MultifeedPeer>
}

export class Replica {
  readonly #sets = new Map<number, Held>()
  /**
   * Removals that came while their set was still opening (a start that
   * outlived its bound and went on): applied once the set is open, so a
   * removal never misses a peer that was starting.
   */
  readonly #pending = new Map<number, string[]>()

  constructor(
    readonly index: number,
    readonly store: Corestore,
    readonly networker: NetworkerBase,
    readonly onPeerError: (report: PeerErrorReport) => void
  ) {}

  /** `removed`: per set, the feeds (hex) its members dropped, refused before we swarm. */
  async open(setKeys: Buffer[], sets: number[], removed: Record<number, string[]>): Promise<void> {
    for (const set of sets) {
      const multi = await Multifeed.open(this.store, setKeys[set]!)
      const held: Held = { multi, writer: null, sessions: new Set() }
      this.#sets.set(set, held)
      const late = this.#pending.get(set) ?? []
      this.#pending.delete(set)
      for (const key of [...(removed[set] ?? []), ...late]) await drop(multi, key)
      multi.on('peer-add', (session) => held.sessions.add(session))
      multi.on('peer-error', (err, session) =>
        this.onPeerError({
          peer: this.index,
          remote: session.remotePublicKey?.toString('hex') ?? null,
          code: err.code,
          message: err.message
        })
      )
      await this.networker.swarm(multi)
    }
  }

  async append(set: number, count: number): Promise<{ key: string; length: number }> {
    const held = this.#sets.get(set)
    if (held === undefined) throw new Error(`peer ${this.index} is not a member of set ${set}`)
    held.writer ??= (await held.multi.writer('main')) as unknown as Hypercore<Buffer>
    const start = held.writer.length
    const blocks = Array.from({ length: count }, (_, i) =>
      Buffer.from(`peer ${this.index} set ${set} block ${start + i}`)
    )
    await held.writer.append(blocks)
    return { key: held.writer.key!.toString('hex'), length: held.writer.length }
  }

  /** Drops the feed `key` (hex) from `set` for good (our writer's too: its name is retired). */
  async remove(set: number, key: string): Promise<void> {
    const held = this.#sets.get(set)
    if (held === undefined) {
      this.#pending.set(set, [...(this.#pending.get(set) ?? []), key])
      return
    }
    if (held.writer?.key?.toString('hex') === key) {
      await held.writer.close()
      held.writer = null
    }
    await drop(held.multi, key)
  }

  async snapshot(ask: string[]): Promise<PeerSnapshot> {
    const sets: PeerSnapshot['sets'] = {}
    const received: PeerSnapshot['received'] = {}
    const blocked: Record<number, string[]> = {}
    for (const [set, held] of this.#sets) {
      if (held.multi.closing) continue
      sets[set] = held.multi.feeds().map((f) => ({ key: f.key.toString('hex'), length: f.length }))
      let blocks = 0
      for (const session of held.sessions) blocks += session.progress.received.blocks
      received[set] = blocks
      blocked[set] = held.multi.blocked().map((key) => key.toString('hex'))
    }
    const held = await Promise.all(ask.map((dk) => hasCore(this.store, dk)))
    const stored = ask.filter((_, i) => held[i])
    return { index: this.index, online: true, sets, stored, received, blocked }
  }

  async close(): Promise<void> {
    await this.networker.close()
    for (const held of this.#sets.values()) {
      await held.writer?.close()
      await held.multi.close()
    }
    await this.store.close()
  }
}

/** Removes and blocks `key`, our writer's feed included. */
async function drop(multi: Multifeed, key: string): Promise<void> {
  const local = multi.feed(key)?.local === true
  if (local) await multi.remove(key, { block: true, force: true })
  else await multi.block(key)
}

/**
 * Whether the corestore stores a core, without opening it: corestore's
 * storage (`store.storage.hasCore`) is not in the typed interface, so it is
 * read here, once.
 */
async function hasCore(store: Corestore, discoveryKey: string): Promise<boolean> {
  const storage = (store as unknown as { storage: { hasCore(dk: Buffer): Promise<boolean> } })
    .storage
  return storage.hasCore(Buffer.from(discoveryKey, 'hex'))
}
