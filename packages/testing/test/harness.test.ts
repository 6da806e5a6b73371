import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Multifeed, Resource, TimeoutError } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import { InProcessHub, InProcessNetworker } from '@multifeed/networker'
import {
  corestoreAt,
  createPeers,
  createTempCorestore,
  createTestnet,
  type NoEvents,
  replicate,
  Teardown,
  type TempCorestore,
  tmpStorage,
  untilFeeds,
  untilPeers,
  untilSynced,
  WRITE_BUFFER_SIZE,
  waitUntil
} from '@multifeed/testing'
import { describe, expect, expectTypeOf, test } from 'vitest'

const shm = existsSync('/dev/shm')

function resources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'Timeout')
}

describe('storage', () => {
  test('tmpStorage() makes a directory under /dev/shm and removes it', async () => {
    let path = ''
    {
      await using dir = await tmpStorage()
      path = dir.path
      expect(existsSync(path)).toBe(true)
      if (shm) expect(path.startsWith('/dev/shm/')).toBe(true)
    }
    expect(existsSync(path)).toBe(false)
  }, 10_000)

  test('createTempCorestore() is ready and removes its directory on close', async () => {
    const tmp = await createTempCorestore()
    expect(tmp.corestore.opened).toBe(true)
    const core = tmp.corestore.get({ name: 'x' })
    await core.ready()
    await core.append(Buffer.from('hello'))
    await tmp.close()
    await tmp.close()
    expect(tmp.corestore.closed).toBe(true)
    expect(existsSync(tmp.path)).toBe(false)
  }, 10_000)

  test('an open store holds little storage: RocksDB preallocates its log at 1.1× the write buffer (RAM on /dev/shm)', async () => {
    await using tmp = await createTempCorestore()
    const core = tmp.corestore.get({ name: 'x' })
    await core.ready()
    await core.append(Buffer.from('hello'))
    // Allocated bytes (st_blocks), not apparent sizes: a preallocated log is all allocation.
    // 64 MiB buffer (corestore's default): 75 MB here; 4 MiB: 8.5 MB.
    expect(allocatedBytes(tmp.path)).toBeLessThan(WRITE_BUFFER_SIZE * 4)
    expect(allocatedBytes(tmp.path)).toBeGreaterThan(0)
    const reopened = corestoreAt(tmp.path, { wait: true })
    await core.close()
    await tmp.corestore.close()
    const again = reopened.get({ name: 'x' })
    expect((await again.get(0))?.toString()).toBe('hello')
    await reopened.close()
  }, 10_000)
})

/** Bytes allocated on disk (or in RAM on tmpfs) under `dir`. */
function allocatedBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).blocks * 512
  }
  return total
}

describe('createTestnet()', () => {
  test('swarms on the loopback testnet connect; close destroys swarms and nodes', async () => {
    const testnet = await createTestnet()
    const a = testnet.createSwarm()
    const b = testnet.createSwarm()
    await a.dht.ready()
    expect(a.dht.address().host).toBe('127.0.0.1')
    const topic = Buffer.alloc(32, 7)
    const connected = new Promise<void>((resolve) => b.once('connection', () => resolve()))
    await a.join(topic, { server: true, client: false }).flushed()
    b.join(topic, { server: false, client: true })
    await connected
    expect(testnet.swarms()).toHaveLength(2)
    await testnet.close()
    await testnet.close()
    expect(a.destroyed && b.destroyed).toBe(true)
    expect(testnet.testnet.nodes.every((node) => node.destroyed)).toBe(true)
  }, 20_000)
})

/** Two copies of one multifeed on two temporary corestores, not connected; closed by `t`. */
async function unconnected(t: Teardown): Promise<[Multifeed, Multifeed]> {
  const stores = [await createTempCorestore(), await createTempCorestore()]
  for (const store of stores) t.add(() => store.close(), 3)
  const a = await Multifeed.open(stores[0]!.corestore)
  t.add(() => a.close(), 1)
  const b = await Multifeed.open(stores[1]!.corestore, a.key)
  t.add(() => b.close(), 1)
  return [a, b]
}

describe('replicate() and the waiters', () => {
  test('replicate(a, b) syncs two multifeeds over a pipe and closes both streams', async () => {
    await using t = new Teardown()
    const [a, b] = await unconnected(t)
    await (await a.writer()).append([Buffer.from('1'), Buffer.from('2')])
    await (await b.writer()).append(Buffer.from('3'))
    const pipe = replicate(a, b)
    await untilFeeds([a, b], 2, { timeout: 10_000 })
    await untilSynced([a, b], { timeout: 10_000 })
    await pipe.close()
    expect(pipe.streams.every((s) => s.destroyed)).toBe(true)
  }, 20_000)

  test('untilSynced and untilFeeds time out naming the multifeed, the feed and the lengths', async () => {
    await using t = new Teardown()
    const [a, b] = await unconnected(t)
    const w = await a.writer()
    await w.append([Buffer.from('1'), Buffer.from('2'), Buffer.from('3')])
    const prefix = w.key!.toString('hex').slice(0, 8)
    const synced = untilSynced([a, b], { timeout: 200 })
    await expect(synced).rejects.toBeInstanceOf(TimeoutError)
    await expect(synced).rejects.toThrow(
      `multifeeds[1] is missing feed ${prefix} (multifeeds[0] has 3 blocks)`
    )
    await expect(untilFeeds([a, b], 1, { timeout: 100 })).rejects.toThrow(
      /untilFeeds\(1\) timed out after 100 ms:\n {2}multifeeds\[1\] has 0\/1 feeds/
    )
    const aborted = new AbortController()
    aborted.abort()
    await expect(untilSynced([a, b], { signal: aborted.signal })).rejects.toMatchObject({
      code: 'ERR_ABORTED'
    })
    await expect(waitUntil(() => false, { timeout: 50, message: 'never' })).rejects.toThrow(
      'waitUntil timed out after 50 ms:\n  never'
    )
  }, 20_000)
})

describe('waiters and mirrors', () => {
  test('untilSynced takes a mirror as a copy of its set (its key is the mirror key)', async () => {
    await using t = new Teardown()
    const stores = [await createTempCorestore(), await createTempCorestore()]
    for (const store of stores) t.add(() => store.close(), 3)
    const member = await Multifeed.open(stores[0]!.corestore, null, { encrypted: true })
    t.add(() => member.close(), 1)
    const mirror = await Multifeed.open(stores[1]!.corestore, member.mirrorKey)
    t.add(() => mirror.close(), 1)
    const w = await member.writer()
    await w.append([Buffer.from('1'), Buffer.from('2')])
    await w.close()
    // Not connected: the mirror lacks the member's feed, and the waiter says so.
    await expect(untilSynced([member, mirror], { timeout: 200 })).rejects.toThrow(
      /multifeeds\[1\] is missing feed [0-9a-f]{8} \(multifeeds\[0\] has 2 blocks\)/
    )
    const pipe = replicate(member, mirror)
    await untilSynced([member, mirror], { timeout: 10_000 })
    expect(mirror.feeds().map((f) => f.length)).toEqual([2])
    await pipe.close()
  }, 20_000)
})

describe('createPeers()', () => {
  for (const networker of ['hyperswarm', 'in-process'] as const) {
    test(`three ${networker} peers share a multifeed and sync`, async () => {
      await using peers = await createPeers(3, { networker })
      const multis = await peers.multifeed()
      expect(multis).toHaveLength(3)
      expect(new Set(multis.map((m) => m.key.toString('hex'))).size).toBe(1)
      for (const [i, multi] of multis.entries()) {
        await (await multi.writer()).append(Buffer.from(`from peer ${i}`))
      }
      await untilFeeds(peers, 3)
      await untilSynced(peers)
      await untilPeers(peers, 2)
      expect(peers.at(0).networker.peers().length).toBe(2)
      await expect(untilPeers(peers, 3, { timeout: 50 })).rejects.toThrow(
        /untilPeers\(3\) timed out after 50 ms:\n {2}peer0 has 2\/3 peers/
      )
      // A message names the peer when something is missing.
      const extra = await peers.at(2).open()
      await (await extra.writer()).append(Buffer.from('alone'))
      const lonely = await peers.at(1).open(extra.key)
      await expect(untilSynced([extra, lonely], { timeout: 100 })).rejects.toThrow(
        /peer1 \([0-9a-f]{8}\) is missing feed [0-9a-f]{8} \(peer2 \([0-9a-f]{8}\) has 1 blocks\)/
      )
    }, 30_000)
  }

  test('a custom networker factory gets each peer its corestore and the group', async () => {
    const seen: string[] = []
    await using peers = await createPeers(2, {
      testnet: false,
      networker: ({ corestore, group, name, testnet }) => {
        seen.push(name)
        expect(testnet).toBeNull()
        const hub = group.shared.get('hub') ?? new InProcessHub()
        group.shared.set('hub', hub)
        return new InProcessNetworker(corestore, { hub: hub as InProcessHub })
      }
    })
    expect(seen).toEqual(['peer0', 'peer1'])
    expect(peers.at(0).hyperswarm).toBeNull()
    expect(peers.testnet).toBeNull()
    const [a] = await peers.multifeed()
    await (await a!.writer()).append(Buffer.from('custom'))
    await untilSynced(peers)
  }, 30_000)

  test('the group is typed by its valueEncoding; such multifeeds swarm like any other', async () => {
    await using peers = await createPeers(2, {
      networker: 'in-process',
      multifeed: { valueEncoding: 'json' }
    })
    const [a, b] = await peers.multifeed()
    expectTypeOf(a!).toEqualTypeOf<Multifeed<unknown>>()
    const w = await a!.writer()
    await w.append({ hello: 'world' })
    await w.close()
    await untilSynced(peers)
    const core = await b!.get(w.key!)
    expect(await core.get(0, { wait: false })).toEqual({ hello: 'world' })
    await core.close()
    // Options given to one call type that call.
    const text = await peers.at(0).join(undefined, { multifeed: { valueEncoding: 'utf-8' } })
    expectTypeOf(text).toEqualTypeOf<Multifeed<string>>()
    expectTypeOf(await peers.at(1).open()).toEqualTypeOf<Multifeed<unknown>>()
    await using binary = await createPeers(1, { networker: 'in-process' })
    expectTypeOf(await binary.multifeed()).toEqualTypeOf<Multifeed<Buffer>[]>()
  }, 30_000)

  test('a late joiner added with addPeer() catches up', async () => {
    await using peers = await createPeers(2, { networker: 'in-process' })
    const [a] = await peers.multifeed()
    await (await a!.writer()).append(Buffer.from('early'))
    await untilSynced(peers)
    const late = await peers.addPeer()
    await late.join(a!.key)
    await untilSynced(peers)
    expect(late.multifeeds()[0]!.feeds()).toHaveLength(1)
  }, 30_000)

  test('restart() re-opens from storage: data is there before any peer reconnects', async () => {
    await using peers = await createPeers(2)
    const [a, b] = await peers.multifeed()
    const w = await a!.writer()
    await w.append([Buffer.from('1'), Buffer.from('2')])
    await untilSynced([a!, b!])
    const peer = peers.at(1)
    const path = peer.path
    await peer.restart()
    expect(peer.path).toBe(path)
    const [again] = peer.multifeeds()
    expect(again).not.toBe(b)
    // Known from the set's own index, before any peer reconnects and without opening the core.
    const copy = again!.feed(w.key!)
    expect(copy).not.toBeNull()
    expect(copy!.length).toBe(2)
    const core = await again!.get(w.key!)
    expect(String(await core.get(1, { wait: false }))).toBe('2')
    await core.close()
    // Counted on the serving side: the reader's `download` event is not always emitted.
    const uploaded: number[] = []
    w.on('upload', (index) => uploaded.push(index))
    await w.append(Buffer.from('3'))
    await untilSynced(peers)
    expect(uploaded).toEqual([2]) // resumes: nothing it had is fetched again
  }, 30_000)

  test('closing the group leaves no handle open and removes every directory', async () => {
    const before = resources()
    const peers = await createPeers(3)
    await peers.multifeed()
    await untilFeeds(peers, 0)
    const paths = peers.peers.map((p) => p.path)
    await peers.close()
    await peers.close()
    await waitUntil(() => resources().length <= before.length, {
      timeout: 5000,
      message: () => `handles left: ${resources().join(', ')} (before: ${before.join(', ')})`
    })
    expect(paths.some((p) => existsSync(p))).toBe(false)
  }, 30_000)
})

test('a process that closed its peers exits by itself at once (no handle left open)', async () => {
  const fixture = fileURLToPath(new URL('./fixtures/no-handle-left.mjs', import.meta.url))
  const result = await new Promise<{ code: number | null; stdout: string; exitedAt: number }>(
    (resolve) => {
      execFile(
        process.execPath,
        [fixture],
        { timeout: 40_000, killSignal: 'SIGKILL' },
        (err, stdout) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
          resolve({ code, stdout, exitedAt: Date.now() })
        }
      )
    }
  )
  const closedAt = Number(/^closed (\d+)$/m.exec(result.stdout)?.[1])
  expect(result.code, 'the child exited by itself, successfully').toBe(0)
  expect(result.exitedAt - closedAt, 'ms between close and exit').toBeLessThan(3000)
}, 60_000)

describe('lifecycle: every context is a core Resource', () => {
  test('ready() and close() are memoised; closed once closed; await using closes', async () => {
    const group = await createPeers(2, { networker: 'in-process' })
    const [a, b] = await group.multifeed(undefined, { swarm: false })
    const contexts: Resource<NoEvents>[] = [
      replicate(a!, b!),
      group.at(1),
      group,
      await createTestnet({ size: 1 }),
      await createTempCorestore(),
      await tmpStorage(),
      new Teardown()
    ]
    for (const context of contexts) {
      expect(context).toBeInstanceOf(Resource)
      expect(context.ready()).toBe(context.ready())
      await context.ready()
      expect(context.opened, context.constructor.name).toBe(true)
    }
    for (const context of contexts) {
      const closing = context.close()
      expect(context.close()).toBe(closing)
      expect(context.closing).toBe(true)
      await closing
      expect(context.closed, context.constructor.name).toBe(true)
    }
    await expect(group.addPeer()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    let disposed: TempCorestore | null = null
    {
      await using tmp = await createTempCorestore()
      disposed = tmp
    }
    expect(disposed.closed).toBe(true)
    expect(existsSync(disposed.path)).toBe(false)
  }, 20_000)

  test('a peer whose open fails releases what it took, and so does its group', async () => {
    let store: Corestore | null = null
    const failing = createPeers(1, {
      testnet: false,
      networker: ({ corestore }) => {
        store = corestore
        throw new Error('no networker today')
      }
    })
    await expect(failing).rejects.toThrow('no networker today')
    expect(store).not.toBeNull()
    expect(store!.closed).toBe(true)
  }, 10_000)

  test('a waiter aborted while it sleeps rejects at once with ERR_ABORTED', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const waiting = waitUntil(() => false, {
      signal: controller.signal,
      interval: 30_000,
      timeout: 60_000
    })
    setImmediate(() => controller.abort())
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(Date.now() - started).toBeLessThan(5000)
  }, 10_000)
})

describe('Teardown', () => {
  test('runs every step by order, last added first within an order, and reports failures', async () => {
    const ran: string[] = []
    const t = new Teardown()
    t.add(() => ran.push('testnet'), Number.POSITIVE_INFINITY)
    t.add(() => ran.push('store 1'), 3)
    t.add(() => {
      throw new Error('boom')
    }, 0)
    t.add(() => ran.push('store 2'), 3)
    t.add(() => ran.push('networker'), 0)
    await expect(t.run()).rejects.toThrow('boom')
    expect(ran).toEqual(['networker', 'store 2', 'store 1', 'testnet'])
    await expect(t.close()).rejects.toThrow('boom')
    expect(t.done && t.closed).toBe(true)
  }, 5_000)
})
