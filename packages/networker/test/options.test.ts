/**
 * What the networker refuses at the call (a closed corestore, something that
 * is not a multifeed, an unknown option) and its `host` option, on loopback.
 */
import createTestnet from '@hyperswarm/testnet'
import { Multifeed } from '@multifeed/core'
import type { Corestore as Store } from '@multifeed/holepunch-types'
import Corestore from 'corestore'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { InProcessHub, InProcessNetworker, Networker } from '../src/index.js'
import { Teardown, tmpDir, waitHolds, write } from './helpers.js'

let t: Teardown

beforeEach(() => {
  t = new Teardown()
})

afterEach(async () => {
  await t.run()
})

async function closedStore(): Promise<Store> {
  const store = new Corestore(await tmpDir(t))
  await store.ready()
  await store.close()
  return store
}

describe('the networker refuses at the call', () => {
  test('a closed corestore: ERR_CLOSED from the constructor, before any swarm or DHT exists', async () => {
    const store = await closedStore()
    // `bootstrap: []`: even if accepted, nothing would leave the process (the check
    // comes before the DHT is created, so a networker without `dht` never reaches the
    // public bootstrap nodes for a closed store).
    expect(() => new Networker(store, { bootstrap: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' })
    )
    expect(() => new InProcessNetworker(store, { hub: new InProcessHub() })).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' })
    )
  })

  test('InProcessNetworker: unknown options and a hub that is not one', async () => {
    const store = new Corestore(await tmpDir(t))
    t.add(() => store.close())
    expect(() => new InProcessNetworker(store, { hbu: new InProcessHub() } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/'hbu'.*hub, keyPair/)
      })
    )
    expect(() => new InProcessNetworker(store, { hub: {} } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => new InProcessNetworker(store, { keyPair: { publicKey: 1 } } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
  })

  test('a session of a closed corestore: ERR_CLOSED too', async () => {
    const store = new Corestore(await tmpDir(t))
    const session = store.session()
    await store.close()
    expect(() => new Networker(session, { bootstrap: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' })
    )
  })

  test('swarm() of something that is not a multifeed: ERR_INVALID_ARGUMENT, not a TypeError', async () => {
    const store = new Corestore(await tmpDir(t))
    t.add(() => store.close())
    const net = new InProcessNetworker(store, { hub: new InProcessHub() })
    t.add(() => net.close())
    for (const bad of [{}, { discoveryKey: Buffer.alloc(32) }, null, 'multifeed']) {
      await expect(net.swarm(bad as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringContaining('takes a Multifeed')
      })
    }
    const multi = await Multifeed.open(store)
    t.add(() => multi.close())
    await expect(net.swarm(multi, { annonce: true } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/'annonce'.*announce, lookup/)
    })
    expect(net.multifeeds()).toEqual([])
  })

  test('host: only an IP address, and not with a given dht', async () => {
    const store = new Corestore(await tmpDir(t))
    t.add(() => store.close())
    for (const host of ['localhost', '300.0.0.1', 127001, '']) {
      expect(() => new Networker(store, { host: host as never, bootstrap: [] })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          message: expect.stringContaining('host')
        })
      )
    }
    const testnet = await createTestnet(1, { host: '127.0.0.1' })
    t.add(() => testnet.destroy(), { last: true })
    const dht = testnet.createNode()
    t.add(() => dht.destroy())
    expect(() => new Networker(store, { dht, host: '127.0.0.1' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
  })
})

describe('host', () => {
  test("two networkers whose DHTs bind to host '127.0.0.1' (bootstrap: a loopback testnet) sync", {
    timeout: 30_000
  }, async () => {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    t.add(() => testnet.destroy(), { last: true })
    const peers = []
    for (let i = 0; i < 2; i++) {
      const store = new Corestore(await tmpDir(t))
      t.add(() => store.close())
      const net = new Networker(store, { bootstrap: testnet.bootstrap, host: '127.0.0.1' })
      t.add(() => net.close())
      peers.push({ store, net })
    }
    const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]]
    const multiA = await Multifeed.open(a.store)
    t.add(() => multiA.close())
    const multiB = await Multifeed.open(b.store, multiA.key)
    t.add(() => multiB.close())
    await write(multiA, 3)
    await Promise.all([a.net.swarm(multiA), b.net.swarm(multiB)])
    await waitHolds([multiB], 1, 3)
    for (const { net } of peers) {
      // The DHT the networker created is bound to the host, not to every interface.
      expect(net.hyperswarm.dht.address().host).toBe('127.0.0.1')
      expect(net.ownsDht).toBe(true)
    }
    for (const conn of a.net.hyperswarm.connections) {
      expect((conn.rawStream as unknown as { remoteHost: string }).remoteHost).toBe('127.0.0.1')
    }
  })
})
