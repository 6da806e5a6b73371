/**
 * `connection-unpaired`: a connection on which pairing concluded without a
 * shared multifeed is reported at once, instead of a silence.
 */
import createTestnet from '@hyperswarm/testnet'
import { Multifeed } from '@multifeed/core'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Networker } from '../src/index.js'
import { Teardown, tmpDir } from './helpers.js'

let t: Teardown

beforeEach(() => {
  t = new Teardown()
})

afterEach(async () => {
  await t.run()
})

describe('connection-unpaired', () => {
  test('a connection that shares no multifeed is reported once pairing concluded; one that shares one is not', {
    timeout: 30_000
  }, async () => {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    t.add(() => testnet.destroy(), { last: true })
    // Two swarms that meet on a topic of the user's: the connection carries
    // whatever multifeeds each networker swarms.
    const topic = Buffer.alloc(32, 7)
    const sides = []
    for (let i = 0; i < 2; i++) {
      const store = new Corestore(await tmpDir(t))
      t.add(() => store.close())
      const swarm = new Hyperswarm({ dht: testnet.createNode() })
      t.add(() => swarm.destroy())
      const net = new Networker(store, { swarm })
      t.add(() => net.close())
      const unpaired: Array<{ paired: Buffer[]; how: string }> = []
      net.on('connection-unpaired', (peer, outcome) => {
        expect(net.connections()).toContain(peer)
        unpaired.push(outcome)
      })
      sides.push({ store, swarm, net, unpaired })
    }
    const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]]
    const x = await Multifeed.open(a.store)
    t.add(() => x.close())
    const y = await Multifeed.open(b.store)
    t.add(() => y.close())
    // Swarmed without joining their own topics: only the user's topic connects them.
    await a.net.swarm(x, { announce: false, lookup: false })
    await b.net.swarm(y, { announce: false, lookup: false })
    const concluded = [a, b].map(
      (side) =>
        new Promise<void>((resolve) => side.net.once('connection-unpaired', () => resolve()))
    )
    a.swarm.join(topic, { server: true, client: false })
    await a.swarm.flush()
    b.swarm.join(topic, { server: false, client: true })
    await Promise.all(concluded)
    expect(a.unpaired).toEqual([{ paired: [], how: 'exchanged' }])
    expect(b.unpaired).toEqual([{ paired: [], how: 'exchanged' }])
    expect(a.net.peers()).toEqual([])

    // A multifeed swarmed later on both sides pairs on the same connection:
    // no new connection-unpaired, and the peer shows up.
    const shared = await Multifeed.open(a.store)
    t.add(() => shared.close())
    const sharedB = await Multifeed.open(b.store, shared.key)
    t.add(() => sharedB.close())
    const added = new Promise((resolve) => b.net.once('peer-add', resolve))
    await Promise.all([
      a.net.swarm(shared, { announce: false, lookup: false }),
      b.net.swarm(sharedB, { announce: false, lookup: false })
    ])
    await added
    expect(b.net.peers()).toHaveLength(1)
    expect(a.unpaired).toHaveLength(1)
    expect(b.unpaired).toHaveLength(1)
  })
})
