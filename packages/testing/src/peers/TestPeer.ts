/**
 * One peer of a `PeerGroup`: its temporary directory, the corestore on it,
 * its networker, and the multifeeds opened through it; the lifecycle of all
 * of them (open, disconnect, restart, close).
 */
import {
  type KeyLike,
  Multifeed,
  type MultifeedOptions,
  Resource,
  type ValueEncoding,
  type ValueOf
} from '@multifeed/core'
import type { Corestore, Hyperswarm } from '@multifeed/holepunch-types'
import type { NetworkerInterface, SwarmOptions } from '@multifeed/networker'
import { setLabel, shortKey } from '../labels.js'
import { anObject, checkOptions } from '../options.js'
import { createTempCorestore, type TempCorestore, type TempDir, tmpStorage } from '../storage.js'
import { inOrder, type NoEvents } from '../Teardown.js'
import type { MultifeedHolder } from '../waiters.js'
import { type Built, buildNetworker } from './networkerFactory.js'
import type { PeerGroup } from './PeerGroup.js'

interface OpenedMultifeed {
  multi: Multifeed<unknown>
  key: Buffer
  options: MultifeedOptions | undefined
  swarmed: SwarmOptions | null
}

export interface JoinOptions<E extends ValueEncoding = ValueEncoding> {
  /** Options of `networker.swarm()`. */
  swarm?: SwarmOptions
  /** Options of `Multifeed.open()`; default the group's. */
  multifeed?: MultifeedOptions<E>
}

/**
 * One peer of a `PeerGroup`: a corestore on a temporary directory, a
 * networker, and the multifeeds opened through it. `T` is the block type of
 * the multifeeds it opens with the group's options. `ready()` makes the
 * directory, the corestore and the networker (a failed open removes them).
 */
export class TestPeer<T = Buffer> extends Resource<NoEvents> implements MultifeedHolder {
  readonly index: number
  readonly name: string
  readonly group: PeerGroup<T>
  #dir: TempDir | null = null
  #tmp: TempCorestore | null = null
  #built: Built | null = null
  #opened: OpenedMultifeed[] = []

  /** @internal use `createPeers()` or `group.addPeer()`. */
  constructor(group: PeerGroup<T>, index: number) {
    super()
    this.group = group
    this.index = index
    this.name = `peer${index}`
  }

  get corestore(): Corestore {
    return this.#state().tmp.corestore
  }

  /** The storage directory (kept across `restart()`, removed on close). */
  get path(): string {
    return this.#state().dir.path
  }

  get networker(): NetworkerInterface {
    return this.#state().built.networker
  }

  /** The Hyperswarm under the networker, when there is one. */
  get hyperswarm(): Hyperswarm | null {
    return this.#state().built.swarm
  }

  /**
   * The multifeeds opened through this peer and still open (of whatever value
   * encoding each was opened with).
   */
  multifeeds(): Multifeed<unknown>[] {
    return this.#opened.filter((o) => !o.multi.closed).map((o) => o.multi)
  }

  /**
   * Opens a multifeed in this peer's corestore (not swarmed); closed with the
   * peer. Without `options`, with the group's options.
   */
  open(key?: KeyLike): Promise<Multifeed<T>>
  open<E extends ValueEncoding = 'binary'>(
    key: KeyLike | undefined,
    options: MultifeedOptions<E>
  ): Promise<Multifeed<ValueOf<E>>>
  async open(key?: KeyLike, options?: MultifeedOptions): Promise<Multifeed<unknown>> {
    const opts = options ?? this.group.options.multifeed
    const multi = await Multifeed.open(this.corestore, key, opts)
    setLabel(multi, `${this.name} (${shortKey(multi.key)})`)
    this.#opened.push({ multi, key: multi.key, options: opts, swarmed: null })
    return multi
  }

  /** Opens (if given a key or nothing) and swarms a multifeed on this peer's networker. */
  join<M extends Multifeed<unknown>>(target: M, options?: JoinOptions): Promise<M>
  join(target?: KeyLike, options?: Omit<JoinOptions, 'multifeed'>): Promise<Multifeed<T>>
  join<E extends ValueEncoding = 'binary'>(
    target: KeyLike | undefined,
    options: JoinOptions<E> & { multifeed: MultifeedOptions<E> }
  ): Promise<Multifeed<ValueOf<E>>>
  async join(
    target?: Multifeed<unknown> | KeyLike,
    options: JoinOptions = {}
  ): Promise<Multifeed<unknown>> {
    checkOptions(options, 'peer.join()', { swarm: anObject, multifeed: anObject })
    const multi: Multifeed<unknown> =
      target instanceof Multifeed
        ? target
        : options.multifeed === undefined
          ? await this.open(target)
          : await this.open(target, options.multifeed)
    await this.networker.swarm(swarmable(multi), options.swarm)
    const entry = this.#opened.find((o) => o.multi === multi)
    if (entry !== undefined) entry.swarmed = options.swarm ?? {}
    return multi
  }

  /** Leaves a multifeed's topic on this peer's networker. */
  async leave(multi: Multifeed<unknown>): Promise<void> {
    await this.networker.leave(swarmable(multi))
    const entry = this.#opened.find((o) => o.multi === multi)
    if (entry !== undefined) entry.swarmed = null
  }

  /**
   * Takes this peer off the network for good: closes its networker and
   * destroys its swarm (its multifeeds and storage stay until `close()`).
   */
  async disconnect(): Promise<void> {
    const built = this.#built
    if (built === null) return
    const testnet = this.group.testnet
    const { networker, swarm } = built
    await inOrder(
      [
        () => networker.close(),
        () => (swarm === null ? null : (testnet?.destroySwarm(swarm) ?? swarm.destroy()))
      ],
      `disconnecting ${this.name}`
    )
  }

  /**
   * Closes the networker, the multifeeds and the corestore, then re-opens
   * them from the same directory: the same multifeeds (by key) are re-opened
   * and the ones that were swarmed are swarmed again. The `Multifeed` objects
   * are new: read them again from `multifeeds()`.
   */
  async restart(): Promise<void> {
    this.assertOpen(this.name)
    const previous = this.#opened
    await this.#shutdown()
    this.#opened = []
    await this.#start()
    for (const entry of previous) {
      const multi =
        entry.options === undefined
          ? await this.open(entry.key)
          : await this.open(entry.key, entry.options)
      if (entry.swarmed !== null) await this.join(multi, { swarm: entry.swarmed })
    }
  }

  protected async _open(): Promise<void> {
    this.#dir = await tmpStorage({ prefix: `multifeed-${this.name}-` })
    await this.#start()
  }

  /** Closes the networker, the multifeeds, the swarm and the corestore, and removes the directory. */
  protected async _close(): Promise<void> {
    await inOrder([() => this.#shutdown(), () => this.#dir?.close()], `closing ${this.name}`)
  }

  /** A corestore on the peer's directory (kept at close) and a networker on it. */
  async #start(): Promise<void> {
    if (this.#dir === null) throw new Error(`${this.name} has no directory`)
    this.#tmp = await createTempCorestore({ path: this.#dir.path, keep: true })
    this.#built = await buildNetworker(this.group, this.index, this.#tmp.corestore)
    setLabel(this.#built.networker, this.name)
  }

  /** Networker and swarm, then multifeeds, then the corestore; the directory stays. */
  async #shutdown(): Promise<void> {
    const tmp = this.#tmp
    await inOrder(
      [
        () => this.disconnect(),
        ...this.#opened.map(
          ({ multi }) =>
            () =>
              multi.close()
        ),
        () => tmp?.close()
      ],
      `closing ${this.name}`
    )
  }

  #state(): { dir: TempDir; tmp: TempCorestore; built: Built } {
    const dir = this.#dir
    const tmp = this.#tmp
    const built = this.#built
    if (dir === null || tmp === null || built === null) {
      throw new Error(`${this.name} is not ready: await peer.ready() (createPeers() does)`)
    }
    return { dir, tmp, built }
  }
}

/**
 * `NetworkerInterface` takes a `Multifeed` (of Buffer blocks) though it never
 * reads a block: a multifeed of any value encoding swarms the same.
 */
function swarmable(multi: Multifeed<unknown>): Multifeed {
  return multi as Multifeed
}
