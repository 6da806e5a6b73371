import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatKey, Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import { Networker } from '@multifeed/networker'
import { createTestnet, type TempDir, type TestDHT, tmpStorage } from '@multifeed/testing'
import CorestoreClass from 'corestore'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Cli, killAll, onTestnet, run } from './child.js'

const dirs: TempDir[] = []
async function tmp(): Promise<string> {
  const dir = await tmpStorage({ prefix: 'multifeed-mirror-' })
  dirs.push(dir)
  return dir.path
}

/** Things a test opened in this process, closed after it (networkers before stores). */
const closers: Array<() => Promise<unknown>> = []

afterEach(async () => {
  await killAll()
  for (const close of closers.splice(0).reverse()) await close().catch(() => {})
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
})

const randomKey = (fill: number): string => formatKey(Buffer.alloc(32, fill))

/** A DHT on loopback where nobody answers (127.0.0.1:9, discard). */
const NOWHERE = ['--host', '127.0.0.1', '--bootstrap', '127.0.0.1:9']

describe('multifeed mirror (no network)', () => {
  it('--help on mirror and each of its commands exits 0 with its usage', async () => {
    for (const args of [
      ['mirror', '--help'],
      ['mirror', 'add', '--help'],
      ['mirror', 'remove', '-h'],
      ['mirror', 'list', '--help'],
      ['mirror', 'run', '--help']
    ]) {
      const { code, stdout } = await run(args)
      expect(code, args.join(' ')).toBe(0)
      const name = args[1] === '--help' ? 'COMMAND' : args[1]
      expect(stdout).toMatch(new RegExp(`^Usage: multifeed mirror ${name}`))
      expect(stdout).toContain('--storage DIR')
    }
    expect((await run(['--help'])).stdout).toMatch(/^ {2}mirror \.\.\. /m)
  })

  it('a wrong command line exits 2 with what was wrong and the usage', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['mirror'], /missing COMMAND \(add, remove, list, run\)/],
      [['mirror', 'start'], /unknown mirror command: start/],
      [['mirror', 'add'], /missing KEY/],
      [['mirror', 'remove', randomKey(1), randomKey(2)], /unexpected argument: /],
      [['mirror', 'list', 'extra'], /unexpected argument: extra/],
      [['mirror', 'run', '--bootstrap', 'nowhere'], /--bootstrap nowhere: expected HOST:PORT/],
      [['mirror', 'run', '--live'], /Unknown option '--live'/]
    ]
    for (const [args, message] of cases) {
      const { code, stderr, stdout } = await run(args)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr).toMatch(message)
      expect(stderr).toMatch(/Usage: multifeed mirror/)
      expect(stdout).toBe('')
    }
  })

  it('a bad key exits 1 with ERR_INVALID_KEY and writes no list', async () => {
    const storage = join(await tmp(), 'store')
    for (const command of ['add', 'remove']) {
      const { code, stderr } = await run(['mirror', command, 'abc', '--storage', storage])
      expect(code).toBe(1)
      expect(stderr).toBe(
        'error: ERR_INVALID_KEY: KEY must be 64 hex or 52 z-base-32 characters, got a string of 3\n'
      )
    }
    expect(await run(['mirror', 'list', '--storage', storage, '--json'])).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ version: 1, sets: [] }, null, 2)}\n`,
      stderr: ''
    })
  })

  it('add, remove and list: idempotent, a z-base-32 or hex KEY, the list a file in the store directory', async () => {
    const storage = join(await tmp(), 'new', 'store')
    const [a, b] = [randomKey(1), randomKey(2)]
    expect(await run(['mirror', 'add', a, '--storage', storage])).toEqual({
      code: 0,
      stdout: `added ${a}\n`,
      stderr: ''
    })
    const hexB = Buffer.alloc(32, 2).toString('hex')
    expect((await run(['mirror', 'add', hexB, '--storage', storage])).stdout).toBe(`added ${b}\n`)
    expect((await run(['mirror', 'add', a, '--storage', storage])).stdout).toBe(
      `${a} is already in the list\n`
    )
    const listed = await run(['mirror', 'list', '--storage', storage])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(new RegExp(`^${a} {2}added \\S+Z\\n${b} {2}added \\S+Z\\n$`))
    const file = JSON.parse(await readFile(join(storage, 'mirror.json'), 'utf8'))
    expect(file.version).toBe(1)
    expect(file.sets.map((s: { key: string }) => s.key)).toEqual([a, b])
    expect(
      JSON.parse((await run(['mirror', 'list', '--json', '--storage', storage])).stdout)
    ).toEqual(file)

    expect((await run(['mirror', 'remove', a, '--storage', storage])).stdout).toBe(`removed ${a}\n`)
    expect((await run(['mirror', 'remove', a, '--storage', storage])).stdout).toBe(
      `${a} is not in the list\n`
    )
    expect((await run(['mirror', 'list', '--storage', storage])).stdout).toMatch(
      new RegExp(`^${b} {2}added `)
    )
  })

  it('the list survives the store being created, by add or by another command', async () => {
    // hypercore-storage moves unknown files of a directory that is no store yet into db/
    const storage = join(await tmp(), 'fresh')
    const key = randomKey(3)
    expect((await run(['mirror', 'add', key, '--storage', storage])).code).toBe(0)
    const other = await run(['cat', randomKey(4), '--offline', '--storage', storage])
    expect(other.code, other.stderr).toBe(0)
    expect((await run(['mirror', 'list', '--storage', storage])).stdout).toMatch(
      new RegExp(`^${key} {2}added `)
    )

    // a list written by hand in a directory that is no store yet: run keeps it
    const byHand = join(await tmp(), 'by-hand')
    await mkdir(byHand)
    const doc = { version: 1, sets: [{ key, added: new Date().toISOString() }] }
    await writeFile(join(byHand, 'mirror.json'), JSON.stringify(doc))
    const mirror = new Cli(['mirror', 'run', '--storage', byHand, ...NOWHERE])
    await mirror.untilStdout(/^mirror running: 1 sets\n/)
    mirror.child.kill('SIGTERM')
    expect(await mirror.exit()).toBe(0)
    expect(mirror.stderr).not.toMatch(/error/)
    expect(
      JSON.parse((await run(['mirror', 'list', '--json', '--storage', byHand])).stdout)
    ).toEqual(doc)
  })

  it('concurrent adds all land (the list is changed under a lock)', async () => {
    const storage = await tmp()
    const keys = Array.from({ length: 8 }, (_, i) => randomKey(i + 1))
    const results = await Promise.all(
      keys.map((key) => run(['mirror', 'add', key, '--storage', storage]))
    )
    expect(results.map((r) => r.code)).toEqual(keys.map(() => 0))
    const { stdout } = await run(['mirror', 'list', '--json', '--storage', storage])
    expect(
      JSON.parse(stdout)
        .sets.map((s: { key: string }) => s.key)
        .sort()
    ).toEqual([...keys].sort())
  })

  it('a list file that is not one: list and run exit 1 naming it, and nothing is opened', async () => {
    const storage = await tmp()
    const path = join(storage, 'mirror.json')
    await writeFile(path, '{"version": 1, "sets": [{"key": "nope"}]}')
    for (const args of [['list'], ['run', ...NOWHERE]]) {
      const { code, stderr } = await run(['mirror', ...args, '--storage', storage])
      expect(code, args[0]).toBe(1)
      expect(stderr).toBe(`error: ${path}: sets[0] is not { key: <52 z-base-32>, added: <date> }\n`)
    }
    // run opened no store: info finds none
    expect((await run(['info', '--storage', storage, '--json'])).code).toBe(0)
    expect(
      JSON.parse((await run(['info', '--storage', storage, '--json'])).stdout).multifeeds
    ).toEqual([])
  })
})

describe('multifeed mirror run over a loopback testnet', { timeout: 240_000 }, () => {
  let testnet: TestDHT
  let network: string[]
  beforeAll(async () => {
    testnet = await createTestnet()
    network = onTestnet(testnet)
  })
  afterAll(async () => {
    await killAll()
    await testnet?.close()
  })

  /** A store in this process (closed after the test). */
  async function store(): Promise<Corestore> {
    const store = new CorestoreClass(await tmp())
    closers.push(() => store.close())
    return store
  }

  /**
   * A networker for `store` on the testnet. Members join after the mirror is up, as they do
   * in use (the mirror is the one always there): a first connection dialled by the child
   * process stalled for ~15 s in most tries, one dialled from here did not (notes/cli-mirror.md).
   */
  function online(store: Corestore): Networker {
    const net = new Networker(store, { dht: testnet.createNode() })
    closers.push(() => net.close())
    return net
  }

  /** A new set in `store` whose writer holds `entries`. */
  async function set(
    store: Corestore,
    entries: string[]
  ): Promise<{ multi: Multifeed; key: string; append(more: string[]): Promise<void> }> {
    const multi = await Multifeed.open(store, null)
    closers.push(() => multi.close())
    const writer = await multi.writer('mine')
    closers.push(() => writer.close())
    for (let i = 0; i < entries.length; i += 1000) {
      await writer.append(entries.slice(i, i + 1000).map((e) => Buffer.from(e)))
    }
    return {
      multi,
      key: formatKey(multi.key),
      append: async (more) => void (await writer.append(more.map((e) => Buffer.from(e))))
    }
  }

  /** Every entry of the set `key` as a fresh member gets it from whoever is online. */
  async function fetchedByNewMember(key: string): Promise<string[]> {
    const bob = await store()
    const multi = await Multifeed.open(bob, key)
    closers.push(() => multi.close())
    await online(bob).swarm(multi)
    await multi.synced({ minPeers: 1, timeout: 60_000 })
    const got: string[] = []
    for await (const entry of multi.read()) {
      if (entry.error !== undefined) throw entry.error
      got.push(entry.value.toString())
    }
    return got
  }

  const inSync = (key: string, blocks: number, peers = '1 peer'): RegExp =>
    new RegExp(`^${key} in sync: 1 feeds, ${blocks} blocks \\(${peers}\\)$`, 'm')

  it('two sets, one added while it runs: the mirror gets all a member writes; a new member gets it from the mirror alone; remove stops one', async () => {
    const alice = await store()
    const marker = 'm'.repeat(32)
    const first = Array.from({ length: 1000 }, (_, i) => `${marker} ${i}`)
    const one = await set(alice, first)
    const two = await set(alice, ['x', 'y', 'z'])

    const storage = await tmp()
    expect((await run(['mirror', 'add', one.key, '--storage', storage])).code).toBe(0)
    const mirror = new Cli(['mirror', 'run', '--storage', storage, ...network])
    await mirror.untilStdout(/^mirror running: 1 sets\n/)
    expect(mirror.stderr).toMatch(new RegExp(`^mirroring ${one.key} \\(a plain set`, 'm'))

    const aliceNet = online(alice)
    await aliceNet.swarm(one.multi)
    await mirror.untilStderr(inSync(one.key, 1000))

    // added while it runs
    expect((await run(['mirror', 'add', two.key, '--storage', storage])).code).toBe(0)
    await mirror.untilStderr(new RegExp(`^mirroring ${two.key} `, 'm'))
    await aliceNet.swarm(two.multi)
    await mirror.untilStderr(inSync(two.key, 3))
    // one connection carries both sets
    expect(mirror.stderr.match(/^peer \w+ connected/gm)).toHaveLength(1)

    // alice writes while the mirror runs, then leaves
    const later = ['later 1', 'later 2']
    await one.append(later)
    await mirror.untilStderr(inSync(one.key, 1002))
    await aliceNet.close()
    await mirror.untilStderr(/^peer \w+ left \(0 now\)$/m)

    // bob, later: everything, from the mirror alone
    expect(await fetchedByNewMember(one.key)).toEqual([...first, ...later])

    // removed while it runs
    expect((await run(['mirror', 'remove', two.key, '--storage', storage])).code).toBe(0)
    await mirror.untilStderr(new RegExp(`^stopped mirroring ${two.key}$`, 'm'))

    mirror.child.kill('SIGTERM')
    expect(await mirror.exit()).toBe(0)
    expect(mirror.stderr).toMatch(/^shutting down\n(peer \w+ left \(0 now\)\n)?closed\n$/m)
  })

  it('SIGTERM mid-sync loses nothing; started again, it resumes from the list and completes', async () => {
    const alice = await store()
    // Big enough that the mirror is still downloading when the signal lands.
    const entries = Array.from({ length: 3000 }, (_, i) => `${i} ${'e'.repeat(8192)}`)
    const big = await set(alice, entries)

    const storage = await tmp()
    expect((await run(['mirror', 'add', big.key, '--storage', storage])).code).toBe(0)
    const first = new Cli(['mirror', 'run', '--storage', storage, ...network])
    await first.untilStdout(/^mirror running: 1 sets\n/)
    const aliceNet = online(alice)
    await aliceNet.swarm(big.multi)
    const syncing = new RegExp(`^${big.key} syncing: ([1-9]\\d*) blocks held, [1-9]\\d* left`, 'm')
    await first.untilStderr(syncing)
    first.child.kill('SIGTERM')
    expect(await first.exit()).toBe(0)
    await aliceNet.close()
    const said = Number(first.stderr.match(syncing)![1])

    // what it said it held is in the store
    const held = await run(['info', big.key, '--json', '--storage', storage])
    expect(held.code, held.stderr).toBe(0)
    const length = JSON.parse(held.stdout).multifeeds[0].feeds[0].length
    expect(length).toBeGreaterThanOrEqual(said)

    // the same list, the same store; alice comes back: it completes
    const again = new Cli(['mirror', 'run', '--storage', storage, ...network])
    await again.untilStdout(/^mirror running: 1 sets\n/)
    const back = online(alice)
    await back.swarm(big.multi)
    await again.untilStderr(inSync(big.key, 3000))
    await back.close()
    expect(await fetchedByNewMember(big.key)).toEqual(entries)
    again.child.kill('SIGINT')
    expect(await again.exit()).toBe(0)
  })
})
