/**
 * The serving side opens the cores a peer lacks ahead of its request
 * (PeerCores + OpenAhead): once the peer told us it lacks blocks we hold,
 * the cores open in the background, at most WARM_AHEAD at once; a core
 * opened ahead is let go once attached (the attachment holds its own) and
 * all of them once the connection went quiet without the peer asking. The
 * host is a stand-in counting acquire / release.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { WARM_AHEAD } from '../src/replication/OpenAhead.js'
import { PeerCores } from '../src/replication/PeerCores.js'
import { type Feed, FeedSet } from '../src/set/FeedSet.js'
import { fakeCore } from './fakeCore.js'

const IDLE = 1000

function setup(feeds: number, length: number) {
  const held = new Map<string, number>()
  let acquired = 0
  const mux = { stream: { destroyed: false } }
  const cores = new PeerCores(
    {
      shares: () => true,
      wants: () => true,
      acquire: async (feed) => {
        acquired++
        held.set(feed.id, (held.get(feed.id) ?? 0) + 1)
        return fakeCore() as never
      },
      release: (feed) => {
        const n = held.get(feed.id)! - 1
        if (n === 0) held.delete(feed.id)
        else held.set(feed.id, n)
      },
      onAttach: () => {},
      label: () => 'peer'
    },
    mux as never
  )
  const set = new FeedSet(Buffer.alloc(16, 1))
  const list: Feed[] = []
  for (let i = 0; i < feeds; i++)
    list.push(set.add(crypto.keyPair().publicKey, false, null, length))
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  return { cores, list, held, acquired: () => acquired, settle }
}

describe('opening ahead of the peer', () => {
  it('opens the cores the peer lacks before it asks, and lets go of each once attached', async () => {
    const { cores, list, held, acquired, settle } = setup(3, 5)
    // The reconciliation: the peer holds nothing of two feeds, and all of the third.
    cores.learnQuietly(list[0]!, -1)
    cores.learn(list[1]!, 2)
    cores.learn(list[2]!, 5)
    await settle()
    expect([...held.keys()].sort()).toEqual([list[0]!.id, list[1]!.id].sort())
    // The peer asks for the first: attached, held once (by the attachment).
    await cores.serve(list[0]!)
    await settle()
    expect(held.get(list[0]!.id)).toBe(1)
    expect(held.get(list[1]!.id)).toBe(1)
    expect(acquired()).toBe(3)
  })

  it('holds at most WARM_AHEAD open at once, and opens the next as each is attached', async () => {
    const { cores, list, held, settle } = setup(WARM_AHEAD + 10, 1)
    for (const feed of list) cores.learnQuietly(feed, -1)
    await settle()
    expect(held.size).toBe(WARM_AHEAD)
    for (const feed of list.slice(0, 10)) await cores.serve(feed)
    await settle()
    // 10 attached, WARM_AHEAD opened ahead (the last 10 among them)
    expect(held.size).toBe(WARM_AHEAD + 10)
    expect(held.has(list.at(-1)!.id)).toBe(true)
  })

  it('lets go of what it opened once the connection went quiet without the peer asking', async () => {
    const { cores, list, held, settle } = setup(4, 3)
    for (const feed of list) cores.learnQuietly(feed, -1)
    await settle()
    expect(held.size).toBe(4)
    expect(cores.sweep(0, IDLE)).toBe(0)
    expect(held.size).toBe(4)
    cores.sweep(IDLE, IDLE)
    expect(held.size).toBe(0)
  })

  it('lets go of everything when the peer closes, also of a core still opening', async () => {
    const { cores, list, held, settle } = setup(2, 3)
    for (const feed of list) cores.learnQuietly(feed, -1)
    cores.close()
    await settle()
    expect(held.size).toBe(0)
  })
})
