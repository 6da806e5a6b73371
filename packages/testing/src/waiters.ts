import { AbortedError, type FeedInfo, type Multifeed, TimeoutError } from '@multifeed/core'
import type { NetworkerInterface } from '@multifeed/networker'
import { labelOf, shortKey } from './labels.js'
import {
  aCount,
  aFunction,
  anIterable,
  aSignal,
  aString,
  checkArgument,
  checkOptions,
  either,
  milliseconds
} from './options.js'

/** Default bound of every waiter, in milliseconds. */
export const DEFAULT_TIMEOUT = 15_000

export interface WaitOptions {
  /** Reject with `ERR_TIMEOUT` after this many milliseconds. Default 15,000. */
  timeout?: number
  /** Reject with `ERR_ABORTED` when aborted. */
  signal?: AbortSignal
  /** How often the condition is checked, in milliseconds. Default 20. */
  interval?: number
}

/** The options every waiter takes. */
const WAIT = { timeout: milliseconds, signal: aSignal, interval: milliseconds }

/** Anything that holds multifeeds: a `TestPeer` from `createPeers()`, or your own. */
export interface MultifeedHolder {
  readonly name: string
  multifeeds(): Multifeed<unknown>[]
}

/**
 * What the waiters accept: multifeeds (of any value encoding), or peers
 * (every multifeed each peer opened).
 */
export type MultifeedTargets = Iterable<Multifeed<unknown> | MultifeedHolder>

/**
 * Resolves once `predicate` returns true; rejects with `ERR_TIMEOUT` and
 * `message` (or what `message()` returns at that moment) otherwise, or with
 * `ERR_ABORTED` once `signal` aborts. Every waiter of this package is this
 * loop with a check that lists what is missing.
 *
 * ```ts
 * await waitUntil(() => net.peers().length === 2, { timeout: 5000, message: 'two peers' })
 * ```
 */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  options: WaitOptions & { message?: string | (() => string) } = {}
): Promise<void> {
  checkArgument(predicate, 'waitUntil()', 'predicate', aFunction)
  checkOptions(options, 'waitUntil()', { ...WAIT, message: either(aString, aFunction) })
  const describe = (): string =>
    typeof options.message === 'function' ? options.message() : (options.message ?? 'condition')
  await pollUntil(async () => ((await predicate()) ? [] : [describe()]), 'waitUntil', options)
}

/**
 * Resolves once every multifeed holds at least `n` feeds.
 *
 * ```ts
 * await untilFeeds(peers, 3, { timeout: 10_000 })
 * ```
 */
export async function untilFeeds(
  targets: MultifeedTargets,
  n: number,
  options: WaitOptions = {}
): Promise<void> {
  checkWaiter('untilFeeds()', targets, options, n)
  const missing = ({ label, multi }: Target): string[] => {
    const count = safeFeeds(multi)?.length ?? null
    if (count === null) return [`${label}: multifeed is closed`]
    return count < n ? [`${label} has ${count}/${n} feeds`] : []
  }
  await pollUntil(() => resolveTargets(targets).flatMap(missing), `untilFeeds(${n})`, options)
}

/** Anything that has a networker: a `TestPeer` from `createPeers()`, or your own. */
export interface NetworkerHolder {
  readonly name: string
  readonly networker: NetworkerInterface
}

/**
 * Resolves once every networker has at least `n` connected peers.
 *
 * ```ts
 * await untilPeers(peers, peers.length - 1)   // a full mesh
 * ```
 */
export async function untilPeers(
  targets: Iterable<NetworkerInterface | NetworkerHolder>,
  n: number,
  options: WaitOptions = {}
): Promise<void> {
  checkWaiter('untilPeers()', targets, options, n)
  const missing = (target: NetworkerInterface | NetworkerHolder, i: number): string[] => {
    const net = 'networker' in target ? target.networker : target
    const label = 'networker' in target ? target.name : labelOf(net, `networkers[${i}]`)
    const count = net.peers().length
    return count < n ? [`${label} has ${count}/${n} peers`] : []
  }
  await pollUntil(() => [...targets].flatMap(missing), `untilPeers(${n})`, options)
}

/**
 * Resolves once the multifeeds agree: for each multifeed key, every copy lists
 * the same feeds, each at the largest length any copy lists (`FeedInfo.length`,
 * the blocks a copy holds contiguously). Opens no core. Copies of different
 * multifeeds (different keys) are compared separately.
 *
 * ```ts
 * await untilSynced(peers, { timeout: 10_000 })
 * await untilSynced([a, b])
 * ```
 */
export async function untilSynced(
  targets: MultifeedTargets,
  options: WaitOptions = {}
): Promise<void> {
  checkWaiter('untilSynced()', targets, options)
  await pollUntil(() => syncReport(targets), 'untilSynced', options)
}

/** A waiter's targets, count and options, checked at the call (untilModerated.ts uses it too). */
export function checkWaiter(
  call: string,
  targets: unknown,
  options: WaitOptions,
  n?: number
): void {
  checkArgument(targets, call, 'targets', anIterable)
  if (n !== undefined) checkArgument(n, call, 'n', aCount)
  checkOptions(options, call, WAIT)
}

/**
 * What stands between the multifeeds and sync, one line per problem; empty
 * when synced. `untilSynced()` prints this on timeout.
 */
export async function syncReport(targets: MultifeedTargets): Promise<string[]> {
  checkArgument(targets, 'syncReport()', 'targets', anIterable)
  const groups = new Map<string, Target[]>()
  for (const entry of resolveTargets(targets)) {
    // By set, not by key: a mirror opens its set with the mirror key, the discovery key is the set's.
    const id = entry.multi.discoveryKey.toString('hex')
    let group = groups.get(id)
    if (group === undefined) {
      group = []
      groups.set(id, group)
    }
    group.push(entry)
  }

  const missing: string[] = []
  for (const [id, group] of groups) {
    const prefix = groups.size > 1 ? `multifeed ${id.slice(0, 8)}: ` : ''
    const states = group.map(({ label, multi }) => ({ label, lengths: lengthsOf(multi) }))
    // Every feed any copy lists, with the largest length listed and who lists it.
    const known = new Map<string, { length: number; holder: string }>()
    for (const { label, lengths } of states) {
      if (lengths === null) {
        missing.push(`${prefix}${label}: multifeed is closed`)
        continue
      }
      for (const [key, length] of lengths) {
        const best = known.get(key)
        if (best === undefined || length > best.length) known.set(key, { length, holder: label })
      }
    }
    for (const { label, lengths } of states) {
      if (lengths === null) continue
      for (const [key, best] of known) {
        const length = lengths.get(key)
        const name = key.slice(0, 8)
        if (length === undefined) {
          missing.push(
            `${prefix}${label} is missing feed ${name} (${best.holder} has ${best.length} blocks)`
          )
        } else if (length < best.length) {
          missing.push(
            `${prefix}${label} holds ${length}/${best.length} blocks of feed ${name} (${best.holder} has ${best.length})`
          )
        }
      }
    }
  }
  return missing
}

/** Key (hex) → length of every feed the multifeed lists; null once it is closed. */
function lengthsOf(multi: Multifeed<unknown>): Map<string, number> | null {
  const feeds = safeFeeds(multi)
  if (feeds === null) return null
  return new Map(feeds.map((feed) => [feed.key.toString('hex'), feed.length]))
}

function safeFeeds(multi: Multifeed<unknown>): FeedInfo[] | null {
  if (multi.closed) return null
  try {
    return multi.feeds()
  } catch {
    return null
  }
}

function isMultifeed(value: Multifeed<unknown> | MultifeedHolder): value is Multifeed<unknown> {
  return typeof (value as Partial<Multifeed<unknown>>).feeds === 'function'
}

/** A multifeed a waiter watches, with the name its messages use. */
export interface Target {
  readonly label: string
  readonly multi: Multifeed<unknown>
}

/** The multifeeds of a waiter's targets (a peer: every multifeed it opened). */
export function resolveTargets(targets: MultifeedTargets): Target[] {
  const out: Target[] = []
  let i = 0
  for (const target of targets) {
    if (isMultifeed(target)) {
      out.push({ label: labelOf(target, `multifeeds[${i}]`), multi: target })
    } else {
      for (const multi of target.multifeeds()) {
        out.push({ label: labelOf(multi, `${target.name} (${shortKey(multi.key)})`), multi })
      }
    }
    i++
  }
  return out
}

/**
 * The polling loop behind every waiter: calls `check` every `interval` ms
 * until it returns no problem, the timeout runs out (`ERR_TIMEOUT` listing the
 * problems of the last check) or the signal aborts (`ERR_ABORTED`, also while
 * it sleeps). Leaves no timer or listener behind.
 */
export async function pollUntil(
  check: () => string[] | Promise<string[]>,
  what: string,
  options: WaitOptions
): Promise<void> {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT
  const interval = options.interval ?? 20
  const signal = options.signal
  const started = Date.now()
  let last: string[] = []
  for (;;) {
    if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason })
    try {
      last = await check()
    } catch (err) {
      last = [`check failed: ${err instanceof Error ? err.message : String(err)}`]
    }
    if (last.length === 0) return
    const left = timeout - (Date.now() - started)
    if (left <= 0) break
    await sleep(Math.min(interval, left), signal)
  }
  const shown = last.slice(0, 20)
  const more = last.length > shown.length ? `\n  … and ${last.length - shown.length} more` : ''
  throw new TimeoutError(`${what} timed out after ${timeout} ms:\n  ${shown.join('\n  ')}${more}`)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
