/**
 * What the conformance cases read off multifeeds and networkers to assert on:
 * a feed's info, a block held locally, an error's code, the peer counts.
 */

import type { FeedInfo, Multifeed } from '@multifeed/core'
import type { NetworkerInterface } from '@multifeed/networker'
import assert from './assert.js'

/** What `multi` lists of the feed `key` (its length: the blocks it holds). */
export function infoOf(multi: Multifeed, key: Buffer | null): FeedInfo {
  assert.ok(key !== null, 'the feed has a key')
  const info = multi.feed(key)
  assert.ok(info !== null, `the multifeed holds feed ${key.toString('hex').slice(0, 8)}`)
  return info
}

/** Block `index` of the feed `key`, read from what `multi` holds (no wait for peers). */
export async function blockOf(
  multi: Multifeed,
  key: Buffer | null,
  index: number
): Promise<Buffer | null> {
  const core = await multi.get(infoOf(multi, key).key)
  try {
    return await core.get(index, { wait: false })
  } finally {
    await core.close()
  }
}

/** The `code` of an error (undefined for anything without one). */
export function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
}

/** The networkers' peer counts, for a failure message: `1 and 2`. */
export function peerCounts(nets: NetworkerInterface[]): string {
  return nets.map((n) => n.peers().length).join(' and ')
}
