/**
 * A moderated group for a test (`peers.moderated()`): one moderated
 * multifeed founded by the first peer, opened by its invite on the others,
 * each peer with its own identity (its corestore's), moderators granted by
 * the founder, swarmed; resolved once every peer took the grants.
 */
import type { Multifeed, MultifeedOptions } from '@multifeed/core'
import { InvalidArgumentError } from '@multifeed/core'
import type { SwarmOptions } from '@multifeed/networker'
import {
  aBoolean,
  anIterable,
  anObject,
  type Check,
  checkOptions,
  either,
  milliseconds
} from '../options.js'
import { untilModerated } from '../untilModerated.js'
import type { TestPeer } from './TestPeer.js'

/** Options of `peers.moderated()`. */
export interface ModeratedGroupOptions {
  /** The peers to open it on; default every peer of the group. The first founds it. */
  peers?: Iterable<TestPeer<unknown>>
  /** Indices (into those peers) the founder grants the moderator right. Default none. */
  moderators?: number[]
  /** false: open only (grants stay on the founder); `SwarmOptions`: how to swarm. Default: swarm. */
  swarm?: boolean | SwarmOptions
  /** Options of every `Multifeed.open()` (not `moderated`); default the group's. */
  multifeed?: MultifeedOptions
  /** Bound of the wait for every peer to take the grants (swarmed only). Default 15,000 ms. */
  timeout?: number
}

/** What `peers.moderated()` resolves to. */
export interface ModeratedGroup<T = Buffer> {
  /** The multifeeds, in peer order: `multifeeds[0]` is the founder's. */
  readonly multifeeds: Multifeed<T>[]
  /** The founder's multifeed (`multifeeds[0]`). */
  readonly founder: Multifeed<T>
  /** What members open: `Multifeed.open(store, invite)`. */
  readonly invite: string
  /** Each peer's identity (public key), in peer order: what `block({ identity })` and `grant()` take. */
  readonly identities: Buffer[]
}

const indices: Check = [
  (v) => Array.isArray(v) && v.every((i) => Number.isInteger(i) && i >= 0),
  'an array of integers >= 0'
]

/** Opens, grants and swarms a moderated multifeed on `all` (the group's peers by default). */
export async function openModerated<T>(
  all: TestPeer<unknown>[],
  options: ModeratedGroupOptions,
  groupOptions: MultifeedOptions | undefined
): Promise<ModeratedGroup<T>> {
  checkOptions(options, 'peers.moderated()', {
    peers: anIterable,
    moderators: indices,
    swarm: either(aBoolean, anObject),
    multifeed: anObject,
    timeout: milliseconds
  })
  const peers = [...(options.peers ?? all)]
  const moderators = options.moderators ?? []
  if (peers.length === 0) throw new InvalidArgumentError('peers.moderated(): no peers')
  const bad = moderators.find((i) => i >= peers.length || i === 0)
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      `peers.moderated(): moderators are indices 1 to ${peers.length - 1} of the peers (0 is the founder), got ${bad}`
    )
  }
  const opts = options.multifeed ?? groupOptions ?? {}
  if ('moderated' in opts) {
    throw new InvalidArgumentError('peers.moderated(): multifeed options must not set moderated')
  }
  const founder = (await peers[0]!.open(undefined, { ...opts, moderated: true })) as Multifeed<T>
  const invite = founder.invite!
  const multifeeds: Multifeed<T>[] = [founder]
  for (const peer of peers.slice(1))
    multifeeds.push((await peer.open(invite, opts)) as Multifeed<T>)
  const identities = multifeeds.map((multi) => Buffer.from(multi.moderation!.identity))
  for (const i of moderators) await founder.moderation!.grant(identities[i]!)
  if (options.swarm !== false) {
    const swarm = typeof options.swarm === 'object' ? options.swarm : {}
    for (const [i, peer] of peers.entries()) {
      await peer.join(multifeeds[i]! as Multifeed<unknown>, { swarm })
    }
    if (moderators.length > 0) {
      await untilModerated(multifeeds as Multifeed<unknown>[], { timeout: options.timeout })
    }
  }
  return { multifeeds, founder, invite, identities }
}
