/**
 * `multi.moderation`: a moderated set's authority as its members use it.
 * The founder grants and revokes moderators; the founder and moderators
 * block and unblock feeds and identities; everyone reads who moderates and
 * what is blocked. Each call signs one record with this peer's identity
 * (set/Moderation.ts: verified, stored, evaluated) and resolves once the set
 * acted on it here (ModerationEffects). Peers get the records from the
 * set's protocol.
 */
import { InvalidArgumentError, NotWritableError } from '../errors.js'
import { parseKey } from '../keys.js'
import type { Callbacks } from '../lifecycle/Callbacks.js'
import { knownOptions } from '../lifecycle/strict.js'
import { type BlockEntry, blockOf } from '../moderation/evaluate.js'
import { MAX_REASON_BYTES, type TargetKind } from '../moderation/records.js'
import type {
  FeedInfo,
  KeyLike,
  ModerationBlock,
  ModerationEvent,
  ModerationTarget
} from '../types.js'
import type { Feed } from './FeedSet.js'
import type { Management } from './Management.js'
import type { Membership } from './Membership.js'
import type { Moderation, ModerationChange } from './Moderation.js'
import { ModerationEffects } from './ModerationEffects.js'

/** What the moderation API needs from its multifeed. */
export interface SetModerationHost {
  readonly membership: Membership
  readonly callbacks: Callbacks
  readonly management: Management
  assertOpen(): void
  /** A feed let back in: ask every peer for it (Peers.seek). */
  seek(feed: Feed): void
}

/** Set by SetModeration's static block: the one way to its records (`recordsOf`). */
let recordsOfApi: (api: SetModeration) => Moderation

export class SetModeration {
  /** The founder's identity (public key): the set's root of authority. */
  readonly founder: Buffer
  /** This peer's identity (public key): what its records are signed with. */
  readonly identity: Buffer
  readonly #moderation: Moderation
  readonly #effects: ModerationEffects
  readonly #host: SetModerationHost

  static {
    recordsOfApi = (api) => api.#moderation
  }

  constructor(moderation: Moderation, host: SetModerationHost) {
    this.#moderation = moderation
    this.#host = host
    this.founder = moderation.id.founder
    this.identity = moderation.identity.publicKey
    this.#effects = new ModerationEffects(moderation, {
      membership: host.membership,
      // As remove() does, a writer of ours too (a moderator's block reaches it).
      remove: (key) => host.management.remove(key, { force: true }),
      // As add() does: the member's mute and accept policy are consulted.
      restore: async (key, tag) => {
        try {
          await host.management.readmit(key, tag)
          const feed = host.membership.set.find(key)
          if (feed !== undefined) host.seek(feed)
        } catch (err) {
          // Muted here, or held for something else in this corestore: it stays out.
          if (!(err instanceof InvalidArgumentError)) throw err
        }
      },
      changed: (change, removed) => host.callbacks.emit('moderation', eventOf(change, removed))
    })
  }

  /**
   * Blocks a feed (`{ feed: key }`) or an identity (`{ identity: key }`:
   * every feed bound to it, now and later) on every member: removed,
   * purged and refused. A moderator only (else ERR_INVALID_ARGUMENT); the
   * founder's identity cannot be blocked. A target already blocked: nothing to sign.
   */
  async block(target: ModerationTarget<KeyLike>, options: { reason?: string } = {}): Promise<void> {
    this.#host.assertOpen()
    const o = knownOptions(options, 'moderation.block()', ['reason'])
    const reason = o.reason ?? ''
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_REASON_BYTES) {
      throw new InvalidArgumentError(
        `moderation.block(): reason must be a string of at most ${MAX_REASON_BYTES} bytes`
      )
    }
    const [kind, key] = targetOf(target, 'block')
    if (kind === 'identity' && key.equals(this.founder)) {
      throw new InvalidArgumentError("moderation.block(): the set's founder cannot be blocked")
    }
    if (this.#moderation.state.blocked.has(`${kind}:${key.toString('hex')}`)) return
    await this.#moderation.block(kind, key, reason)
  }

  /**
   * Lifts the blocks of a target that this peer holds (a moderator only):
   * its feeds may join again and are fetched from whoever holds them. A
   * member's own `multi.block()` mute stays. Not blocked: nothing to sign.
   */
  async unblock(target: ModerationTarget<KeyLike>): Promise<void> {
    this.#host.assertOpen()
    const [kind, key] = targetOf(target, 'unblock')
    if (!this.#moderation.state.blocked.has(`${kind}:${key.toString('hex')}`)) return
    await this.#moderation.unblock(kind, key)
  }

  /** Makes an identity a moderator (the founder only). */
  async grant(identity: KeyLike): Promise<void> {
    this.#host.assertOpen()
    const key = parseKey(identity, 'moderation.grant(): identity')
    if (key.equals(this.founder)) return
    await this.#moderation.grant(key)
  }

  /** Takes the moderator right from an identity (the founder only); its records from then on count for nothing. */
  async revoke(identity: KeyLike): Promise<void> {
    this.#host.assertOpen()
    const key = parseKey(identity, 'moderation.revoke(): identity')
    if (key.equals(this.founder)) {
      throw new InvalidArgumentError("moderation.revoke(): the set's founder cannot be revoked")
    }
    await this.#moderation.revoke(key)
  }

  /** The founder, then the moderators (public keys, by key). */
  moderators(): Buffer[] {
    return this.#moderation.state.moderators.map((key) => Buffer.from(key))
  }

  /** True when `identity` (default: ours) is the founder or a moderator now. */
  isModerator(identity: KeyLike = this.identity): boolean {
    return this.#moderation.isModerator(parseKey(identity, 'identity'))
  }

  /** What is blocked: each target with who signed its block, when and why. */
  blocked(): ModerationBlock[] {
    // In key order, however the state was reached.
    return [...this.#moderation.state.blocked.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, entry]) => blockInfo(entry))
  }

  /**
   * The ids of the grant, revoke, block and unblock records this member
   * holds, ascending (binds left out): two members holding the same ids
   * reach the same `moderators()` and `blocked()` (the convergence rule).
   */
  recordIds(): Buffer[] {
    const ids: Buffer[] = []
    for (const r of this.#moderation.records()) {
      if (r.record.type !== 'bind') ids.push(Buffer.from(r.id))
    }
    return ids.sort(Buffer.compare)
  }

  /** Closes the records' log (the multifeed closes it). */
  close(): Promise<void> {
    return this.#moderation.close()
  }

  /** At open: finishes what a crash left half done (ModerationEffects.settle). */
  settle(): Promise<void> {
    return this.#effects.settle()
  }

  /**
   * Binds a new writer of ours to our identity; refuses it when our identity
   * is blocked. Refused before the bind when the block is known here: a bind
   * of a writer that never joins would travel, and an unblock would make the
   * members list a key its owner cannot (its store holds that core outside
   * the set). After the bind too: a block may come meanwhile.
   */
  async bindWriter(key: Buffer, keyPair: { publicKey: Buffer; secretKey: Buffer }): Promise<void> {
    const blocked = () =>
      new NotWritableError(
        "This peer's identity is blocked by the set's moderation: its writers are refused"
      )
    if (this.#moderation.state.blocked.has(`identity:${this.identity.toString('hex')}`)) {
      throw blocked()
    }
    await this.#moderation.bind({ key, keyPair })
    if (blockOf(this.#moderation.state, key) !== null) throw blocked()
  }
}

/**
 * The records behind `multi.moderation` (internal, never exported by the
 * package): what replication carries (PeerHost.moderation), the set's id
 * (`multi.invite`), and the tests' way of moving records between peers.
 */
export function recordsOf(api: SetModeration): Moderation {
  return recordsOfApi(api)
}

/** The kind and key of a target, checked: `{ feed }` or `{ identity }`, one of them. */
function targetOf(target: unknown, call: string): [TargetKind, Buffer] {
  const t = target as { feed?: unknown; identity?: unknown } | null
  const keys = typeof t === 'object' && t !== null ? Object.keys(t) : []
  if (keys.length !== 1 || (keys[0] !== 'feed' && keys[0] !== 'identity')) {
    throw new InvalidArgumentError(
      `moderation.${call}(): target must be { feed: key } or { identity: key }`
    )
  }
  const kind = keys[0] as TargetKind
  const value = kind === 'feed' ? t!.feed : t!.identity
  return [kind, Buffer.from(parseKey(value, `moderation.${call}(): ${kind}`))]
}

function targetInfo(kind: TargetKind, key: Buffer): ModerationTarget {
  return kind === 'feed' ? { feed: key } : { identity: key }
}

function blockInfo(entry: BlockEntry): ModerationBlock {
  return {
    target: targetInfo(entry.kind, Buffer.from(entry.target)),
    signer: Buffer.from(entry.signer),
    time: entry.time,
    reason: entry.reason
  }
}

function eventOf(change: ModerationChange, removed: FeedInfo[]): ModerationEvent {
  return {
    blocked: change.blocked.map(blockInfo),
    unblocked: change.unblocked.map((id) => {
      const [kind, hex] = id.split(':') as [TargetKind, string]
      return targetInfo(kind, Buffer.from(hex, 'hex'))
    }),
    moderators: change.moderators,
    removed
  }
}
