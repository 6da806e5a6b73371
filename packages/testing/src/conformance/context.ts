/**
 * One conformance case and what it runs with: its definition (name, number
 * of peers, body), the context its body gets (the networkers, multifeeds it
 * opens, bounded waits), and `runCase()`, which builds the setup, runs the
 * body and cleans up whatever happens.
 */

import { Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import type { NetworkerInterface } from '@multifeed/networker'
import { setLabel } from '../labels.js'
import { inOrder, settle } from '../Teardown.js'
import { untilSynced, waitUntil } from '../waiters.js'
import assert from './assert.js'
import type { ConformanceFactory } from './setup.js'

/** What a case's body gets. */
export interface CaseContext {
  readonly nets: NetworkerInterface[]
  /** Takes peer `i` off the network (`disconnect()` of the factory, else `networker.close()`). */
  disconnect(i: number): Promise<void>
  readonly stores: Corestore[]
  /** Opens a multifeed on peer `i`'s corestore (closed at the end of the case); `key` may be an invite. */
  open(i: number, key?: Buffer | string, store?: Corestore): Promise<Multifeed>
  /** Founds a moderated multifeed on peer `i`'s corestore (others open its `invite`). */
  found(i: number): Promise<Multifeed>
  synced(multis: Multifeed[]): Promise<void>
  until(predicate: () => boolean, message: string | (() => string)): Promise<void>
  /**
   * The positive signal a negative check waits for: `a` appends and `b` holds
   * it, then `b` appends and `a` holds it (a feed each, new to the set).
   */
  roundTrip(pair: readonly [Multifeed, Multifeed]): Promise<void>
}

/** One case: its name (as registered), how many peers its setup has, its body. */
export interface ConformanceCase {
  readonly name: string
  readonly count: number
  readonly body: (ctx: CaseContext) => Promise<void>
}

/** A case named `name` on `count` peers. */
export function conformanceCase(
  name: string,
  count: number,
  body: (ctx: CaseContext) => Promise<void>
): ConformanceCase {
  return { name, count, body }
}

/** The two directions of a two-peer case: peer 0 then peer 1 in the first role. */
export const BOTH_WAYS = [
  [0, 1],
  [1, 0]
] as const

/** Runs `body` on a setup of `count` peers built by `factory`; cleans up whatever happens. */
export async function runCase(
  factory: ConformanceFactory,
  count: number,
  body: (ctx: CaseContext) => Promise<void>,
  syncTimeout: number
): Promise<void> {
  const setup = await factory(count)
  const opened: Multifeed[] = []
  const nets = setup.networkers.map((p) => p.networker)
  const stores = setup.networkers.map((p) => p.corestore)
  assert.equal(nets.length, count, `the factory was asked for ${count} networkers`)
  for (const [i, net] of nets.entries()) setLabel(net, `networker ${i}`)
  const ctx: CaseContext = {
    nets,
    stores,
    async disconnect(i) {
      const peer = setup.networkers[i]!
      if (peer.disconnect !== undefined) await peer.disconnect()
      else await peer.networker.close()
    },
    async open(i, key, store) {
      const multi = await Multifeed.open(store ?? stores[i]!, key)
      setLabel(multi, `networker ${i}`)
      opened.push(multi)
      return multi
    },
    async found(i) {
      const multi = await Multifeed.open(stores[i]!, null, { moderated: true })
      setLabel(multi, `networker ${i}`)
      opened.push(multi)
      return multi
    },
    synced: (multis) => untilSynced(multis, { timeout: syncTimeout }),
    until: (predicate, message) => waitUntil(predicate, { timeout: syncTimeout, message }),
    async roundTrip([a, b]) {
      for (const [from, to] of [
        [a, b],
        [b, a]
      ] as const) {
        const writer = await from.writer('conformance-round-trip')
        await writer.append(Buffer.from('ping'))
        await writer.close()
        await untilSynced([from, to], { timeout: syncTimeout })
      }
    }
  }
  const cleanup = (): Promise<void> =>
    inOrder(
      [
        () =>
          settle(
            nets.map((net) => net.close()),
            'closing the networkers'
          ),
        () =>
          settle(
            opened.map((multi) => multi.close()),
            'closing the multifeeds'
          ),
        () => setup.teardown()
      ],
      'cleaning up the case'
    )
  try {
    await body(ctx)
  } catch (err) {
    // The case's own failure is the one to report; the cleanup still runs.
    await cleanup().catch(() => {})
    throw err
  }
  await cleanup()
}
