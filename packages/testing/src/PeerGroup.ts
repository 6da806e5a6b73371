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
import { setLabel, shortKey } from './labels.js'
import { createTempCorestore, type TempCorestore, type TempDir, tmpStorage } from './storage.js'
import { inOrder, type NoEvents, settle } from './Teardown.js'
import { createTestnet, type TestDHT } from './Testnet.js'
import type { MultifeedHolder } from './waiters.js'

/** What a networker factory gets for each peer. */
export interface PeerContext {
  /** 0-based index of the peer in its group. */
  readonly index: number
  /** `peer0`, `peer1`, … */
  readonly name: string
  /** The peer's corestore (on a temporary directory). */
  readonly corestore: Corestore
  /** The group's loopback testnet; null for a group without one (`'in-process'`, `testnet: false`). */
  readonly testnet: TestDHT | null
  /** The group; its `shared` map holds state common to its peers (e.g. an in-process hub). */
  readonly group: PeerGroup<unknown>
}

/** What a networker factory returns: the networker, and optionally the Hyperswarm it was built on. */
export interface BuiltNetworker {
  readonly networker: NetworkerInterface
  /** Destroyed after the networker closed, whether or not the networker destroys it itself. */
  readonly swarm?: Hyperswarm | null
}

/** Builds a peer's networker. */
export type NetworkerFactory = (
  context: PeerContext
) => NetworkerInterface | BuiltNetworker | Promise<NetworkerInterface | BuiltNetworker>

/** `'hyperswarm'`: `Networker` on a loopback testnet swarm; `'in-process'`: `InProcessNetworker`. */
export type NetworkerKind = 'hyperswarm' | 'in-process'

export interface CreatePeersOptions<E extends ValueEncoding = ValueEncoding> {
  /** Which networker each peer gets. Default `'hyperswarm'`. */
  networker?: NetworkerKind | NetworkerFactory
  /**
   * Use this testnet instead of starting one (it is then not closed with the
   * group); `false`: start none (a networker factory that needs no DHT).
   */
  testnet?: TestDHT | false
  /** Number of DHT nodes of the testnet the group starts. Default 3. */
  testnetSize?: number
  /**
   * Options of every multifeed opened through the group's helpers; its
   * `valueEncoding` types their blocks (`createPeers(2, { multifeed: { valueEncoding: 'json' } })`
   * gives multifeeds of `unknown`).
   */
  multifeed?: MultifeedOptions<E>
}

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

/** Options of `peers.multifeed()`. */
export interface MultifeedGroupOptions<E extends ValueEncoding = ValueEncoding> {
  /** false: open only; `SwarmOptions`: how to swarm. Default: swarm with the defaults. */
  swarm?: boolean | SwarmOptions
  /** Options of `Multifeed.open()`; default the group's. */
  multifeed?: MultifeedOptions<E>
  /** The peers to open it on; default every peer of the group. */
  peers?: Iterable<TestPeer<unknown>>
}

interface Built {
  readonly networker: NetworkerInterface
  readonly swarm: Hyperswarm | null
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
 * Peers for a test, each with its own corestore and networker, on a shared
 * loopback testnet. Closing the group closes every peer, then the testnet.
 * `T` is the block type of the multifeeds its helpers open (given by
 * `options.multifeed.valueEncoding`; Buffer by default).
 */
export class PeerGroup<T = Buffer> extends Resource<NoEvents> implements Iterable<TestPeer<T>> {
  readonly peers: TestPeer<T>[] = []
  readonly options: CreatePeersOptions
  /** Free for networker factories to share state between the peers of this group. */
  readonly shared = new Map<string, unknown>()
  readonly #size: number
  #testnet: TestDHT | null = null
  #ownsTestnet = false
  #next = 0

  /** @internal use `createPeers()`: `ready()` starts the testnet (if needed) and `size` peers. */
  constructor(size: number, options: CreatePeersOptions) {
    super()
    this.#size = size
    this.options = options
  }

  /** The group's loopback testnet; null without one (`networker: 'in-process'`, `testnet: false`). */
  get testnet(): TestDHT | null {
    return this.#testnet
  }

  get length(): number {
    return this.peers.length
  }

  [Symbol.iterator](): Iterator<TestPeer<T>> {
    return this.peers[Symbol.iterator]()
  }

  /** The peer at `index`; throws if there is none. */
  at(index: number): TestPeer<T> {
    const peer = this.peers.at(index)
    if (peer === undefined) throw new RangeError(`No peer at index ${index} (${this.length} peers)`)
    return peer
  }

  /** Adds one more peer (a late joiner). */
  async addPeer(): Promise<TestPeer<T>> {
    this.assertOpen('The peer group')
    const peer = new TestPeer<T>(this, this.#next++)
    this.peers.push(peer)
    try {
      await peer.ready()
    } catch (err) {
      this.peers.splice(this.peers.indexOf(peer), 1)
      throw err
    }
    return peer
  }

  /**
   * Opens the same multifeed on every peer (or on `peers`) and, unless
   * `swarm: false`, swarms it on each networker, one after the other.
   * Returns the multifeeds in peer order.
   *
   * ```ts
   * const [a, b, c] = await peers.multifeed()
   * ```
   */
  multifeed(
    key?: KeyLike,
    options?: Omit<MultifeedGroupOptions, 'multifeed'>
  ): Promise<Multifeed<T>[]>
  multifeed<E extends ValueEncoding = 'binary'>(
    key: KeyLike | undefined,
    options: MultifeedGroupOptions<E> & { multifeed: MultifeedOptions<E> }
  ): Promise<Multifeed<ValueOf<E>>[]>
  async multifeed(
    key?: KeyLike,
    options: MultifeedGroupOptions<ValueEncoding> = {}
  ): Promise<Multifeed<unknown>[]> {
    const peers: TestPeer<unknown>[] = [...(options.peers ?? this.peers)]
    const out: Multifeed<unknown>[] = []
    let shared: KeyLike | undefined = key
    for (const peer of peers) {
      const multi =
        options.multifeed === undefined
          ? await peer.open(shared)
          : await peer.open(shared, options.multifeed)
      shared = multi.key
      out.push(multi)
    }
    if (options.swarm !== false) {
      const swarmOptions = typeof options.swarm === 'object' ? options.swarm : {}
      for (const [i, peer] of peers.entries()) {
        await peer.join(out[i]!, { swarm: swarmOptions })
      }
    }
    return out
  }

  protected async _open(): Promise<void> {
    const { networker = 'hyperswarm', testnet, testnetSize = 3 } = this.options
    if (testnet !== undefined) this.#testnet = testnet === false ? null : testnet
    else if (networker !== 'in-process') {
      this.#testnet = await createTestnet({ size: testnetSize })
      this.#ownsTestnet = true
    }
    for (let i = 0; i < this.#size; i++) await this.addPeer()
  }

  /** Closes every peer (networkers, multifeeds, swarms, corestores, directories), then the testnet if the group started it. */
  protected async _close(): Promise<void> {
    const testnet = this.#ownsTestnet ? this.#testnet : null
    await inOrder(
      [
        () =>
          settle(
            this.peers.map((peer) => peer.close()),
            'closing the peers'
          ),
        () => testnet?.close()
      ],
      'closing the peer group'
    )
  }
}

/**
 * Creates `n` peers, each with a corestore on a temporary directory and a
 * networker: by default a Hyperswarm `Networker` whose DHT is a node of a
 * loopback testnet (127.0.0.1) started for the group.
 *
 * ```ts
 * await using peers = await createPeers(3)
 * const [a, b, c] = await peers.multifeed()
 * ```
 */
export async function createPeers<E extends ValueEncoding = 'binary'>(
  n: number,
  options: CreatePeersOptions<E> = {}
): Promise<PeerGroup<ValueOf<E>>> {
  const group = new PeerGroup<ValueOf<E>>(n, options as CreatePeersOptions)
  await group.ready()
  return group
}

/**
 * `NetworkerInterface` takes a `Multifeed` (of Buffer blocks) though it never
 * reads a block: a multifeed of any value encoding swarms the same.
 */
function swarmable(multi: Multifeed<unknown>): Multifeed {
  return multi as Multifeed
}

async function buildNetworker(
  group: PeerGroup<unknown>,
  index: number,
  corestore: Corestore
): Promise<Built> {
  const kind = group.options.networker ?? 'hyperswarm'
  const context: PeerContext = {
    index,
    name: `peer${index}`,
    corestore,
    testnet: group.testnet,
    group
  }
  if (typeof kind === 'function') {
    const built = await kind(context)
    if ('networker' in built) return { networker: built.networker, swarm: built.swarm ?? null }
    return { networker: built, swarm: null }
  }
  const networkerModule = await import('@multifeed/networker')
  if (kind === 'in-process') {
    // One hub per group: the group's peers meet each other and nobody else.
    let hub = group.shared.get('in-process-hub')
    if (!(hub instanceof networkerModule.InProcessHub)) {
      hub = new networkerModule.InProcessHub()
      group.shared.set('in-process-hub', hub)
    }
    return {
      networker: new networkerModule.InProcessNetworker(corestore, {
        hub: hub as InstanceType<typeof networkerModule.InProcessHub>
      }),
      swarm: null
    }
  }
  if (group.testnet === null) throw new Error('A Hyperswarm networker needs a testnet')
  const swarm = group.testnet.createSwarm()
  return { networker: new networkerModule.Networker(corestore, { swarm }), swarm }
}
