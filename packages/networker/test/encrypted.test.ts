/**
 * An encrypted set on the networker: its topic is the discovery key derived
 * from the mirror key, members find each other, pair (keyed by the mirror
 * key) and read plaintext; a plain set shares the same single connection.
 */
import { Multifeed } from '@multifeed/core'
import { describe, expect, test } from 'vitest'
import { connectionCount, eachTestEnv, KINDS, waitFor, waitHolds, write } from './helpers.js'

describe.each(KINDS)('%s networker: encrypted sets', (kind) => {
  const env = eachTestEnv(kind)

  test('members of an encrypted set sync and read plaintext, beside a plain set on one connection', {
    timeout: 30_000
  }, async () => {
    const a = await env.peer()
    const b = await env.peer()
    const encA = await Multifeed.open(a.store, null, { encrypted: true })
    a.multis.push(encA)
    const encB = await b.open(encA.key) // the key alone
    const plainA = await a.open()
    const plainB = await b.open(plainA.key)
    expect(encB.encrypted).toBe(true)
    await write(encA, 3)
    await write(encB, 2, 'other')
    await write(plainA, 1)
    await Promise.all([
      a.net.swarm(encA),
      b.net.swarm(encB),
      a.net.swarm(plainA),
      b.net.swarm(plainB)
    ])
    const lengths = (multi: Multifeed): string =>
      multi
        .feeds()
        .map((f) => f.length)
        .sort()
        .join(',')
    await waitFor(
      () => lengths(encA) === '2,3' && lengths(encB) === '2,3',
      () => `both members hold 2 feeds of 3 and 2 blocks: A [${lengths(encA)}] B [${lengths(encB)}]`
    )
    await waitHolds([plainA, plainB], 1, 1)
    const feedOfA = encA.feeds().find((f) => f.local)!
    const copy = await encB.get(feedOfA.key)
    expect((await copy.get(2))?.toString()).toBe('main 2')
    await copy.close()
    expect(connectionCount(a)).toBe(1)
  })
})
