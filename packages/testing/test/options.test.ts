/**
 * The harness's public calls are as strict as core's: an unknown option is
 * an ERR_INVALID_ARGUMENT naming it and the accepted ones; a value of the
 * wrong type names the option and what it must be. Nothing is created
 * before the check (no testnet, no directory).
 */
import {
  conformanceFactory,
  createPeers,
  createTempCorestore,
  createTestnet,
  runNetworkerConformance,
  syncReport,
  TempDir,
  tmpStorage,
  untilFeeds,
  untilPeers,
  untilSynced,
  waitUntil
} from '@multifeed/testing'
import { describe, expect, it } from 'vitest'

/** An ERR_INVALID_ARGUMENT whose message matches `message`. */
const invalid = (message: RegExp) =>
  expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) })

describe('strict options of @multifeed/testing', () => {
  it('createPeers(): unknown option, wrong types, n', async () => {
    await expect(createPeers(2, { netwroker: 'in-process' } as never)).rejects.toThrow(
      invalid(
        /^createPeers\(\): unknown option 'netwroker' \(accepted: networker, testnet, testnetSize, multifeed\)$/
      )
    )
    await expect(createPeers(2, { networker: 'tcp' } as never)).rejects.toThrow(
      invalid(/createPeers\(\): networker must be 'hyperswarm', 'in-process' or a factory function/)
    )
    await expect(createPeers(2, { testnet: true } as never)).rejects.toThrow(
      invalid(/testnet must be a TestDHT or false/)
    )
    await expect(createPeers(2, { testnetSize: 0 })).rejects.toThrow(
      invalid(/testnetSize must be an integer >= 1/)
    )
    await expect(createPeers(2, { multifeed: 'json' } as never)).rejects.toThrow(
      invalid(/multifeed must be an object/)
    )
    await expect(createPeers(-1)).rejects.toThrow(
      invalid(/createPeers\(\): n must be an integer >= 0/)
    )
    await expect(createPeers(2, 'in-process' as never)).rejects.toThrow(
      invalid(/createPeers\(\): options must be an object/)
    )
  })

  it('peers.multifeed() and peer.join(): unknown options', async () => {
    await using peers = await createPeers(1, { networker: 'in-process' })
    await expect(peers.multifeed(undefined, { swram: false } as never)).rejects.toThrow(
      invalid(
        /^peers\.multifeed\(\): unknown option 'swram' \(accepted: swarm, multifeed, peers\)$/
      )
    )
    await expect(peers.multifeed(undefined, { swarm: 'yes' } as never)).rejects.toThrow(
      invalid(/swarm must be a boolean or an object/)
    )
    await expect(peers.at(0).join(undefined, { announce: true } as never)).rejects.toThrow(
      invalid(/^peer\.join\(\): unknown option 'announce' \(accepted: swarm, multifeed\)$/)
    )
    // Nothing was opened by the refused calls.
    expect(peers.at(0).multifeeds()).toEqual([])
  })

  it('createTestnet() and createSwarm(): unknown options, dht and bootstrap refused', async () => {
    await expect(createTestnet({ nodes: 3 } as never)).rejects.toThrow(
      invalid(/^createTestnet\(\): unknown option 'nodes' \(accepted: size\)$/)
    )
    await expect(createTestnet({ size: 1.5 })).rejects.toThrow(
      invalid(/size must be an integer >= 1/)
    )
    await using testnet = await createTestnet({ size: 1 })
    expect(() => testnet.createSwarm({ maxPeer: 4 } as never)).toThrow(
      invalid(
        /^createSwarm\(\): unknown option 'maxPeer' \(accepted: keyPair, seed, maxPeers, maxParallel, firewall\)$/
      )
    )
    expect(() => testnet.createSwarm({ bootstrap: [] } as never)).toThrow(
      invalid(
        /createSwarm\(\): bootstrap is not an option: the swarm's DHT is always a node of this testnet/
      )
    )
    expect(() => testnet.createSwarm({ dht: {} } as never)).toThrow(invalid(/dht is not an option/))
    expect(() => testnet.createSwarm({ firewall: true } as never)).toThrow(
      invalid(/firewall must be a function/)
    )
    expect(testnet.swarms()).toEqual([])
  })

  it('tmpStorage(), createTempCorestore(), new TempDir(): unknown options', async () => {
    await expect(tmpStorage({ kep: true } as never)).rejects.toThrow(
      invalid(/^tmpStorage\(\): unknown option 'kep' \(accepted: prefix, parent, keep\)$/)
    )
    await expect(tmpStorage({ keep: 'yes' } as never)).rejects.toThrow(
      invalid(/keep must be a boolean/)
    )
    await expect(createTempCorestore({ dir: '/tmp/x' } as never)).rejects.toThrow(
      invalid(
        /^createTempCorestore\(\): unknown option 'dir' \(accepted: prefix, parent, keep, corestore, path\)$/
      )
    )
    expect(() => new TempDir('/tmp/nowhere', { remove: false } as never)).toThrow(
      invalid(/^new TempDir\(\): unknown option 'remove' \(accepted: keep\)$/)
    )
  })

  it('the waiters: unknown options, wrong types, targets and n', async () => {
    const WAIT = /\(accepted: timeout, signal, interval\)$/
    await expect(untilFeeds([], 1, { timout: 10 } as never)).rejects.toThrow(
      invalid(/^untilFeeds\(\): unknown option 'timout' /)
    )
    await expect(untilFeeds([], 1, { timout: 10 } as never)).rejects.toThrow(invalid(WAIT))
    await expect(untilSynced([], { signal: 'abort' } as never)).rejects.toThrow(
      invalid(/^untilSynced\(\): signal must be an AbortSignal$/)
    )
    await expect(untilPeers([], 1, { interval: -1 })).rejects.toThrow(
      invalid(/^untilPeers\(\): interval must be a number of milliseconds \(>= 0\)$/)
    )
    await expect(untilFeeds([], -2)).rejects.toThrow(
      invalid(/^untilFeeds\(\): n must be an integer >= 0$/)
    )
    await expect(untilSynced(null as never)).rejects.toThrow(
      invalid(/^untilSynced\(\): targets must be an iterable$/)
    )
    await expect(syncReport(3 as never)).rejects.toThrow(
      invalid(/^syncReport\(\): targets must be an iterable$/)
    )
    await expect(waitUntil(() => true, { msg: 'x' } as never)).rejects.toThrow(
      invalid(
        /^waitUntil\(\): unknown option 'msg' \(accepted: timeout, signal, interval, message\)$/
      )
    )
    await expect(waitUntil(true as never)).rejects.toThrow(
      invalid(/^waitUntil\(\): predicate must be a function$/)
    )
    // What is known still works.
    await waitUntil(() => true, { timeout: 10, message: () => 'never shown' })
  })

  it('runNetworkerConformance() and conformanceFactory(): adapter, factory and options', () => {
    const registered: string[] = []
    const adapter = { test: (name: string) => void registered.push(name) }
    const factory = conformanceFactory({ networker: 'in-process' })
    expect(() => runNetworkerConformance({ it: () => {} } as never, factory)).toThrow(
      invalid(
        /^runNetworkerConformance\(\) adapter: unknown option 'it' \(accepted: describe, test\)$/
      )
    )
    expect(() => runNetworkerConformance({} as never, factory)).toThrow(
      invalid(/adapter\.test must be a function/)
    )
    expect(() => runNetworkerConformance(adapter, 'in-process' as never)).toThrow(
      invalid(/factory must be a function/)
    )
    expect(() => runNetworkerConformance(adapter, factory, { skips: [] } as never)).toThrow(
      invalid(
        /^runNetworkerConformance\(\): unknown option 'skips' \(accepted: name, timeout, syncTimeout, skip\)$/
      )
    )
    expect(() => runNetworkerConformance(adapter, factory, { skip: 'swarm' } as never)).toThrow(
      invalid(/skip must be an array of strings/)
    )
    expect(registered).toEqual([])
    expect(() => conformanceFactory({ network: 'in-process' } as never)).toThrow(
      invalid(
        /^conformanceFactory\(\): unknown option 'network' \(accepted: networker, testnet, testnetSize, multifeed\)$/
      )
    )
    // A valid call registers every case.
    runNetworkerConformance(adapter, factory, { skip: ['swarm twice'] })
    expect(registered.length).toBeGreaterThan(10)
  })
})
