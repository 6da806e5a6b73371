import { EventEmitter } from 'events'
import { ClosedError } from '../errors.js'

/** Maps an event name to the arguments of its listeners. */
export type EventMap<T> = { [E in keyof T]: unknown[] }

/**
 * An `EventEmitter` whose `on`/`once`/`off`/`emit` are checked against an
 * event map, and which never throws on an `error` event nobody listens to
 * (multifeed emits no `error` event at all: protocol faults are `peer-error`).
 */
export class TypedEmitter<Events extends EventMap<Events>> extends EventEmitter {
  override on<E extends keyof Events & string>(
    event: E,
    listener: (...args: Events[E]) => void
  ): this {
    return super.on(event, listener as (...args: unknown[]) => void)
  }

  override once<E extends keyof Events & string>(
    event: E,
    listener: (...args: Events[E]) => void
  ): this {
    return super.once(event, listener as (...args: unknown[]) => void)
  }

  override off<E extends keyof Events & string>(
    event: E,
    listener: (...args: Events[E]) => void
  ): this {
    return super.off(event, listener as (...args: unknown[]) => void)
  }

  override emit<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    return super.emit(event, ...args)
  }
}

/**
 * The lifecycle every multifeed resource shares, modelled on Holepunch's
 * `ReadyResource`: `ready()` and `close()` each run once and memoise their
 * promise; `opened`/`closed` say where it stands; a failed open closes the
 * resource; `await using` closes it.
 */
export abstract class Resource<Events extends EventMap<Events>> extends TypedEmitter<Events> {
  #opening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  opened = false
  closed = false

  /** True from the moment `close()` was first called. */
  get closing(): boolean {
    return this.#closing !== null
  }

  protected abstract _open(): Promise<void>
  protected abstract _close(): Promise<void>

  ready(): Promise<void> {
    if (this.#opening === null) this.#opening = this.#open()
    return this.#opening
  }

  close(): Promise<void> {
    if (this.#closing === null) this.#closing = this.#close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** Throws `ERR_CLOSED` once `close()` has been called. */
  protected assertOpen(what = this.constructor.name): void {
    if (this.#closing !== null) throw new ClosedError(`${what} is closed`)
  }

  async #open(): Promise<void> {
    if (this.#closing !== null) throw new ClosedError(`${this.constructor.name} is closed`)
    try {
      await this._open()
    } catch (err) {
      // A failed open releases what it took; close() then resolves at once.
      if (this.#closing === null) this.#closing = this.#shutdown()
      await this.#shutdown().catch(() => {})
      throw err
    }
    if (this.#closing !== null) throw new ClosedError(`${this.constructor.name} is closed`)
    this.opened = true
  }

  async #close(): Promise<void> {
    if (this.#opening !== null) await this.#opening.catch(() => {})
    await this.#shutdown()
  }

  #shutdownPromise: Promise<void> | null = null

  #shutdown(): Promise<void> {
    if (this.#shutdownPromise === null) {
      this.#shutdownPromise = this._close().finally(() => {
        this.closed = true
      })
    }
    return this.#shutdownPromise
  }
}
