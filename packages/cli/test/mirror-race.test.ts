import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatKey } from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { Cli, run } from './child.js'
import { NOWHERE, tempDirsPerTest } from './setup.js'

const PAUSE = fileURLToPath(new URL('./fixtures/pause-first-open.mjs', import.meta.url))

const tmp = tempDirsPerTest('multifeed-race-')

const randomKey = (fill: number): string => formatKey(Buffer.alloc(32, fill))

/**
 * `multifeed args` stopped inside the first open of the store in `storage` (a new
 * directory), after it found no CORESTORE file and before it lists the directory to move
 * what it does not know into db/, until another process writes the list (or 10 s pass: long
 * enough for the others to start and write it on a loaded machine). Resolves once it is
 * stopped there (fixtures/pause-first-open.mjs).
 */
async function pausedInFirstOpen(args: string[], storage: string, dir: string): Promise<Cli> {
  const signal = join(dir, 'paused')
  const cli = new Cli(args, {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PAUSE}`,
    PAUSE_DIR: storage,
    PAUSE_SIGNAL: signal,
    PAUSE_MS: '10000'
  })
  await untilFile(signal, cli)
  return cli
}

/** Resolves once `path` exists; fails if `cli` exits first or at the bound. */
async function untilFile(path: string, cli: Cli, bound = 45_000): Promise<void> {
  const started = Date.now()
  while (!existsSync(path)) {
    if (cli.child.exitCode !== null) throw new Error(`exited before ${path}:\n${cli.stderr}`)
    if (Date.now() - started > bound) throw new Error(`no ${path} in ${bound} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The keys `mirror list` shows in `storage`, sorted. */
async function listed(storage: string): Promise<string[]> {
  const { code, stdout, stderr } = await run(['mirror', 'list', '--json', '--storage', storage])
  expect(code, stderr).toBe(0)
  return JSON.parse(stdout)
    .sets.map((set: { key: string }) => set.key)
    .sort()
}

describe('concurrent mirror adds into a new directory', { timeout: 120_000 }, () => {
  it('every key lands while a first open of the store is paused mid-migration (12 processes)', async () => {
    const dir = await tmp()
    const storage = join(dir, 'new')
    const keys = Array.from({ length: 12 }, (_, i) => randomKey(i + 1))
    const first = await pausedInFirstOpen(
      ['mirror', 'add', keys[0]!, '--storage', storage],
      storage,
      dir
    )
    const others = keys.slice(1).map((key) => new Cli(['mirror', 'add', key, '--storage', storage]))
    const all = [first, ...others]
    const codes = await Promise.all(all.map((cli) => cli.exit()))
    expect(codes, all.map((cli) => cli.stderr).join('')).toEqual(keys.map(() => 0))
    expect(await listed(storage)).toEqual([...keys].sort())
  })

  it('every key lands, and the running mirror takes each up, while its first open is paused mid-migration (8 adds)', async () => {
    const dir = await tmp()
    const storage = join(dir, 'new')
    const keys = Array.from({ length: 8 }, (_, i) => randomKey(i + 21))
    const mirror = await pausedInFirstOpen(
      ['mirror', 'run', '--storage', storage, ...NOWHERE],
      storage,
      dir
    )
    const adds = keys.map((key) => new Cli(['mirror', 'add', key, '--storage', storage]))
    const codes = await Promise.all(adds.map((cli) => cli.exit()))
    expect(codes, adds.map((cli) => cli.stderr).join('')).toEqual(keys.map(() => 0))
    expect(await listed(storage)).toEqual([...keys].sort())
    for (const key of keys) await mirror.untilStderr(new RegExp(`mirroring ${key} `))
    mirror.child.kill('SIGTERM')
    expect(await mirror.exit(), mirror.stderr).toBe(0)
    expect(mirror.stderr).not.toMatch(/error/)
  })
})
