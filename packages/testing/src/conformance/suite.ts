/**
 * The networker conformance suite: the cases it registers, in which order
 * and under which names, through a test runner's adapter. The cases live in
 * their groups (propagation, swarming, closing, peers); each runs with
 * `runCase()` (context.ts) on peers from the user's factory (setup.ts). The
 * moderation group needs a networker that carries a moderated set (any that
 * carries a plain one does).
 */
import {
  aFunction,
  anObject,
  aString,
  checkArgument,
  checkOptions,
  milliseconds,
  strings
} from '../options.js'
import { closingCases } from './closing.js'
import { type ConformanceCase, runCase } from './context.js'
import { moderationCases } from './moderation.js'
import { peerCases } from './peers.js'
import { propagationCases } from './propagation.js'
import type { ConformanceFactory } from './setup.js'
import { swarmingCases } from './swarming.js'

/**
 * How the conformance suite registers its cases with a test runner. vitest's
 * `{ describe, test }` fits as it is; see the README for node:test and mocha.
 */
export interface ConformanceAdapter {
  /** Groups the cases; without it the cases are registered flat with a name prefix. */
  describe?: (name: string, fn: () => void) => void
  /** Registers one case; `fn` rejects on failure. `timeoutMs` bounds the whole case. */
  test: (name: string, fn: () => Promise<void>, timeoutMs?: number) => void
}

export interface ConformanceOptions {
  /** Name of the group. Default `NetworkerInterface conformance`. */
  name?: string
  /** Bound of each case in milliseconds. Default 60,000. */
  timeout?: number
  /** Bound of each wait for sync inside a case. Default 20,000. */
  syncTimeout?: number
  /** Names (or name prefixes) of cases not to register. */
  skip?: string[]
}

/** The names of the cases, as registered (useful for `skip`). */
export const conformanceCases: readonly string[] = [
  'swarm: feeds and data propagate (0 writes, 1 reads)',
  'swarm: feeds and data propagate (1 writes, 0 reads)',
  'swarm twice is a no-op',
  'leave stops propagation for that multifeed only (0 leaves)',
  'leave stops propagation for that multifeed only (1 leaves)',
  'two peers swarming at the same instant connect',
  'a lookup-only peer finds an announce-only peer',
  'swarm after leave resumes',
  'multiple multifeeds share one peer connection',
  'a late joiner catches up',
  'a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE',
  'a multifeed on a session of the same corestore is accepted',
  'a swarmed multifeed that closes is dropped on both sides',
  'leave() of a multifeed that is not swarmed is a no-op',
  'close is idempotent and swarm after close rejects with ERR_CLOSED',
  'peers(), peer-add and peer-remove (0 closes)',
  'peers(), peer-add and peer-remove (1 closes)',
  'moderated: a block travels and the feed is gone on the other peer',
  "moderated: a grant travels; the moderator's block of an identity reaches every peer"
]

/** Every case, in the order of `conformanceCases`. */
function orderedCases(): ConformanceCase[] {
  const all = [
    ...propagationCases,
    ...swarmingCases,
    ...closingCases,
    ...peerCases,
    ...moderationCases
  ]
  const byName = new Map(all.map((c) => [c.name, c]))
  if (byName.size !== all.length || all.length !== conformanceCases.length) {
    throw new Error('conformanceCases must name every conformance case once')
  }
  return conformanceCases.map((name) => {
    const found = byName.get(name)
    if (found === undefined) throw new Error(`No conformance case named '${name}'`)
    return found
  })
}

/**
 * Registers the conformance cases of `NetworkerInterface` through `adapter`.
 * Each case builds its own setup with `factory`, and tears it down whatever
 * happens.
 *
 * ```ts
 * import { describe, test } from 'vitest'
 * runNetworkerConformance({ describe, test }, async (count) => { ... })
 * ```
 */
export function runNetworkerConformance(
  adapter: ConformanceAdapter,
  factory: ConformanceFactory,
  options: ConformanceOptions = {}
): void {
  const call = 'runNetworkerConformance()'
  checkArgument(adapter, call, 'adapter', anObject)
  checkOptions(adapter, `${call} adapter`, { describe: aFunction, test: aFunction })
  checkArgument(adapter.test, call, 'adapter.test', aFunction)
  checkArgument(factory, call, 'factory', aFunction)
  checkOptions(options, call, {
    name: aString,
    timeout: milliseconds,
    syncTimeout: milliseconds,
    skip: strings
  })
  const name = options.name ?? 'NetworkerInterface conformance'
  const timeout = options.timeout ?? 60_000
  const syncTimeout = options.syncTimeout ?? 20_000
  const skip = options.skip ?? []

  const register = ({ name: caseName, count, body }: ConformanceCase): void => {
    if (skip.some((s) => caseName.startsWith(s))) return
    const fullName = adapter.describe === undefined ? `${name}: ${caseName}` : caseName
    adapter.test(fullName, () => runCase(factory, count, body, syncTimeout), timeout)
  }

  const cases = (): void => {
    for (const c of orderedCases()) register(c)
  }

  if (adapter.describe === undefined) cases()
  else adapter.describe(name, cases)
}
