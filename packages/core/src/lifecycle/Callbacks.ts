/**
 * Everything of the user's that the multifeed calls: event listeners and
 * policy hooks. A throw there is the user's fault, never a peer's: it is
 * reported as `callback-error` (or a process warning when nobody listens)
 * and never unwinds the protocol's state.
 */
import { CallbackError } from '../errors.js'
import type {
  FeedInfo,
  ModerationContext,
  ModerationRecord,
  MultifeedEvents,
  MultifeedPolicy,
  PeerRef
} from '../types.js'
import type { TypedEmitter } from './Resource.js'
import { emitWarning } from './runtime.js'

export class Callbacks {
  readonly #emitter: TypedEmitter<MultifeedEvents>
  readonly #policy: MultifeedPolicy

  constructor(emitter: TypedEmitter<MultifeedEvents>, policy: MultifeedPolicy) {
    this.#emitter = emitter
    this.#policy = policy
  }

  get hasSharePolicy(): boolean {
    return this.#policy.share !== undefined
  }

  /**
   * Emits to user listeners; a listener that throws is reported and the
   * listeners after it still run (EventEmitter.emit would stop at the throw).
   */
  emit<E extends keyof MultifeedEvents & string>(event: E, ...args: MultifeedEvents[E]): void {
    for (const listener of this.#emitter.rawListeners(event)) {
      try {
        ;(listener as (...a: unknown[]) => void).apply(this.#emitter, args)
      } catch (err) {
        this.error(`listener:${event}`, err, null)
      }
    }
  }

  /** The share policy's answer; a throw keeps the feed from that peer. */
  shares(feed: FeedInfo, peer: PeerRef): boolean {
    const share = this.#policy.share
    if (share === undefined) return true
    try {
      return share.call(this.#policy, feed, { peer }) !== false
    } catch (err) {
      this.error('policy.share', err, peer)
      return false
    }
  }

  get hasModerationPolicy(): boolean {
    return this.#policy.moderation !== undefined
  }

  /** The moderation policy's choice (undefined: the rule's verdict); a throw keeps the verdict. */
  follows(record: ModerationRecord, context: ModerationContext): boolean | undefined {
    const moderation = this.#policy.moderation
    if (moderation === undefined) return undefined
    try {
      const choice = moderation.call(this.#policy, record, context)
      return typeof choice === 'boolean' ? choice : undefined
    } catch (err) {
      this.error('policy.moderation', err, null)
      return undefined
    }
  }

  /** The accept policy's answer; a throw or rejection refuses the key. */
  async accepts(key: Buffer, peer: PeerRef | null): Promise<boolean> {
    const accept = this.#policy.accept
    if (accept === undefined) return true
    try {
      return (await accept.call(this.#policy, key, { peer })) !== false
    } catch (err) {
      this.error('policy.accept', err, peer)
      return false
    }
  }

  error(callback: string, cause: unknown, peer: PeerRef | null): void {
    const error = new CallbackError(callback, cause)
    if (
      callback !== 'listener:callback-error' &&
      this.#emitter.listenerCount('callback-error') > 0
    ) {
      try {
        this.#emitter.emit('callback-error', error, peer)
        return
      } catch {}
    }
    emitWarning(error)
  }
}
