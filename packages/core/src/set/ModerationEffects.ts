/**
 * What a moderated set's state does to the set on this peer:
 *
 * - a feed the state blocks (itself, or an identity bound to it, whenever
 *   the bind arrives) is removed as `remove()` removes (no longer listed,
 *   reconciled, served or forwarded; its core deleted), and admission
 *   refuses it from every peer (`Membership.moderated`);
 * - a target the state no longer blocks is admitted again: its feeds (the
 *   feed, or those bound to the identity) join again through admission,
 *   which still consults the member's own mute and accept policy, and are
 *   fetched from whoever holds them;
 * - `FeedInfo.owner` reads the bind records.
 *
 * A moderation block is never the member's mute (`Membership.blocked`): the
 * removal writes a tombstone without a block, so a moderator's unblock never
 * lifts a member's own `block()`, and a member's `unblock()` never lifts a
 * moderator's.
 *
 * Crash safety: the record is on disk before any of this runs (Moderation);
 * a removal is itself crash-safe (Custody); at open, `settle()` removes what
 * the state blocks and the set still lists (a crash between the record and
 * its removal). A feed an unblock frees but a crash kept from joining joins
 * again at the next reconciliation with a peer that holds it.
 *
 * A mirror cannot compute a feed's admission tag (it relays the one it got):
 * it keeps the tag of each feed it removes for a block, so that an unblock
 * lets the feed join again here and fetches it as on a member, without a
 * peer offering it anew. After a re-open, the tags of the feeds the state
 * blocks come from the membership log (`Membership.removedTags`).
 */
import { blockOf, type ModerationState, ownerOf } from '../moderation/evaluate.js'
import type { TargetKind } from '../moderation/records.js'
import type { FeedInfo } from '../types.js'
import type { Membership } from './Membership.js'
import type { Moderation, ModerationChange } from './Moderation.js'

export interface EffectsHost {
  readonly membership: Membership
  /** Takes a feed out as remove() does (its core deleted), a writer of ours too; never a mute. */
  remove(key: Buffer): Promise<FeedInfo | null>
  /**
   * Lets a freed feed join again (admission: mute and accept policy
   * consulted), with the admission tag it had here (a mirror's; null on a
   * member, which computes it, or when none was kept).
   */
  restore(key: Buffer, tag: Buffer | null): Promise<void>
  /** The change, once applied here. */
  changed(change: ModerationChange, removed: FeedInfo[]): void
}

export class ModerationEffects {
  readonly #moderation: Moderation
  readonly #host: EffectsHost
  /** A mirror's: the admission tags of the feeds it removed for a block (hex key → tag). */
  readonly #tags = new Map<string, Buffer>()

  constructor(moderation: Moderation, host: EffectsHost) {
    this.#moderation = moderation
    this.#host = host
    const { membership } = host
    membership.moderated = (key) => blockOf(moderation.state, key) !== null
    membership.unbound = (key) => !moderation.state.bindings.has(key.toString('hex'))
    membership.set.owners = (key) => ownerOf(moderation.state, key)
    moderation.onChange((change) => this.#apply(change))
  }

  /**
   * At open: removes the feeds the state blocks that the set still lists,
   * and the peers' feeds bound to no identity (admitted by a build that did
   * not require binds): a moderated set lists only bound feeds. Such a feed
   * joins again once its bind record arrives and a peer offers it.
   */
  async settle(): Promise<void> {
    const state = this.#moderation.state
    const feeds = this.#host.membership.set.all()
    const blocked = feeds
      .filter((feed) => blockOf(state, feed.key) !== null)
      .map((feed) => Buffer.from(feed.key))
    const removed = await this.#removeAll(blocked, state)
    // A mirror's tags of feeds removed before (the log keeps them): those the state blocks.
    const { removedTags } = this.#host.membership
    for (const [id, tag] of removedTags) {
      if (blockOf(state, Buffer.from(id, 'hex')) !== null) this.#tags.set(id, tag)
    }
    removedTags.clear()
    for (const feed of feeds) {
      if (feed.local || state.bindings.has(feed.id)) continue
      if (this.#host.membership.set.find(feed.key) === undefined) continue
      const info = await this.#host.remove(Buffer.from(feed.key))
      if (info !== null) removed.push(info)
    }
    if (removed.length > 0) {
      const nothing = { added: [], blocked: [], unblocked: [], moderators: false, refused: {} }
      this.#host.changed(nothing, removed)
    }
  }

  async #apply(change: ModerationChange): Promise<void> {
    const state = this.#moderation.state
    const touched = new Map<string, Buffer>()
    for (const entry of change.blocked) {
      for (const key of feedsOf(state, entry.kind, entry.target)) touched.set(hex(key), key)
    }
    // A feed bound now to an identity blocked before (its later writers too).
    for (const { record } of change.added) {
      if (record.type === 'bind') touched.set(hex(record.feed), record.feed)
    }
    const removed = await this.#removeAll([...touched.values()], state)
    const { membership } = this.#host
    for (const target of change.unblocked) {
      const [kind, id] = target.split(':') as [TargetKind, string]
      for (const key of feedsOf(state, kind, Buffer.from(id, 'hex'))) {
        if (membership.set.find(key) !== undefined || blockOf(state, key) !== null) continue
        if (membership.blocked.has(hex(key))) continue // the member's own mute stays
        const tag = this.#tags.get(hex(key)) ?? null
        this.#tags.delete(hex(key))
        await this.#host.restore(key, tag)
      }
    }
    if (
      change.blocked.length > 0 ||
      change.unblocked.length > 0 ||
      change.moderators ||
      removed.length > 0
    ) {
      this.#host.changed(change, removed)
    }
  }

  /**
   * Removes those of `keys` that the set lists and `state` blocks. A key not
   * listed but being admitted right now (claimed: past admission's check of
   * the state, awaiting) is checked again once that admission ends
   * (`#afterClaim`), or it would join blocked.
   */
  async #removeAll(keys: Buffer[], state: ModerationState): Promise<FeedInfo[]> {
    const removed: FeedInfo[] = []
    for (const key of keys) {
      if (blockOf(state, key) === null) continue
      const feed = this.#host.membership.set.find(key)
      if (feed === undefined) {
        this.#afterClaim(key)
        continue
      }
      const { tags } = this.#host.membership
      // A copy: the tag is a view of the set's table, whose row the removal frees.
      if (tags.required && !tags.computes && feed.tag !== null) {
        this.#tags.set(hex(key), Buffer.from(feed.tag))
      }
      const info = await this.#host.remove(key)
      if (info !== null) removed.push(info)
    }
    return removed
  }

  /**
   * Once the admission (or writer) holding `key` lets go of it: removes it if
   * it joined and the state blocks it then. Not awaited by the change that
   * found it (that admission may itself wait for this change: a writer's
   * bind); a removal it does is reported as a change of its own. A close
   * meanwhile ends it (what the set lists blocked is removed at open).
   */
  #afterClaim(key: Buffer): void {
    const { membership } = this.#host
    const claim = membership.claimOf(hex(key))
    if (claim === undefined) return
    const after = async (): Promise<void> => {
      for (let c = membership.claimOf(hex(key)); c; c = membership.claimOf(hex(key))) await c
      const state = this.#moderation.state
      const removed = await this.#removeAll([key], state)
      if (removed.length > 0) {
        const nothing = { added: [], blocked: [], unblocked: [], moderators: false, refused: {} }
        this.#host.changed(nothing, removed)
      }
    }
    after().catch(() => {
      // Closed meanwhile (ERR_CLOSED): settle() at the next open removes it.
    })
  }
}

/** The feeds a target names: the feed, or every feed bound to the identity. */
function feedsOf(state: ModerationState, kind: TargetKind, target: Buffer): Buffer[] {
  if (kind === 'feed') return [target]
  const feeds: Buffer[] = []
  for (const [feed, owners] of state.bindings) {
    if (owners.some((owner) => owner.equals(target))) feeds.push(Buffer.from(feed, 'hex'))
  }
  return feeds
}

function hex(key: Buffer): string {
  return key.toString('hex')
}
