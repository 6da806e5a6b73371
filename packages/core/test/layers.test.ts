/**
 * The layers rule (`pnpm deps`, .dependency-cruiser.cjs at the repo root) catches what it
 * forbids: the real config run on small trees that break it (an upward import between core's
 * folders, a cycle of type-only imports, an upward import between packages) fails naming the
 * rule, a tree that keeps to it passes, and on the repository it cruises core's modules.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const config = join(root, '.dependency-cruiser.cjs')
const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs')

interface Run {
  code: number
  output: string
}

function depcruise(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, '--config', config, '--output-type', 'err-long', ...args],
      { cwd },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, output: stdout + stderr })
      }
    )
  })
}

let dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  dirs = []
})

/** A tree of files (path → source) with a tsconfig, like the repository's. */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'layers-'))
  dirs.push(dir)
  const all: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }
    }),
    ...files
  }
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  return dir
}

const clean = {
  'packages/core/src/errors.ts': 'export class E extends Error {}\n',
  'packages/core/src/types.ts': "import type { E } from './errors.js'\nexport type T = E\n",
  'packages/core/src/set/Set.ts':
    "import type { T } from '../types.js'\nexport const set = (t: T) => t\n",
  'packages/core/src/replication/Peer.ts':
    "import { set } from '../set/Set.js'\nexport const peer = set\n",
  'packages/networker/src/index.ts': "export * from '../../core/src/replication/Peer.js'\n"
}

describe('the layers rule', () => {
  it('passes a tree whose imports go down', async () => {
    const run = await depcruise(await tree(clean), 'packages')
    expect(run.output).toContain('no dependency violations found (5 modules')
    expect(run.code).toBe(0)
  })

  it('fails an upward import between core folders (set → replication), naming the rule', async () => {
    const dir = await tree({
      ...clean,
      'packages/core/src/set/Set.ts':
        "import type { T } from '../types.js'\nimport type { peer } from '../replication/Peer.js'\nexport const set = (t: T) => t\nexport type P = typeof peer\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    expect(run.output).toContain(
      'core-upward-from-set: packages/core/src/set/Set.ts → packages/core/src/replication/Peer.ts'
    )
    // The comment says what the layer may import.
    expect(run.output).toContain("core's set imports only what is below it")
  })

  it('fails a cycle of type-only imports', async () => {
    const dir = await tree({
      ...clean,
      'packages/core/src/set/A.ts':
        "import type { B } from './B.js'\nexport interface A { b: B }\n",
      'packages/core/src/set/B.ts': "import type { A } from './A.js'\nexport interface B { a: A }\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    expect(run.output).toMatch(/no-cycle: packages\/core\/src\/set\/(A|B)\.ts/)
  })

  it('fails the public types importing a layer above them (types → replication)', async () => {
    const dir = await tree({
      ...clean,
      'packages/core/src/types.ts':
        "import type { E } from './errors.js'\nimport type { peer } from './replication/Peer.js'\nexport type T = E\nexport type P = typeof peer\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    expect(run.output).toContain('core-upward-from-types')
  })

  it('fails core importing a package above it (built or not)', async () => {
    const dir = await tree({
      ...clean,
      'packages/core/src/keys.ts': "import { x } from '@multifeed/testing'\nexport const k = x\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    expect(run.output).toContain(
      'package-upward-from-core: packages/core/src/keys.ts → @multifeed/testing'
    )
  })

  it('fails moderation/ importing replication/ or set/ (it may use protocol/ and keys)', async () => {
    const dir = await tree({
      ...clean,
      'packages/core/src/keys.ts': 'export const key = 1\n',
      'packages/core/src/moderation/Rule.ts':
        "import { key } from '../keys.js'\nimport { set } from '../set/Set.js'\nimport { peer } from '../replication/Peer.js'\nexport const rule = [key, set, peer]\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    for (const to of ['set/Set.ts', 'replication/Peer.ts']) {
      expect(run.output).toContain(
        `core-upward-from-moderation: packages/core/src/moderation/Rule.ts → packages/core/src/${to}`
      )
    }
    // keys.ts is below it: allowed.
    expect(run.output).not.toMatch(/→ packages\/core\/src\/keys\.ts/)
  })

  it('counts multifeed/ as the façade: it may import replication/, but importing Multifeed.ts is a cycle', async () => {
    const facade = {
      ...clean,
      'packages/core/src/multifeed/parts.ts':
        "import { peer } from '../replication/Peer.js'\nexport const parts = peer\n",
      'packages/core/src/Multifeed.ts':
        "import { parts } from './multifeed/parts.js'\nexport class Multifeed { parts = parts }\n"
    }
    const kept = await depcruise(await tree(facade), 'packages')
    expect(kept.output).toContain('no dependency violations found (7 modules')
    expect(kept.code).toBe(0)

    const dir = await tree({
      ...facade,
      'packages/core/src/multifeed/parts.ts':
        "import { peer } from '../replication/Peer.js'\nimport type { Multifeed } from '../Multifeed.js'\nexport const parts = peer\nexport type M = Multifeed\n"
    })
    const run = await depcruise(dir, 'packages')
    expect(run.code).not.toBe(0)
    expect(run.output).toMatch(/no-cycle: packages\/core\/src\/(multifeed\/parts|Multifeed)\.ts/)
    // Within the façade's layer: no upward-import rule names it, only the cycle.
    expect(run.output).not.toContain('core-upward-from-Multifeed')
  })

  it('cruises the repository: every package, core with its folders', async () => {
    const run = await depcruise(
      root,
      '--output-type',
      'json',
      ...['core', 'networker', 'testing', 'sim', 'bench', 'demo', 'cli'].map(
        (p) => `packages/${p}/src`
      )
    )
    const result = JSON.parse(run.output.slice(run.output.indexOf('{'))) as {
      modules: Array<{ source: string }>
      summary: { error: number }
    }
    expect(result.summary.error).toBe(0)
    const core = result.modules.filter((m) => m.source.startsWith('packages/core/src/'))
    for (const folder of [
      'replication/',
      'set/',
      'protocol/',
      'moderation/',
      'lifecycle/',
      'multifeed/',
      'Multifeed.ts',
      'types.ts'
    ]) {
      expect(core.some((m) => m.source.startsWith(`packages/core/src/${folder}`))).toBe(true)
    }
  })
})
