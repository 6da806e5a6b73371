// Every command that takes a set takes what `Multifeed.open` takes: a key, a mirror key, an
// invite (multi.invite) or a mirror invite (multi.mirrorInvite). `mirror add` turns a member's
// into the mirror's unless --member-ok; `cat`/`seed` refuse a mirror's (it cannot read). Run as
// child processes; the last block over a loopback testnet.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatKey, Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { beforeAll, describe, expect, it } from 'vitest'
import { Cli, run } from './child.js'
import { NOWHERE, tempDirsPerTest, testnetForBlock } from './setup.js'

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url))

const tmp = tempDirsPerTest('multifeed-cli-invites-')

const listed = async (dir: string): Promise<string[]> =>
  JSON.parse((await run(['mirror', 'list', '--json', '--storage', dir])).stdout).sets.map(
    (s: { key: string }) => s.key
  )

/**
 * A moderated encrypted set founded in the store `dir` with one writer of `entries` (closed
 * again), its capabilities; and a moderated set's invite (not encrypted: no mirror tier).
 */
async function founded(dir: string, entries: string[]) {
  const store = new CorestoreClass(dir)
  const multi = await Multifeed.open(store, null, { moderated: true, encrypted: true })
  const writer = await multi.writer('mine')
  await writer.append(entries.map((entry) => Buffer.from(entry)))
  await writer.close()
  const moderated = await Multifeed.open(store, null, { moderated: true })
  const set = {
    invite: multi.invite!,
    mirrorInvite: multi.mirrorInvite!,
    key: formatKey(multi.key),
    mirrorKey: formatKey(multi.mirrorKey!),
    discoveryKey: multi.discoveryKey.toString('hex'),
    moderatedInvite: moderated.invite!
  }
  await moderated.close()
  await multi.close()
  await store.close()
  return set
}

describe('invites on the command line (no network)', () => {
  // Its capabilities only: the store it was founded in is removed after the first test.
  let set: Awaited<ReturnType<typeof founded>>
  beforeAll(async () => {
    set = await founded(await tmp(), ['one', 'two'])
  })

  it('mirror add: a member invite stores its mirror invite (--member-ok keeps it); one entry per set, whatever names it; remove by any name', async () => {
    const dir = join(await tmp(), 'mirror')
    const res = await run(['mirror', 'add', set.invite, '--storage', dir])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe(`added ${set.mirrorInvite}\n`)
    expect(res.stderr).toBe(
      `${set.invite} is a member invite (it reads the set): its mirror invite was added instead, this mirror cannot read the set (--member-ok adds the member invite)\n`
    )
    expect(await listed(dir)).toEqual([set.mirrorInvite])
    expect((await run(['mirror', 'list', '--storage', dir])).stdout).toMatch(
      new RegExp(`^${set.mirrorInvite} {2}added \\S+Z\\n$`)
    )
    // The same set by its mirror invite, its mirror key, its member key: listed already.
    expect((await run(['mirror', 'add', set.mirrorInvite, '--storage', dir])).stdout).toBe(
      `${set.mirrorInvite} is already in the list\n`
    )
    expect((await run(['mirror', 'add', set.mirrorKey, '--storage', dir])).stdout).toBe(
      `${set.mirrorKey} is already in the list, as ${set.mirrorInvite}\n`
    )
    expect((await run(['mirror', 'add', set.key, '--storage', dir])).stdout).toBe(
      `${set.mirrorKey} is already in the list, as ${set.mirrorInvite}\n`
    )
    // Removed by the member invite (what add was given).
    expect(await run(['mirror', 'remove', set.invite, '--storage', dir])).toEqual({
      code: 0,
      stdout: `removed ${set.mirrorInvite}\n`,
      stderr: ''
    })
    expect(await listed(dir)).toEqual([])
    expect((await run(['mirror', 'remove', set.mirrorKey, '--storage', dir])).stdout).toBe(
      `${set.mirrorKey} is not in the list\n`
    )

    const ok = await run(['mirror', 'add', set.invite, '--member-ok', '--storage', dir])
    expect(ok).toEqual({
      code: 0,
      stdout: `added ${set.invite}\n`,
      stderr: 'a member invite, kept as given (--member-ok): this mirror CAN read the set\n'
    })
    // A moderated set that is not encrypted has no mirror tier: its invite as given, silently.
    expect(await run(['mirror', 'add', set.moderatedInvite, '--storage', dir])).toEqual({
      code: 0,
      stdout: `added ${set.moderatedInvite}\n`,
      stderr: ''
    })
    expect(await listed(dir)).toEqual([set.invite, set.moderatedInvite])
  })

  it('cat and seed refuse a mirror key or mirror invite (ERR_NOT_READABLE, exit 1) and create no store', async () => {
    const storage = join(await tmp(), 'none')
    for (const command of ['cat', 'seed']) {
      for (const [given, kind] of [
        [set.mirrorInvite, 'a mirror invite'],
        [set.mirrorKey, 'a mirror key']
      ] as const) {
        const { code, stdout, stderr } = await run([
          command,
          given,
          '--storage',
          storage,
          ...NOWHERE
        ])
        expect(code, `${command} ${kind}`).toBe(1)
        expect(stdout).toBe('')
        expect(stderr).toBe(
          `error: ERR_NOT_READABLE: ${given} is ${kind}: a mirror cannot read the set, and ${command} needs a member's key or invite (a mirror's runs under \`multifeed mirror add\` and \`mirror run\`)\n`
        )
      }
    }
    expect(existsSync(storage)).toBe(false)
  })

  it('an invite that is none: ERR_INVALID_KEY (exit 1) saying why, for every command', async () => {
    const storage = join(await tmp(), 'none')
    const bogus = 'y'.repeat(104) // z-base-32 of zeros: invite format 0
    for (const args of [
      ['cat', bogus, ...NOWHERE],
      ['seed', bogus, ...NOWHERE],
      ['info', bogus],
      ['mirror', 'add', bogus],
      ['mirror', 'remove', bogus]
    ]) {
      const { code, stderr } = await run([...args, '--storage', storage])
      expect(code, args.join(' ')).toBe(1)
      expect(stderr).toBe('error: ERR_INVALID_KEY: KEY is no invite: unknown invite format 0\n')
    }
    expect(existsSync(storage)).toBe(false)
  })

  it('info: a set by its invite or its member key; a mirror store shows the invite its list names', async () => {
    const founderDir = await tmp()
    set = await founded(founderDir, ['one', 'two'])
    for (const given of [set.invite, set.key]) {
      const res = await run(['info', given, '--json', '--storage', founderDir])
      expect(res.code, res.stderr).toBe(0)
      const [report] = JSON.parse(res.stdout).multifeeds.filter(
        (s: { key?: string }) => s.key !== undefined
      )
      expect(report).toMatchObject({ discoveryKey: set.discoveryKey, key: given })
      expect(report.feeds.map((f: { length: number }) => f.length)).toEqual([2])
    }

    // A mirror's store: the set opened by its mirror invite once, and listed.
    const dir = await tmp()
    const store = new CorestoreClass(dir)
    await (await Multifeed.open(store, set.mirrorInvite)).close()
    await store.close()
    expect((await run(['mirror', 'add', set.mirrorInvite, '--storage', dir])).code).toBe(0)
    const all = await run(['info', '--json', '--storage', dir])
    expect(JSON.parse(all.stdout).multifeeds).toEqual([
      { discoveryKey: set.discoveryKey, listed: set.mirrorInvite }
    ])
    expect((await run(['info', '--storage', dir])).stdout).toContain(
      `  discovery key ${set.discoveryKey}\n    mirror list ${set.mirrorInvite}\n`
    )
    const byInvite = await run(['info', set.mirrorInvite, '--json', '--storage', dir])
    expect(byInvite.code, byInvite.stderr).toBe(0)
    expect(JSON.parse(byInvite.stdout).multifeeds[0]).toMatchObject({
      key: set.mirrorInvite,
      feeds: []
    })
  })
})

describe('a moderated encrypted set over a loopback testnet, by its invites', {
  timeout: 400_000
}, () => {
  const network = testnetForBlock()
  /** A step that needs a new connection between two processes, then a sync (mirror.test.ts). */
  const CONNECT = 100_000

  it('mirror run follows it by the mirror invite (added as the member invite), a new member cats it by its invite from the mirror alone, and seeds it; the mirror resumes by the invite', async () => {
    // The founder, in a process of its own: "before" and 20 entries.
    const founder = new Cli(
      [await tmp(), ...network.bootstrap],
      { ENCRYPTED: '1', MODERATED: '1' },
      WRITER
    )
    await founder.untilStdout(/^\w{104}\nmirror \w{104}\n/)
    const [invite, mirrorLine] = founder.stdout.split('\n')
    const mirrorInvite = mirrorLine!.slice('mirror '.length)
    const entries = Array.from({ length: 20 }, (_, i) => `entry ${i}`)
    founder.child.stdin!.write(`${entries.join('\n')}\n`)
    await founder.untilStdout(/^appended entry 19$/m)

    const storage = await tmp()
    const added = await run(['mirror', 'add', invite!, '--storage', storage])
    expect(added.stdout).toBe(`added ${mirrorInvite}\n`)
    const inSync = new RegExp(`^${mirrorInvite} in sync: 1 feeds, 21 blocks \\(1 peer\\)$`, 'm')
    const mirroring = new RegExp(
      `^mirroring ${mirrorInvite} \\(a mirror of a moderated set: this mirror cannot read the set, and applies its blocks\\)$`,
      'm'
    )
    const mirror = new Cli(['mirror', 'run', '--storage', storage, ...network.args])
    await mirror.untilStdout(/^mirror running: 1 sets\n/)
    expect(mirror.stderr).toMatch(mirroring)
    await mirror.untilStderr(inSync, CONNECT)
    founder.child.stdin!.end()
    expect(await founder.exit()).toBe(0)
    await mirror.untilStderr(/^peer \w+ left \(0 now\)$/m)

    // A new member, the founder gone: everything from the mirror, by the invite.
    const member = await tmp()
    const cat = new Cli(['cat', invite!, '--storage', member, '--timeout', '90', ...network.args])
    expect(await cat.exit(CONNECT + 30_000), cat.stderr).toBe(0)
    expect(cat.stdout).toBe(`${['before', ...entries].join('\n')}\n`)
    mirror.child.kill('SIGTERM')
    expect(await mirror.exit()).toBe(0)

    // The member seeds it by its invite; the mirror, started again, resumes by its invite.
    const seed = new Cli(['seed', invite!, '--storage', member, ...network.args])
    await seed.untilStdout(new RegExp(`^seeding ${invite}$`, 'm'))
    const again = new Cli(['mirror', 'run', '--storage', storage, ...network.args])
    await again.untilStdout(/^mirror running: 1 sets\n/)
    expect(again.stderr).toMatch(mirroring)
    await again.untilStderr(inSync, CONNECT)
    seed.child.kill('SIGTERM')
    expect(await seed.exit()).toBe(0)
    again.child.kill('SIGTERM')
    expect(await again.exit()).toBe(0)

    // info of the mirror's store: the set, the invite its list names, its feed.
    const info = await run(['info', mirrorInvite, '--json', '--storage', storage])
    expect(info.code, info.stderr).toBe(0)
    const [report] = JSON.parse(info.stdout).multifeeds
    expect(report).toMatchObject({ listed: mirrorInvite, key: mirrorInvite })
    expect(report.feeds.map((f: { length: number }) => f.length)).toEqual([21])
  })
})
