// The conformance suite must fail networkers that break the contract: each case
// below runs one registered conformance case against a deliberately broken
// wrapper of InProcessNetworker and expects it to fail.
import type { Multifeed } from '@multifeed/core'
import {
  InProcessHub,
  InProcessNetworker,
  type NetworkerEvents,
  type NetworkerInterface,
  type NetworkPeer,
  type SwarmOptions
} from '@multifeed/networker'
import { conformanceCases, conformanceFactory, runNetworkerConformance } from '@multifeed/testing'
import { describe, expect, test } from 'vitest'

type Breakage =
  | 'leave-does-nothing'
  | 'swallows-foreign'
  | 'swarm-twice-duplicates'
  | 'no-peer-remove'
  | 'skips-moderated'

class Broken implements NetworkerInterface {
  readonly #inner: InProcessNetworker
  readonly #breakage: Breakage
  readonly #extra: Multifeed[] = []
  constructor(inner: InProcessNetworker, breakage: Breakage) {
    this.#inner = inner
    this.#breakage = breakage
  }
  get closed(): boolean {
    return this.#inner.closed
  }
  async swarm(multi: Multifeed, options?: SwarmOptions): Promise<void> {
    // A networker that carries plain sets only (keyed on something a moderated set lacks, say).
    if (this.#breakage === 'skips-moderated' && multi.moderation !== null) return
    if (this.#breakage === 'swarm-twice-duplicates' && this.#inner.multifeeds().includes(multi)) {
      this.#extra.push(multi)
    }
    try {
      await this.#inner.swarm(multi, options)
    } catch (err) {
      if (this.#breakage !== 'swallows-foreign') throw err
    }
  }
  async leave(multi: Multifeed): Promise<void> {
    if (this.#breakage !== 'leave-does-nothing') await this.#inner.leave(multi)
  }
  multifeeds(): Multifeed<unknown>[] {
    return [...this.#inner.multifeeds(), ...this.#extra]
  }
  peers(): NetworkPeer[] {
    return this.#inner.peers()
  }
  close(): Promise<void> {
    return this.#inner.close()
  }
  on<E extends keyof NetworkerEvents>(
    event: E,
    listener: (...args: NetworkerEvents[E]) => void
  ): this {
    if (this.#breakage === 'no-peer-remove' && event === 'peer-remove') return this
    this.#inner.on(event, listener)
    return this
  }
  off<E extends keyof NetworkerEvents>(
    event: E,
    listener: (...args: NetworkerEvents[E]) => void
  ): this {
    this.#inner.off(event, listener)
    return this
  }
}

/** Registers the suite into a map instead of a runner, to run single cases by hand. */
function casesFor(breakage: Breakage): Map<string, () => Promise<void>> {
  const cases = new Map<string, () => Promise<void>>()
  const factory = conformanceFactory({
    testnet: false,
    networker: ({ corestore, group }) => {
      const hub = group.shared.get('hub') ?? new InProcessHub()
      group.shared.set('hub', hub)
      return new Broken(new InProcessNetworker(corestore, { hub: hub as InProcessHub }), breakage)
    }
  })
  runNetworkerConformance(
    { test: (name, fn) => cases.set(name.replace(/^[^:]+: /, ''), fn) },
    factory,
    { syncTimeout: 1500 }
  )
  return cases
}

describe('the conformance suite fails broken networkers', () => {
  const expectations: Array<[Breakage, string, RegExp]> = [
    [
      'leave-does-nothing',
      'leave stops propagation for that multifeed only (0 leaves)',
      /left multifeed no longer listed/
    ],
    [
      'swallows-foreign',
      'a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE',
      /Missing expected rejection/
    ],
    ['swarm-twice-duplicates', 'swarm twice is a no-op', /one multifeed swarmed after three calls/],
    ['no-peer-remove', 'peers(), peer-add and peer-remove (1 closes)', /peer-remove/],
    [
      'skips-moderated',
      'moderated: a block travels and the feed is gone on the other peer',
      /untilSynced timed out/
    ]
  ]
  for (const [breakage, name, message] of expectations) {
    test(`${breakage} fails "${name}"`, async () => {
      const run = casesFor(breakage).get(name)
      expect(run, `case ${name} is registered`).toBeDefined()
      await expect(run!()).rejects.toThrow(message)
    }, 20_000)
  }

  test('every case conformanceCases lists is registered, under that name', () => {
    expect([...casesFor('leave-does-nothing').keys()]).toEqual([...conformanceCases])
  }, 5_000)
})
