import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatKey, Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { describe, expect, it } from 'vitest'
import { Cli, run } from './child.js'
import { NOWHERE, tempDirsPerTest, testnetForBlock } from './setup.js'

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url))

const tmp = tempDirsPerTest('multifeed-mirror-')

const randomKey = (fill: number): string => formatKey(Buffer.alloc(32, fill))

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
        'error: ERR_INVALID_KEY: KEY must be a key (64 hex or 52 z-base-32 characters) or an invite (104 z-base-32 characters), got a string of 3\n'
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
      expect(stderr).toBe(
        `error: ${path}: sets[0] is not { key: <a key or invite in z-base-32>, added: <date> }\n`
      )
    }
    // run opened no store
    expect(existsSync(join(storage, 'CORESTORE'))).toBe(false)
    // info creates the store, which keeps the list where it is (it used to move it into db/)
    const info = await run(['info', '--storage', storage, '--json'])
    expect([info.code, info.stderr]).toEqual([
      1,
      `error: ${path}: sets[0] is not { key: <a key or invite in z-base-32>, added: <date> }\n`
    ])
    expect(existsSync(join(storage, 'CORESTORE'))).toBe(true)
  })
})

describe('multifeed mirror run over a loopback testnet', { timeout: 300_000 }, () => {
  const network = testnetForBlock()

  /**
   * How long a step that needs a new connection between two processes, and then a sync, waits:
   * they connect in about a second (before the testnet's nodes were all routable, a first
   * connection often stalled ~15 s: notes/testnet-stall.md); the rest is for the sync on a
   * shared machine.
   */
  const CONNECT = 100_000

  /**
   * A set written in this process into a store of its own (closed again: a `multifeed seed`
   * child serves it): encrypted (the mirror is given its mirror key) or plain (its key).
   */
  async function written(
    entries: string[],
    { encrypted }: { encrypted: boolean }
  ): Promise<{ dir: string; key: string; mirrorKey: string }> {
    const dir = await tmp()
    const store = new CorestoreClass(dir)
    const multi = await Multifeed.open(store, null, { encrypted })
    const writer = await multi.writer('mine')
    for (let i = 0; i < entries.length; i += 1000) {
      await writer.append(entries.slice(i, i + 1000).map((e) => Buffer.from(e)))
    }
    await writer.close()
    await multi.close()
    await store.close()
    return { dir, key: formatKey(multi.key), mirrorKey: formatKey(multi.mirrorKey ?? multi.key) }
  }

  /** `multifeed seed KEY` of the store `dir`, once it says it seeds. */
  async function seed(key: string, dir: string): Promise<Cli> {
    const seeding = new Cli(['seed', key, '--storage', dir, ...network.args])
    await seeding.untilStdout(/^seeding /m)
    return seeding
  }

  /** What `multifeed cat KEY` prints for a new member, from whoever is online. */
  async function catByNewMember(key: string): Promise<string> {
    const cat = new Cli(['cat', key, '--storage', await tmp(), '--timeout', '90', ...network.args])
    expect(await cat.exit(CONNECT + 30_000), cat.stderr).toBe(0)
    return cat.stdout
  }

  const inSync = (key: string, blocks: number, peers = '1 peer'): RegExp =>
    new RegExp(`^${key} in sync: 1 feeds, ${blocks} blocks \\(${peers}\\)$`, 'm')

  it('two sets, one added while it runs: the mirror gets all a member writes; a new member gets it from the mirror alone; no plaintext of the encrypted set in its store; remove stops one', async () => {
    // alice: an encrypted set, in a process of her own, writing as we go
    const alice = new Cli([await tmp(), ...network.bootstrap], { ENCRYPTED: '1' }, WRITER)
    await alice.untilStdout(/^\w{52}\nmirror \w{52}\n/)
    const [key, mirrorLine] = alice.stdout.split('\n')
    const mirrorKey = mirrorLine!.slice('mirror '.length)
    const marker = 'secret-marker-0123456789abcdefgh' // 32 bytes, in every entry but the first
    const first = Array.from({ length: 1000 }, (_, i) => `${marker} ${i}`)
    alice.child.stdin!.write(`${first.join('\n')}\n`)
    await alice.untilStdout(new RegExp(`^appended ${marker} 999$`, 'm'))
    // a plain set, served by a seed
    const control = 'plain-marker-0123456789abcdefghi'
    const two = await written([control, 'y', 'z'], { encrypted: false })

    const storage = await tmp()
    expect((await run(['mirror', 'add', mirrorKey, '--storage', storage])).code).toBe(0)
    const mirror = new Cli(['mirror', 'run', '--storage', storage, ...network.args])
    await mirror.untilStdout(/^mirror running: 1 sets\n/)
    expect(mirror.stderr).toMatch(
      new RegExp(
        `^mirroring ${mirrorKey} \\(a mirror key: this mirror cannot read the set\\)$`,
        'm'
      )
    )
    await mirror.untilStderr(inSync(mirrorKey, 1001), CONNECT)

    // added while it runs (a plain set: its key)
    expect((await run(['mirror', 'add', two.key, '--storage', storage])).code).toBe(0)
    await mirror.untilStderr(new RegExp(`^mirroring ${two.key} \\(a plain set`, 'm'))
    const twoSeed = await seed(two.key, two.dir)
    await mirror.untilStderr(inSync(two.key, 3), CONNECT)

    // alice writes while the mirror runs
    alice.child.stdin!.write(`${marker} later 1\n${marker} later 2\n`)
    await mirror.untilStderr(inSync(mirrorKey, 1003))

    // removed while it runs; then everyone leaves
    expect((await run(['mirror', 'remove', two.key, '--storage', storage])).code).toBe(0)
    await mirror.untilStderr(new RegExp(`^stopped mirroring ${two.key}$`, 'm'))
    twoSeed.child.kill('SIGTERM')
    expect(await twoSeed.exit()).toBe(0)
    alice.child.stdin!.end()
    expect(await alice.exit()).toBe(0)
    await mirror.untilStderr(/^peer \w+ left \(0 now\)$/m)

    // bob, later, with the member key: everything, from the mirror alone
    const expected = ['before', ...first, `${marker} later 1`, `${marker} later 2`]
    expect(await catByNewMember(key!)).toBe(`${expected.join('\n')}\n`)

    mirror.child.kill('SIGTERM')
    expect(await mirror.exit()).toBe(0)
    expect(mirror.stderr).toMatch(/^shutting down\n(peer \w+ left \(0 now\)\n)?closed\n$/m)

    // the mirror's files: not one copy of the encrypted set's marker; the plain set's is there
    expect(await occurrences(storage, marker)).toBe(0)
    expect(await occurrences(storage, control)).toBeGreaterThan(0)
  })

  it('SIGTERM mid-sync loses nothing; started again, it resumes from the list and completes', async () => {
    // Big enough that the mirror is still downloading when the signal lands: it is sent as
    // soon as the mirror reports blocks left (held may still be 0 on a fast machine, where
    // the next report could already be "in sync").
    const entries = Array.from({ length: 3000 }, (_, i) => `${i} ${'e'.repeat(8192)}`)
    const big = await written(entries, { encrypted: true })
    const alice = await seed(big.key, big.dir)

    const storage = await tmp()
    expect((await run(['mirror', 'add', big.mirrorKey, '--storage', storage])).code).toBe(0)
    const first = new Cli(['mirror', 'run', '--storage', storage, ...network.args])
    const syncing = new RegExp(`^${big.mirrorKey} syncing: (\\d+) blocks held, [1-9]\\d* left`, 'm')
    await first.untilStderr(syncing, CONNECT)
    first.child.kill('SIGTERM')
    expect(await first.exit()).toBe(0)
    const said = Number(first.stderr.match(syncing)![1])

    // what it said it held is in the store
    const held = await run(['info', big.mirrorKey, '--json', '--storage', storage])
    expect(held.code, held.stderr).toBe(0)
    const length = JSON.parse(held.stdout).multifeeds[0].feeds[0].length
    expect(length).toBeGreaterThanOrEqual(said)

    // the same list, the same store: it completes
    const again = new Cli(['mirror', 'run', '--storage', storage, ...network.args])
    await again.untilStdout(/^mirror running: 1 sets\n/)
    await again.untilStderr(inSync(big.mirrorKey, 3000), CONNECT)
    alice.child.kill('SIGTERM')
    expect(await alice.exit()).toBe(0)
    await again.untilStderr(/^peer \w+ left \(0 now\)$/m)
    // (compared by size and digest: a diff of 24 MiB helps nobody)
    const printed = await catByNewMember(big.key)
    expect(printed.length).toBe(`${entries.join('\n')}\n`.length)
    expect(digest(printed)).toBe(digest(`${entries.join('\n')}\n`))
    again.child.kill('SIGINT')
    expect(await again.exit()).toBe(0)
  })
})

const digest = (text: string): string => createHash('sha256').update(text).digest('hex')

/** How many times `text` occurs in the files under `dir`, all of them. */
async function occurrences(dir: string, text: string): Promise<number> {
  const needle = Buffer.from(text)
  let count = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const bytes = await readFile(join(entry.parentPath, entry.name))
    for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) count++
  }
  return count
}
