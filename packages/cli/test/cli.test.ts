import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatKey, Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { describe, expect, it } from 'vitest'
import { Cli, run } from './child.js'
import { NOWHERE, tempDirsPerTest, testnetForBlock } from './setup.js'

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url))

const tmp = tempDirsPerTest('multifeed-cli-')

/** Writes `entries` to a writer of a new multifeed in the store at `dir`; returns its key. */
async function written(dir: string, entries: string[], key?: Buffer): Promise<Buffer> {
  const store = new CorestoreClass(dir)
  const multi = await Multifeed.open(store, key ?? null)
  const writer = await multi.writer('mine')
  await writer.append(entries.map((entry) => Buffer.from(entry)))
  await writer.close()
  await multi.close()
  await store.close()
  discoveryKeys.set(multi.key.toString('hex'), multi.discoveryKey.toString('hex'))
  return multi.key
}

describe('multifeed (no network)', () => {
  it('--help on every command exits 0 with its usage', async () => {
    for (const args of [['--help'], ['info', '--help'], ['cat', '--help'], ['seed', '-h']]) {
      const { code, stdout } = await run(args)
      expect(code, args.join(' ')).toBe(0)
      expect(stdout).toMatch(
        new RegExp(`^Usage: multifeed ${args.length > 1 ? args[0] : 'COMMAND'}`)
      )
      expect(stdout).toMatch(/--storage DIR|Exit codes/)
    }
  })

  it('a wrong command line exits 2 with what was wrong and the usage', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing COMMAND/],
      [['frobnicate'], /unknown command: frobnicate/],
      [['info', '--bogus'], /Unknown option '--bogus'/],
      [['cat'], /missing KEY/],
      [['seed', 'a', 'b'], /unexpected argument: b/],
      [['cat', 'k', '--encoding', 'utf-16'], /--encoding utf-16: expected utf-8, json/],
      [['seed', 'k', '--bootstrap', 'localhost'], /--bootstrap localhost: expected HOST:PORT/],
      [['cat', 'k', '--timeout', '0'], /--timeout 0: expected a positive number/],
      [['cat', 'k', '--offline', '--bootstrap', '127.0.0.1:1'], /--offline joins no DHT/]
    ]
    for (const [args, message] of cases) {
      const { code, stderr, stdout } = await run(args)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr).toMatch(message)
      expect(stderr).toMatch(/Usage: multifeed/)
      expect(stdout).toBe('')
    }
  })

  it('an invalid key exits 1 with the coded error and its message, and creates no store', async () => {
    const storage = join(await tmp(), 'store')
    for (const command of ['cat', 'seed']) {
      const { code, stderr } = await run([command, 'not-a-key', '--storage', storage, ...NOWHERE])
      expect(code).toBe(1)
      expect(stderr).toBe(
        'error: ERR_INVALID_KEY: KEY must be a key (64 hex or 52 z-base-32 characters) or an invite (104 z-base-32 characters), got a string of 9\n'
      )
    }
    const { code, stderr } = await run(['info', 'not-a-key', '--storage', storage])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^error: ERR_INVALID_KEY: /)
    // nothing was created
    expect((await run(['info', '--storage', storage])).stderr).toBe(
      `error: no store at ${storage}\n`
    )
  })

  it('info of an empty store, as text and as JSON', async () => {
    const storage = await tmp()
    const text = await run(['info', '--storage', storage])
    expect(text).toEqual({ code: 0, stdout: `store ${storage}\n0 multifeeds\n`, stderr: '' })
    const json = await run(['info', '--storage', storage, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ storage, multifeeds: [] })
  })

  it('info of a populated store: every set by discovery key, the feeds and lengths of a KEY given', async () => {
    const storage = await tmp()
    const key = await written(storage, ['a', 'b', 'c'])
    const other = await written(storage, [])
    const [dk, otherDk] = [key, other].map((k) => discoveryKeyOf(k))
    const sorted = [dk, otherDk].sort()

    const json = await run(['info', formatKey(key), '--storage', storage, '--json'])
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report.multifeeds.map((s: { discoveryKey: string }) => s.discoveryKey)).toEqual(sorted)
    const set = report.multifeeds.find((s: { discoveryKey: string }) => s.discoveryKey === dk)
    expect(set.key).toBe(formatKey(key))
    expect(set.blocked).toEqual([])
    expect(set.feeds).toHaveLength(1)
    expect(set.feeds[0]).toMatchObject({ length: 3, local: true, name: 'mine' })
    const unkeyed = report.multifeeds.find(
      (s: { discoveryKey: string }) => s.discoveryKey === otherDk
    )
    expect(unkeyed).toEqual({ discoveryKey: otherDk })

    const text = await run(['info', formatKey(key), '--storage', storage])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('2 multifeeds\n')
    expect(text.stdout).toContain(`  discovery key ${otherDk}\n`)
    expect(text.stdout).toContain(`    key ${formatKey(key)}\n    1 feeds, 3 entries\n`)
    expect(text.stdout).toMatch(/length 3 {2}\(ours: mine\)/)
  })

  it('info of a KEY the store does not hold exits 1 and does not record it', async () => {
    const storage = await tmp()
    await written(storage, ['a'])
    const stranger = Buffer.alloc(32, 7)
    const { code, stderr } = await run(['info', formatKey(stranger), '--storage', storage])
    expect(code).toBe(1)
    expect(stderr).toBe(`error: ${formatKey(stranger)} is not a multifeed of this store\n`)
    expect(
      JSON.parse((await run(['info', '--storage', storage, '--json'])).stdout).multifeeds
    ).toHaveLength(1)
  })

  it('the default store is under XDG_DATA_HOME', async () => {
    const data = await tmp()
    const { code, stdout, stderr } = await run(['info'], { XDG_DATA_HOME: data })
    // none yet: the message names where it looked
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe(`error: no store at ${join(data, 'multifeed')}\n`)
  })

  it('SIGTERM while seed waits for a DHT that does not answer exits 0; the store is in use meanwhile', async () => {
    const storage = await tmp()
    const key = await written(storage, ['kept'])
    // nobody answers: the announce waits until the DHT gives up
    const seed = new Cli(['seed', formatKey(key), '--storage', storage, ...NOWHERE])
    await seed.untilStderr(/^joining /m)
    const busy = await run(['info', '--storage', storage])
    expect(busy.code).toBe(1)
    expect(busy.stderr).toBe(`error: the store at ${storage} is in use by another process\n`)
    seed.child.kill('SIGTERM')
    // (exits ~3 s after the signal; before session.ts raced the join against it, only once the
    // DHT gave up, ~10 s later: too close to bound here on a shared machine, see notes/cli.md)
    expect(await seed.exit()).toBe(0)
    expect(seed.stdout).toBe('')
    const after = await run(['cat', formatKey(key), '--offline', '--storage', storage])
    expect(after).toEqual({ code: 0, stdout: 'kept\n', stderr: '' })
  })

  it('cat --offline prints what the store holds, in the encoding asked', async () => {
    const storage = await tmp()
    const key = await written(storage, ['{"n": 1}', '{"n":2}'])
    const plain = await run(['cat', formatKey(key), '--offline', '--storage', storage])
    expect(plain).toEqual({ code: 0, stdout: '{"n": 1}\n{"n":2}\n', stderr: '' })
    const json = await run([
      'cat',
      key.toString('hex'),
      '--offline',
      '--encoding',
      'json',
      '--storage',
      storage
    ])
    expect(json.stdout).toBe('{"n":1}\n{"n":2}\n')
    const hex = await run([
      'cat',
      formatKey(key),
      '--offline',
      '--encoding',
      'hex',
      '--storage',
      storage
    ])
    expect(hex.stdout).toBe(
      `${Buffer.from('{"n": 1}').toString('hex')}\n${Buffer.from('{"n":2}').toString('hex')}\n`
    )
  })
})

describe('multifeed over a loopback testnet', { timeout: 120_000 }, () => {
  const network = testnetForBlock()

  it('cat prints a set a peer seeds; SIGTERM stops the seed with exit 0 and both stores reopen', async () => {
    const seeded = await tmp()
    const entries = ['one', 'two', 'three']
    const key = await written(seeded, entries)
    const seed = new Cli(['seed', formatKey(key), '--storage', seeded, ...network.args])
    await seed.untilStdout(/^seeding /m)
    expect(seed.stderr).toContain('joining the DHT of 127.0.0.1:')

    const reader = await tmp()
    const cat = await run([
      'cat',
      formatKey(key),
      '--storage',
      reader,
      '--timeout',
      '40',
      ...network.args
    ])
    expect(cat.code, cat.stderr).toBe(0)
    expect(cat.stdout).toBe('one\ntwo\nthree\n')

    seed.child.kill('SIGTERM')
    expect(await seed.exit()).toBe(0)
    expect(seed.stderr).toContain('shutting down')
    for (const dir of [seeded, reader]) {
      const store = new CorestoreClass(dir)
      const multi = await Multifeed.open(store, key)
      expect(multi.feeds().map((feed) => feed.length)).toEqual([3])
      await multi.close()
      await store.close()
    }
  })

  it('cat --live prints an entry appended later, and SIGTERM ends it with exit 0', async () => {
    const writer = new Cli([await tmp(), ...network.bootstrap], {}, WRITER)
    await writer.untilStdout(/^\w{52}\n/)
    const key = writer.stdout.slice(0, 52)

    const cat = new Cli([
      'cat',
      key,
      '--live',
      '--timeout',
      '40',
      '--storage',
      await tmp(),
      ...network.args
    ])
    await cat.untilStdout(/^before\n/)
    writer.child.stdin!.write('after\n')
    await cat.untilStdout(/^before\nafter\n$/)
    cat.child.kill('SIGTERM')
    expect(await cat.exit()).toBe(0)
    expect(cat.stdout).toBe('before\nafter\n')
    writer.child.stdin!.end()
    expect(await writer.exit()).toBe(0)
  })

  it('cat with nobody to sync with exits 1 with ERR_TIMEOUT after --timeout', async () => {
    const { code, stderr } = await run([
      'cat',
      formatKey(Buffer.alloc(32, 1)),
      '--timeout',
      '0.5',
      '--storage',
      await tmp(),
      ...network.args
    ])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^error: ERR_TIMEOUT: /m)
  })
})

/** Discovery keys (hex) of the sets `written()` made, by key (hex). */
const discoveryKeys = new Map<string, string>()
function discoveryKeyOf(key: Buffer): string {
  const dk = discoveryKeys.get(key.toString('hex'))
  if (dk === undefined) throw new Error('not a set written() made')
  return dk
}
