/**
 * Our writers: local writable cores by local name. `session(name)` creates
 * the writer on first use (idempotent and safe under concurrent calls, the
 * same name giving the same key across restarts) and returns a new session
 * the caller owns.
 */
import type { Corestore, Hypercore, HypercoreKeyPair as KeyPair } from '@multifeed/holepunch-types'
import { InvalidArgumentError, NotWritableError } from '../errors.js'
import type { CorePool } from './CorePool.js'
import type { Feed } from './FeedSet.js'
import type { Membership } from './Membership.js'

const MAX_NAME_LENGTH = 255

export interface WritersHost {
  assertOpen(): void
  /** A writer joined the set. */
  announce(feed: Feed): void
  /** A new writer, before it joins: a moderated set binds it to our identity (a signed record). */
  bind(key: Buffer, keyPair: { publicKey: Buffer; secretKey: Buffer }): Promise<void>
}

export class Writers {
  readonly #store: Corestore
  readonly #membership: Membership
  readonly #pool: CorePool
  readonly #host: WritersHost
  readonly #pending = new Map<string, Promise<Feed>>()
  readonly #keyPairs = new Map<string, KeyPair>()
  readonly #marking = new Map<string, Promise<void>>()

  constructor(store: Corestore, membership: Membership, pool: CorePool, host: WritersHost) {
    this.#store = store
    this.#membership = membership
    this.#pool = pool
    this.#host = host
  }

  /** A new session of the writer `name`, created on first use. */
  async session(name: unknown, keyPair: KeyPair | undefined): Promise<Hypercore<unknown>> {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new InvalidArgumentError(
        `Writer name must be a string of 1 to ${MAX_NAME_LENGTH} characters`
      )
    }
    if (this.#membership.retired.has(name)) {
      throw new InvalidArgumentError(
        `Writer "${name}" was removed: its name is retired (it would give the same key); use another name`
      )
    }
    let pending = this.#pending.get(name)
    if (pending === undefined) {
      pending = this.#create(name, keyPair)
      this.#pending.set(name, pending)
      pending.catch(() => this.#pending.delete(name))
    }
    const feed = await pending
    const known = this.#keyPairs.get(name)
    if (
      keyPair !== undefined &&
      known !== undefined &&
      !known.publicKey.equals(keyPair.publicKey)
    ) {
      throw new InvalidArgumentError(`Writer "${name}" already exists with another key pair`)
    }
    if (keyPair !== undefined) this.#keyPairs.set(name, keyPair)
    this.#host.assertOpen()
    const session = await this.#pool.session(feed, { keyPair: keyPair ?? known })
    if (!canWrite(session)) {
      await session.close()
      // A feed learned from a peer stays theirs until we can write it: try again later.
      if (this.#membership.names.get(name) !== feed) this.#pending.delete(name)
      throw new NotWritableError(
        session.writable && session.manifest === null
          ? 'This feed was learned from a peer and none of it was downloaded yet: its manifest is unknown, so it cannot be written here until it is'
          : `Writer "${name}" exists but this store does not hold its secret key: pass its keyPair`
      )
    }
    if (this.#membership.names.get(name) !== feed) {
      // A feed learned from a peer, now proven ours (a restored identity).
      try {
        await this.#claimName(name, feed)
      } catch (err) {
        await session.close()
        throw err
      }
    }
    return session
  }

  /** Records `feed` as our writer `name` once, whatever the concurrent calls. */
  #claimName(name: string, feed: Feed): Promise<void> {
    let marking = this.#marking.get(name)
    if (marking === undefined) {
      marking = this.#membership.markLocal(feed, name).finally(() => this.#marking.delete(name))
      this.#marking.set(name, marking)
    }
    return marking
  }

  /** Waits for writers being created (at close). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()])
  }

  async #create(name: string, keyPair: KeyPair | undefined): Promise<Feed> {
    const known = this.#membership.names.get(name)
    if (known !== undefined) return known
    // A new core of the set: the session is marked opened first (Membership.opening).
    await this.#membership.opening()
    this.#host.assertOpen()
    const core = this.#store.get<unknown>({
      ...(keyPair ? { keyPair } : { name: `writer/${name}` }),
      active: false
    })
    try {
      await core.ready()
      this.#host.assertOpen()
      if (!core.writable) throw new NotWritableError(`Writer "${name}" is not writable`)
      if (keyPair) this.#keyPairs.set(name, keyPair)
      const key = core.key!
      const id = key.toString('hex')
      // The same key may be joining right now (offered by a peer, or another
      // name with the same key pair): wait for that, never add a key twice.
      for (let claim = this.#membership.claimOf(id); claim; ) {
        await claim
        claim = this.#membership.claimOf(id)
      }
      this.#host.assertOpen()
      const existing = this.#membership.set.get(id)
      if (existing !== undefined) {
        // Known already as another name of ours: this name is one more.
        if (existing.local) await this.#membership.markLocal(existing, name)
        // Learned from a peer (a restored identity): it becomes ours in
        // session(), once we can write it (its manifest was downloaded).
        return existing
      }
      this.#membership.checkCapacity(1)
      const release = this.#membership.claim([id])
      try {
        // Bound before it joins: a writer announced is a writer bound (a crash
        // in between leaves a bind of a feed not in the set, which names no one).
        const { publicKey, secretKey } = core.keyPair!
        await this.#host.bind(key, { publicKey, secretKey: secretKey! })
        this.#host.assertOpen()
        const [feed] = await this.#membership.add([{ key, local: true, name, length: core.length }])
        this.#host.assertOpen()
        this.#host.announce(feed!)
        return feed!
      } finally {
        release()
      }
    } finally {
      await core.close().catch(() => {})
    }
  }
}

/** True when this session can sign appends (writable and holding the secret key). */
function canWrite(core: Hypercore<unknown>): boolean {
  return core.writable && !!core.keyPair?.secretKey && core.manifest !== null
}
