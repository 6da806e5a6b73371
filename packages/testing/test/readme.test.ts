// The downstream example of the README, verbatim: if this breaks, fix the README too.
import { createPeers, untilFeeds, untilSynced } from '@multifeed/testing'
import { expect, test } from 'vitest'

test('three peers see every message', async () => {
  // Three peers, each with a corestore in a temp dir and a Hyperswarm Networker whose
  // DHT is a node of a testnet on 127.0.0.1. Closed (and removed) at the end of the block.
  await using peers = await createPeers(3)

  // The same multifeed key opened and swarmed on every peer.
  const [alice, bob, carol] = await peers.multifeed()

  // writer() and get() hand out sessions that you own: close them when done.
  for (const [multi, text] of [
    [alice!, 'hi from alice'],
    [bob!, 'hi from bob']
  ] as const) {
    const writer = await multi.writer('main')
    await writer.append(Buffer.from(text))
    await writer.close() // the feed keeps replicating
  }

  await untilFeeds(peers, 2, { timeout: 10_000 }) // every multifeed lists ≥ 2 feeds
  await untilSynced(peers, { timeout: 10_000 }) // same feeds, every block everywhere

  const texts: string[] = []
  for (const info of carol!.feeds()) {
    // feeds() lists what carol knows ({ key, local, name, length }) and opens nothing.
    const core = await carol!.get(info.key)
    texts.push(String(await core.get(0)))
    await core.close()
  }
  expect(texts.sort()).toEqual(['hi from alice', 'hi from bob'])
}, 30_000)
