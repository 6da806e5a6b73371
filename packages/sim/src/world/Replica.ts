/**
 * The multifeed side of an honest peer, wherever it runs (this process or a
 * child): its sets opened from the corestore and swarmed on the networker, a
 * writer per set, the blocks its sessions received, and its snapshot.
 */
import { type IdentityKeyPair, Multifeed, type MultifeedPeer } from '@multifeed/core'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import type { NetworkerBase } from '@multifeed/networker'
import { type Acted, type ActOutcome, Moderated, type ModerationAct } from './Moderated.js'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

interface Held {
  multi: Multifeed
  writer: Hypercore<Buffer> | null
  sessions: Set<MultifeedPeer>
  /** Moderated runs: the set's moderation here. */
  moderated: Moderated | null
}

/** How a peer opens a set: by its key, or (moderated runs) by its invite with the peer's identity. */
export interface SetAccess {
  key: Buffer
  invite: string | null
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
    readonly onPeerError: (report: PeerErrorReport) => void,
    /** Moderated runs: this peer's identity, and where what it acted on is reported. */
    readonly identity: IdentityKeyPair | null = null,
    readonly onActed: (acted: Acted) => void = () => {}
  ) {}

  /** `removed`: per set, the feeds (hex) its members dropped, refused before we swarm. */
  async open(
    access: SetAccess[],
    sets: number[],
    removed: Record<number, string[]>
  ): Promise<void> {
    for (const set of sets) {
      const { key, invite } = access[set]!
      const multi =
        invite === null
          ? await Multifeed.open(this.store, key)
          : await Multifeed.open(this.store, invite, { identity: this.identity! })
      const moderated =
        invite === null
          ? null
          : new Moderated(multi, (acted) => this.onActed({ peer: this.index, set, ...acted }))
      const held: Held = { multi, writer: null, sessions: new Set(), moderated }
      this.#sets.set(set, held)
      if (moderated !== null) this.onActed({ peer: this.index, set, ...moderated.acted() })
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

  /** The spammer floods `set` with new writers. */
  spam(set: number, writers: number, count: number) {
    return this.#moderated(set).spam(this.index, writers, count)
  }

  /** A moderator's block or unblock of the spammer (its identity, or a feed). */
  moderate(set: number, act: ModerationAct): Promise<ActOutcome> {
    return this.#moderated(set).moderate(act)
  }

  /** The founder's grant or revoke. */
  authority(set: number, action: 'grant' | 'revoke', identity: Buffer): Promise<ActOutcome> {
    return this.#moderated(set).authority(action, identity)
  }

  /** The moderation of `set`, if this peer has it open (the wire watch asks it, synchronously). */
  moderation(set: number): Moderated | null {
    const held = this.#sets.get(set)
    return held === undefined || held.multi.closing ? null : held.moderated
  }

  #moderated(set: number): Moderated {
    const moderated = this.#sets.get(set)?.moderated
    if (moderated === undefined || moderated === null) {
      throw new Error(`peer ${this.index} has no moderated set ${set}`)
    }
    return moderated
  }

  async snapshot(ask: string[]): Promise<PeerSnapshot> {
    const sets: PeerSnapshot['sets'] = {}
    const received: PeerSnapshot['received'] = {}
    const blocked: Record<number, string[]> = {}
    const moderation: NonNullable<PeerSnapshot['moderation']> = {}
    for (const [set, held] of this.#sets) {
      if (held.multi.closing) continue
      sets[set] = held.multi.feeds().map((f) => ({
        key: f.key.toString('hex'),
        length: f.length,
        ...(held.moderated === null ? {} : { owner: f.owner?.toString('hex') ?? null })
      }))
      if (held.moderated !== null) moderation[set] = held.moderated.view()
      let blocks = 0
      for (const session of held.sessions) blocks += session.progress.received.blocks
      received[set] = blocks
      blocked[set] = held.multi.blocked().map((key) => key.toString('hex'))
    }
    const held = await Promise.all(ask.map((dk) => hasCore(this.store, dk)))
    const stored = ask.filter((_, i) => held[i])
    return {
      index: this.index,
      online: true,
      sets,
      stored,
      received,
      blocked,
      ...(Object.keys(moderation).length > 0 ? { moderation } : {})
    }
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
