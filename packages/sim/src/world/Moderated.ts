/**
 * The moderation side of an honest peer's set (moderated runs), wherever
 * the peer runs: what it has acted on (each `moderation` event applied: the
 * targets it blocks and the feeds the blocks removed here), the spammer's
 * floods, a moderator's blocks and unblocks, the founder's grants and
 * revokes, and what a snapshot shows of it. Only the public API.
 */
import type { Multifeed } from '@multifeed/core'
import type { ModerationView } from './snapshot.js'

/** A target as the simulator names it: `feed:hex` or `identity:hex`. */
export type TargetId = string

/**
 * A moderator's act on the spammer, as the schedule draws it: a block or an
 * unblock of its identity or of a feed (to block: `latestFeed`, the spammer's
 * latest; to unblock: the last feed the acting peer sees blocked).
 */
export interface ModerationAct {
  action: 'block' | 'unblock'
  target: 'feed' | 'identity'
  spammer: Buffer
  latestFeed: Buffer | null
}

/** What a moderation act did: signed a record, had nothing to sign, or was refused (no authority). */
export type ActOutcome = 'signed' | 'nothing' | 'refused'

/** What a peer acted on in one set: reported to the world (the wire watch) after every change. */
export interface Acted {
  peer: number
  set: number
  /** Targets blocked here, as of the last `moderation` event (the set acted on them). */
  targets: TargetId[]
  /** Feeds (hex) a block removed here and no unblock let back since, with their owner (hex) if known. */
  removed: Array<{ key: string; owner: string | null }>
}

export function targetId(target: { feed: Buffer } | { identity: Buffer }): TargetId {
  return 'feed' in target
    ? `feed:${target.feed.toString('hex')}`
    : `identity:${target.identity.toString('hex')}`
}

export class Moderated {
  /** Targets blocked as of the last `moderation` event. */
  readonly targets = new Set<TargetId>()
  /** Feeds a block removed here (hex → owner hex or null), until an unblock covers them. */
  readonly removed = new Map<string, string | null>()
  /** `moderation` events seen since open. */
  events = 0
  #writers = 0

  constructor(
    readonly multi: Multifeed,
    readonly onActed: (acted: Omit<Acted, 'peer' | 'set'>) => void
  ) {
    const moderation = multi.moderation!
    // What a crash left applied is applied at open (settle): the state is acted on.
    for (const block of moderation.blocked()) this.targets.add(targetId(block.target))
    multi.on('moderation', (event) => {
      this.events++
      for (const block of event.blocked) {
        const id = targetId(block.target)
        this.targets.add(id)
        if ('feed' in block.target) this.removed.set(block.target.feed.toString('hex'), null)
      }
      for (const info of event.removed) {
        this.removed.set(info.key.toString('hex'), info.owner?.toString('hex') ?? null)
      }
      for (const target of event.unblocked) {
        const id = targetId(target)
        this.targets.delete(id)
        for (const [key, owner] of this.removed) {
          if (id === `feed:${key}` || id === `identity:${owner}`) this.removed.delete(key)
        }
      }
      this.onActed(this.acted())
    })
  }

  acted(): Omit<Acted, 'peer' | 'set'> {
    return {
      targets: [...this.targets],
      removed: [...this.removed].map(([key, owner]) => ({ key, owner }))
    }
  }

  /** True when the set's state blocks `key` (hex) now: its feed, or `owner` (hex) its identity. */
  blocksNow(key: string, owner: string | null): boolean {
    return this.multi.moderation!.blocked().some((b) => {
      const id = targetId(b.target)
      return id === `feed:${key}` || (owner !== null && id === `identity:${owner}`)
    })
  }

  /**
   * The spammer: `writers` new writers, `count` junk blocks each (naming the
   * feed, so the wire watch can tell them), each writer closed after. A
   * writer refused (our identity blocked here) or cut by a block arriving
   * while it writes ends that writer; the others go on.
   */
  async spam(
    peer: number,
    writers: number,
    count: number
  ): Promise<{ feeds: Array<{ key: string; length: number }>; refused: number }> {
    const feeds: Array<{ key: string; length: number }> = []
    let refused = 0
    for (let w = 0; w < writers; w++) {
      let core: Awaited<ReturnType<Multifeed['writer']>>
      try {
        core = await this.multi.writer(`spam-${peer}-${this.#writers++}`)
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_NOT_WRITABLE') throw err
        refused++
        continue
      }
      const key = core.key!.toString('hex')
      try {
        const blocks = Array.from({ length: count }, (_, i) =>
          Buffer.from(`${spamMarker(key)}block ${core.length + i}`)
        )
        await core.append(blocks)
        feeds.push({ key, length: core.length })
      } catch {
        // A block of our identity came while we wrote: the writer is gone here.
        refused++
      } finally {
        await core.close().catch(() => {})
      }
    }
    return { feeds, refused }
  }

  /**
   * A moderator's act on the spammer: its identity, or a feed (to block: the
   * spammer's latest; to unblock: the last feed this peer sees blocked).
   */
  async moderate({ action, target, spammer, latestFeed }: ModerationAct): Promise<ActOutcome> {
    const moderation = this.multi.moderation!
    const before = moderation.recordIds().length
    try {
      if (target === 'identity') {
        if (action === 'block') await moderation.block({ identity: spammer }, { reason: 'spam' })
        else await moderation.unblock({ identity: spammer })
      } else if (action === 'block') {
        if (latestFeed === null) return 'nothing'
        await moderation.block({ feed: latestFeed }, { reason: 'spam' })
      } else {
        const feeds = moderation.blocked().filter((b) => 'feed' in b.target)
        const last = feeds[feeds.length - 1]
        if (last === undefined) return 'nothing'
        await moderation.unblock(last.target)
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_INVALID_ARGUMENT') return 'refused'
      throw err
    }
    return moderation.recordIds().length > before ? 'signed' : 'nothing'
  }

  /** The founder grants or revokes a moderator. */
  async authority(action: 'grant' | 'revoke', identity: Buffer): Promise<ActOutcome> {
    const moderation = this.multi.moderation!
    if (action === 'grant') await moderation.grant(identity)
    else await moderation.revoke(identity)
    return 'signed'
  }

  /** What the checkers see: records, outcome and what was acted on, read in one go. */
  view(): ModerationView {
    const moderation = this.multi.moderation!
    return {
      records: moderation.recordIds().map((id) => id.toString('hex')),
      moderators: moderation.moderators().map((k) => k.toString('hex')),
      blocked: moderation
        .blocked()
        .map((b) => `${targetId(b.target)}:${b.signer.toString('hex')}`)
        .sort(),
      acted: [...this.targets].sort(),
      events: this.events
    }
  }
}

/** What every junk block of the spam feed `key` (hex) starts with. */
export function spamMarker(key: string): string {
  return `spam ${key.slice(0, 16)} `
}
