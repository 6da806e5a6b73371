/**
 * A group of peers for a test (`createPeers(n)`): its loopback testnet
 * (started, given or none), its peers (each a TestPeer.ts), opening one
 * multifeed on all of them, and closing them all, then the testnet.
 */
import {
  type KeyLike,
  Multifeed,
  type MultifeedOptions,
  Resource,
  type ValueEncoding,
  type ValueOf
} from '@multifeed/core'
import type { SwarmOptions } from '@multifeed/networker'
import {
  aBoolean,
  aCount,
  anIterable,
  anObject,
  aPositiveCount,
  type Check,
  checkArgument,
  checkOptions,
  either
} from '../options.js'
import { inOrder, type NoEvents, settle } from '../Teardown.js'
import { createTestnet, TestDHT } from '../Testnet.js'
import { type ModeratedGroup, type ModeratedGroupOptions, openModerated } from './moderated.js'
import type { NetworkerFactory, NetworkerKind } from './networkerFactory.js'
import { TestPeer } from './TestPeer.js'

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

/** What `peers.mirror()` takes: a multifeed, or a key. */
const aSet: Check = [
  (v: unknown) => v instanceof Multifeed || typeof v === 'string' || v instanceof Uint8Array,
  'a Multifeed or a key (Buffer, hex or z-base-32)'
]

/** The options of `createPeers()` (and `conformanceFactory()`). */
const CREATE_PEERS = {
  networker: [
    (v: unknown) => v === 'hyperswarm' || v === 'in-process' || typeof v === 'function',
    "'hyperswarm', 'in-process' or a factory function"
  ] as Check,
  testnet: [(v: unknown) => v === false || v instanceof TestDHT, 'a TestDHT or false'] as Check,
  testnetSize: aPositiveCount,
  multifeed: anObject
}

/** Checks the options of `createPeers()` at `call`; ERR_INVALID_ARGUMENT names what is wrong. */
export function checkCreatePeersOptions(
  options: CreatePeersOptions | undefined,
  call: string
): void {
  checkOptions(options, call, CREATE_PEERS)
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

/**
 * Peers for a test, each with its own corestore and networker, on a shared
 * loopback testnet. Closing the group closes every peer, then the testnet.
 * `T` is the block type of the multifeeds its helpers open (given by
 * `options.multifeed.valueEncoding`; Buffer by default).
 */
// The group TestPeer and the networker factory name (GroupRef.ts) is this class.
declare module './GroupRef.js' {
  interface GroupRef<T> extends PeerGroup<T> {}
}

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
    checkOptions(options, 'peers.multifeed()', {
      swarm: either(aBoolean, anObject),
      multifeed: anObject,
      peers: anIterable
    })
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

  /**
   * Opens a moderated multifeed: founded by the first peer (or of `peers`),
   * opened by its invite on the others, moderators granted by the founder
   * (`moderators`: indices), swarmed unless `swarm: false`; resolves once
   * every peer took the grants.
   *
   * ```ts
   * const { founder, multifeeds, identities } = await peers.moderated({ moderators: [1] })
   * ```
   */
  moderated(options: ModeratedGroupOptions = {}): Promise<ModeratedGroup<T>> {
    this.assertOpen('The peer group')
    return openModerated<T>(this.peers as TestPeer<unknown>[], options, this.options.multifeed)
  }

  /**
   * A mirror of an encrypted set on a new peer of the group: it opens the set
   * with its mirror key (from `set`, a member's multifeed or a member or
   * mirror key: `Multifeed.mirrorKeyOf()`) and, unless `swarm: false`,
   * swarms it. The mirror stores and serves every feed and cannot read one;
   * its peer is the group's last (`peers.at(-1)`) and stays while the others
   * `disconnect()` and `restart()`. A plain set has no mirror key:
   * ERR_INVALID_ARGUMENT.
   *
   * ```ts
   * const [alice, bob] = await peers.multifeed(undefined, { multifeed: { encrypted: true } })
   * const mirror = await peers.mirror(alice)
   * ```
   */
  async mirror(
    set: Multifeed<unknown> | KeyLike,
    options: Pick<MultifeedGroupOptions, 'swarm'> = {}
  ): Promise<Multifeed<unknown>> {
    checkArgument(set, 'peers.mirror()', 'set', aSet)
    checkOptions(options, 'peers.mirror()', { swarm: either(aBoolean, anObject) })
    const mirrorKey = Multifeed.mirrorKeyOf(set instanceof Multifeed ? set.key : set)
    const peer = await this.addPeer()
    // The group's multifeed options, but never sparse: a mirror holds the whole set.
    const { sparse: _, ...multifeed } = this.options.multifeed ?? {}
    const multi = await peer.open(mirrorKey, multifeed)
    if (options.swarm !== false) {
      await peer.join(multi, { swarm: typeof options.swarm === 'object' ? options.swarm : {} })
    }
    return multi
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
  checkArgument(n, 'createPeers()', 'n', aCount)
  checkCreatePeersOptions(options as CreatePeersOptions, 'createPeers()')
  const group = new PeerGroup<ValueOf<E>>(n, options as CreatePeersOptions)
  await group.ready()
  return group
}
