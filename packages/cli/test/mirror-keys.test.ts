// `multifeed mirror add` with each tier of key, as child processes: a member key (it reads
// the set) is stored as its mirror key unless --member-ok; a mirror key or a plain set's key
// as given; `remove` finds what `add` stored for a member key.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatKey, Multifeed } from '@multifeed/core'
import { createTempCorestore } from '@multifeed/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, run } from './child.js'

let root = ''
let n = 0
const storage = (): string => join(root, `store-${n++}`)
const listed = async (dir: string): Promise<string[]> =>
  JSON.parse((await run(['mirror', 'list', '--json', '--storage', dir])).stdout).sets.map(
    (s: { key: string }) => s.key
  )

/** An encrypted set's member and mirror keys, and a plain set's key (z-base-32). */
const keys = { member: '', mirror: '', plain: '' }

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'multifeed-cli-keys-'))
  await using store = await createTempCorestore()
  const encrypted = await Multifeed.open(store.corestore, null, { encrypted: true })
  const plain = await Multifeed.open(store.corestore, null)
  keys.member = formatKey(encrypted.key)
  keys.mirror = formatKey(encrypted.mirrorKey!)
  keys.plain = formatKey(plain.key)
  await encrypted.close()
  await plain.close()
})
afterEach(killAll)
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe('mirror add and remove, by the tier of the key', () => {
  it("stores a member key's mirror key, and says so", async () => {
    const dir = storage()
    const res = await run(['mirror', 'add', keys.member, '--storage', dir])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe(`added ${keys.mirror}\n`)
    expect(res.stderr).toMatch(/is a member key \(it reads the set\): its mirror key was added/)
    expect(await listed(dir)).toEqual([keys.mirror])
    // The same set again, by either key: already there.
    expect((await run(['mirror', 'add', keys.mirror, '--storage', dir])).stdout).toBe(
      `${keys.mirror} is already in the list\n`
    )
    // remove with the member key finds the mirror key add stored.
    const removed = await run(['mirror', 'remove', keys.member, '--storage', dir])
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${keys.mirror}\n` })
    expect(await listed(dir)).toEqual([])
  })

  it('keeps a member key as given with --member-ok, and warns that the mirror can read', async () => {
    const dir = storage()
    const res = await run(['mirror', 'add', keys.member, '--member-ok', '--storage', dir])
    expect(res).toMatchObject({ code: 0, stdout: `added ${keys.member}\n` })
    expect(res.stderr).toMatch(/this mirror CAN read the set/)
    expect(await listed(dir)).toEqual([keys.member])
    expect((await run(['mirror', 'remove', keys.member, '--storage', dir])).stdout).toBe(
      `removed ${keys.member}\n`
    )
  })

  it('stores a mirror key and a plain set’s key as given, silently', async () => {
    const dir = storage()
    for (const key of [keys.mirror, keys.plain]) {
      expect(await run(['mirror', 'add', key, '--storage', dir])).toEqual({
        code: 0,
        stdout: `added ${key}\n`,
        stderr: ''
      })
    }
    expect(await listed(dir)).toEqual([keys.mirror, keys.plain])
  })

  it('documents --member-ok, and refuses what is no key', async () => {
    const help = await run(['mirror', 'add', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--member-ok/)
    const bad = await run(['mirror', 'add', 'not-a-key', '--storage', storage()])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/ERR_INVALID_KEY/)
  })
})
