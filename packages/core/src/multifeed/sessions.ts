/**
 * What the façade hands out to read and write the set: sessions of its
 * feeds (`get`), of our writers (`writer`) and the read of every block
 * (`read`), with the checks a mirror's tier and a close meanwhile call for.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import type { Tier } from '../capabilities.js'
import { ClosedError, NotReadableError, NotWritableError, UnknownFeedError } from '../errors.js'
import { parseKey } from '../keys.js'
import { readOptions, writerOptions } from '../lifecycle/callOptions.js'
import { type ReadEntry, type ReadOptions, read } from '../set/reader.js'
import type { KeyLike, WriterOptions } from '../types.js'
import type { Parts } from './parts.js'

/** What handing out reads of the multifeed. */
export interface SessionOwner {
  readonly closing: boolean
  readonly tier: Tier
}

/** A session of the feed `key` (ERR_UNKNOWN_FEED outside the set), held for its peers. */
export async function getSession(
  parts: Parts,
  multi: SessionOwner,
  key: KeyLike
): Promise<Hypercore<unknown>> {
  assertReadable(multi.tier, 'get()')
  const feed = parts.membership.set.get(parseKey(key, 'Feed key').toString('hex'))
  if (feed === undefined) throw new UnknownFeedError('This key is not a feed of the multifeed')
  const session = await handOut(multi, parts.pool.session(feed))
  parts.peers.hold(feed, session)
  return session
}

/** A session of our writer `name` (a mirror has none: ERR_NOT_WRITABLE). */
export async function writerSession(
  parts: Parts,
  multi: SessionOwner,
  name: string,
  options: WriterOptions
): Promise<Hypercore<unknown>> {
  parts.assertOpen()
  const { keyPair } = writerOptions(options, parts.valueEncoding)
  if (multi.tier === 'mirror') {
    throw new NotWritableError(
      'writer(): a mirror (opened with the mirror key) has no writer; writers need the member key'
    )
  }
  return handOut(multi, parts.writers.session(name, keyPair))
}

/** Every block of every feed (set/reader.ts); the call checked at once. */
export function readSet<T>(
  parts: Parts,
  multi: SessionOwner,
  options: ReadOptions
): AsyncGenerator<ReadEntry<T>> {
  parts.assertOpen()
  readOptions(options)
  assertReadable(multi.tier, 'read()')
  return read<T>(
    {
      feeds: () => parts.membership.set.all(),
      session: (feed) => parts.pool.session(feed),
      onChange: (listener) => parts.changes.on(listener),
      get closing() {
        return multi.closing
      }
    },
    options
  )
}

/** A session for the caller, unless the multifeed closed meanwhile (then ERR_CLOSED). */
async function handOut(
  multi: SessionOwner,
  opening: Promise<Hypercore<unknown>>
): Promise<Hypercore<unknown>> {
  const session = await opening
  if (multi.closing) {
    await session.close().catch(() => {})
    throw new ClosedError('The multifeed closed while the session opened')
  }
  return session
}

/** A mirror holds ciphertext and no key to decrypt it: ERR_NOT_READABLE. */
function assertReadable(tier: Tier, call: string): void {
  if (tier !== 'mirror') return
  throw new NotReadableError(
    `${call}: a mirror (opened with the mirror key) stores and serves the set's blocks encrypted and cannot decrypt them; reading needs the member key`
  )
}
