/**
 * Managing the set by hand (the user's calls, never a peer's): add a feed
 * learned out of band, remove one (its core leaves every connection, its
 * storage is reclaimed unless another multifeed of the corestore holds
 * it: see Custody), block and unblock keys. What a peer offers joins
 * through admission.ts.
 */
import type { Corestore } from '@multifeed/holepunch-types'
import { InvalidArgumentError } from '../errors.js'
import { parseKey } from '../keys.js'
import type { Callbacks } from '../lifecycle/Callbacks.js'
import type { FeedInfo, KeyLike } from '../types.js'
import { admit } from './admission.js'
import type { CorePool } from './CorePool.js'
import { type CustodyHost, letGo, recover } from './Custody.js'
import { type Feed, infoOf } from './FeedSet.js'
import type { Membership } from './Membership.js'

/** What managing the set needs from the multifeed. */
export interface ManagementHost {
  /** The root corestore, to tell a core held for something else. */
  root(): Corestore
  assertOpen(): void
  /** A feed joined the set: tell the user and every peer. */
  announce(feed: Feed): void
  /** A feed left the set: every peer lets go of it. */
  forget(feed: Feed): void
  /** True when another open multifeed of this corestore holds the feed. */
  heldElsewhere(key: Buffer): boolean
}

export class Management {
  readonly #membership: Membership
  readonly #pool: CorePool
  readonly #callbacks: Callbacks
  readonly #host: ManagementHost

  constructor(membership: Membership, pool: CorePool, callbacks: Callbacks, host: ManagementHost) {
    this.#membership = membership
    this.#pool = pool
    this.#callbacks = callbacks
    this.#host = host
  }

  /** Adds a feed learned out of band: what we know of it, or null when the accept policy refused it. */
  async add(key: KeyLike): Promise<FeedInfo | null> {
    this.#host.assertOpen()
    return this.#add(parseKey(key, 'Feed key'), null)
  }

  /**
   * Lets a feed a moderation unblock freed join again, as add() does (the
   * member's mute and accept policy consulted). `tag`: its admission tag as
   * this peer last held it, which lets a mirror (it cannot compute one)
   * take it back without waiting for a peer to offer it.
   */
  async readmit(key: Buffer, tag: Buffer | null): Promise<FeedInfo | null> {
    this.#host.assertOpen()
    return this.#add(key, tag)
  }

  async #add(parsed: Buffer, given: Buffer | null): Promise<FeedInfo | null> {
    const known = this.#membership.set.get(parsed.toString('hex'))
    if (known !== undefined) return infoOf(known)
    if (this.#membership.blocked.has(parsed.toString('hex'))) {
      throw new InvalidArgumentError('This key is blocked: unblock() it first')
    }
    if (this.#membership.moderated(parsed)) {
      throw new InvalidArgumentError("This key is blocked by the set's moderation")
    }
    if (this.#membership.unbound(parsed)) {
      throw new InvalidArgumentError(
        "This key is bound to no identity: a moderated set admits a feed once its writer's bind record is held (it travels with the set's records)"
      )
    }
    const { tags } = this.#membership
    if (tags.required && !tags.computes && given === null) {
      throw new InvalidArgumentError(
        'A mirror cannot add a feed by its key: members admit a feed only with its admission tag, which only a member computes (the feed joins the mirror when a member or mirror relays it)'
      )
    }
    const [feed] = await admit(
      {
        membership: this.#membership,
        root: this.#host.root(),
        accepts: (k) => this.#callbacks.accepts(k, null),
        assertOpen: () => this.#host.assertOpen(),
        onHeldElsewhere: () => {
          throw new InvalidArgumentError(
            'This corestore holds that core for something else (another multifeed or your own code): a core joins one multifeed'
          )
        }
      },
      [{ key: parsed, length: 0, tag: given ?? tags.tagOf(parsed) }]
    )
    if (feed === undefined) {
      const raced = this.#membership.set.get(parsed.toString('hex'))
      return raced === undefined ? null : infoOf(raced)
    }
    this.#host.announce(feed)
    return infoOf(feed)
  }

  /** Takes a feed out of the set here: what it was, or null when it was not in the set. */
  async remove(
    key: KeyLike,
    options: { block?: boolean; force?: boolean } = {}
  ): Promise<FeedInfo | null> {
    this.#host.assertOpen()
    const parsed = parseKey(key, 'Feed key')
    const block = options.block === true
    const id = parsed.toString('hex')
    const known = this.#membership.set.get(id)
    if (known?.local === true && options.force !== true) throw writerRemoved(known)
    // Nothing else adds or removes the key meanwhile: a peer's offer being
    // admitted would put it back after our tombstone or block, a re-add
    // would lose its core to our purge. Wait for any claim on the key, then
    // the removal holds the store's claim on it.
    for (let claim = this.#membership.claimOf(id); claim; claim = this.#membership.claimOf(id)) {
      await claim
    }
    this.#host.assertOpen()
    const feed = this.#membership.set.get(id)
    if (feed?.local === true && options.force !== true) throw writerRemoved(feed)
    const release = this.#membership.claim([id])
    try {
      if (feed === undefined) {
        if (block) await this.#membership.block(parsed)
        return null
      }
      const info = infoOf(feed)
      await this.#membership.remove(feed, block)
      this.#host.forget(feed)
      await this.#pool.forget(feed)
      await letGo(this.#custody(), feed.key)
      this.#callbacks.emit('remove', info)
      return info
    } finally {
      release()
    }
  }

  /**
   * At open, after the log was read: finishes what a crash interrupted
   * (see Custody). `removed`: the keys the log removed that are not in the set.
   */
  recover(removed: Buffer[]): Promise<void> {
    return recover(this.#custody(), removed)
  }

  #custody(): CustodyHost {
    return {
      membership: this.#membership,
      pool: this.#pool,
      root: this.#host.root(),
      heldElsewhere: (key) => this.#host.heldElsewhere(key)
    }
  }

  /** Refuses `key` from every peer for good, removing it first if it is in the set. */
  async block(key: KeyLike): Promise<void> {
    this.#host.assertOpen()
    await this.remove(parseKey(key, 'Feed key'), { block: true })
  }

  /** Lets peers offer `key` again. */
  async unblock(key: KeyLike): Promise<void> {
    this.#host.assertOpen()
    await this.#membership.unblock(parseKey(key, 'Feed key'))
  }

  /** The keys refused from every peer. */
  blocked(): Buffer[] {
    return [...this.#membership.blocked.values()]
  }
}

function writerRemoved(feed: Feed): InvalidArgumentError {
  return new InvalidArgumentError(
    `Feed ${feed.id.slice(0, 8)} is our writer "${feed.name}": remove it with { force: true } (its blocks are deleted here and its name is retired)`
  )
}
