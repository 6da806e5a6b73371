// The downstream example of the README, verbatim: if this breaks, fix the README too.
import { createPeers, untilFeeds, untilSynced } from '@multifeed/testing'
import { expect, test } from 'vitest'

test('three peers see every message', async () => {
  // Three peers, each with a corestore in a temp dir and a Hyperswarm Networker whose
  // DHT is a node of a testnet on 127.0.0.1. Closed (and removed) at the end of the block.
  await using peers = await createPeers(3)

  // The same multifeed key opened and swarmed on every peer.
  const [alice, bob, carol] = await peers.multifeed()

  await (await alice!.writer('main')).append(Buffer.from('hi from alice'))
  await (await bob!.writer('main')).append(Buffer.from('hi from bob'))

  await untilFeeds(peers, 2, { timeout: 10_000 }) // every multifeed holds ≥ 2 feeds
  await untilSynced(peers, { timeout: 10_000 }) // same feeds, every block everywhere

  const texts = await Promise.all(carol!.feeds().map(async (core) => String(await core.get(0))))
  expect(texts.sort()).toEqual(['hi from alice', 'hi from bob'])
}, 30_000)
