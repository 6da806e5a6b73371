// What a user's compiler reads from our tarballs must resolve by itself: every
// published `.d.ts` imports only relative files, `node:*`, the built-ins the package maps
// for Bare in its `imports` (`events`), our own packages
// (which the importing package depends on), and declares no ambient module but
// one: holepunch-types/corestore.d.ts types the user's own `import Corestore
// from 'corestore'`, and core's index.d.ts refers to it, so that importing core
// is enough (under pnpm too: core depends on holepunch-types directly).
// The Holepunch modules (hypercore, corestore, …) publish no types: their
// interfaces live in @multifeed/holepunch-types, and the other ambient
// declarations our sources compile against (holepunch-types/ambient) are never
// shipped.
// Runs on the build output (`pnpm test` builds first).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../..', import.meta.url))
/** The one shipped ambient declaration, and the module it declares. */
const CORESTORE_DECLARATION = 'packages/holepunch-types/corestore.d.ts'
const CORESTORE_REFERENCE = '@multifeed/holepunch-types/corestore'

/** `@scope/name` of a specifier such as `@scope/name/subpath`. */
function packageOf(spec: string): string {
  return spec.split('/').slice(0, 2).join('/')
}

interface Manifest {
  name: string
  private?: boolean
  files?: string[]
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  imports?: Record<string, unknown>
}

const published = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
  }))
  .filter(({ manifest }) => manifest.private !== true)

/** The `.d.ts` files a package ships: under each entry of `files`. */
function shippedDeclarations(dir: string, files: string[]): string[] {
  const out: string[] = []
  const walk = (path: string): void => {
    if (!existsSync(path)) return
    if (path.endsWith('.d.ts')) out.push(path)
    else if (!path.includes('.')) {
      for (const entry of readdirSync(path)) walk(join(path, entry))
    }
  }
  for (const entry of files) {
    if (entry.includes('*')) {
      const suffix = entry.replace(/^.*\*/, '')
      for (const name of readdirSync(dir)) if (name.endsWith(suffix)) walk(join(dir, name))
    } else walk(join(dir, entry))
  }
  return out
}

/** Every module specifier a declaration file refers to. */
function specifiers(text: string): string[] {
  const found: string[] = []
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /<reference\s+(?:types|path)=['"]([^'"]+)['"]/g
  ]
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!)
  return found
}

/** Drops comments so that an example in a doc comment is not taken for an import. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/(?!\/).*$/gm, '$1')
}

describe('published type declarations', () => {
  it('finds the published packages and their built declarations', () => {
    expect(published.map(({ manifest }) => manifest.name).sort()).toEqual([
      '@multifeed/cli',
      '@multifeed/core',
      '@multifeed/holepunch-types',
      '@multifeed/networker',
      '@multifeed/testing'
    ])
    for (const { dir, manifest } of published) {
      expect(
        shippedDeclarations(dir, manifest.files ?? []).length,
        `${manifest.name} ships no .d.ts (run pnpm build)`
      ).toBeGreaterThan(0)
    }
  })

  for (const { dir, manifest } of published) {
    it(`${manifest.name}: imports only relative files, node:* and its own @multifeed dependencies; no ambient module but corestore's`, () => {
      const deps = { ...manifest.dependencies, ...manifest.peerDependencies, [manifest.name]: '' }
      const problems: string[] = []
      for (const file of shippedDeclarations(dir, manifest.files ?? [])) {
        const where = relative(root, file)
        const text = code(readFileSync(file, 'utf8'))
        // An augmentation of one of our own files (`declare module './x.js'`, an open interface
        // completed by a class above it: notes/layers.md) names no package: not an ambient module.
        const modules = [...text.matchAll(/\bdeclare\s+module\s+(\S+)/g)]
          .map((m) => m[1])
          .filter((name) => !/^['"]\.\.?\//.test(name ?? ''))
        const allowed = where === CORESTORE_DECLARATION ? ["'corestore'"] : []
        if (modules.join() !== allowed.join()) {
          problems.push(`${where}: declare module ${modules.join(', ') || '(none)'}`)
        }
        if (/\bdeclare\s+global\b/.test(text)) problems.push(`${where}: declare global`)
        for (const spec of specifiers(text)) {
          if (spec.startsWith('.') || spec.startsWith('node:')) continue
          // A built-in the package maps for Bare (`imports`: `events` → `bare-events`): its
          // types are Node's, as for `node:events`.
          if (isBuiltin(spec) && manifest.imports?.[spec] !== undefined) continue
          if (spec.startsWith('@multifeed/') && packageOf(spec) in deps) continue
          problems.push(`${where}: refers to '${spec}'`)
        }
      }
      expect(problems).toEqual([])
    })
  }

  it('holepunch-types ships index.d.ts and corestore.d.ts only (holepunch-types/ambient stays private)', () => {
    const types = published.find(({ manifest }) => manifest.name === '@multifeed/holepunch-types')!
    const shipped = shippedDeclarations(types.dir, types.manifest.files ?? []).map((file) =>
      relative(types.dir, file)
    )
    expect(shipped.sort()).toEqual(['corestore.d.ts', 'index.d.ts'])
  })

  it("core's index.d.ts refers to the corestore declaration: `import Corestore from 'corestore'` is typed for its users", () => {
    const index = readFileSync(join(root, 'packages/core/dist/index.d.ts'), 'utf8')
    expect(index).toContain(`/// <reference types="${CORESTORE_REFERENCE}" preserve="true" />`)
    const exported = readFileSync(join(root, 'packages/holepunch-types/package.json'), 'utf8')
    expect(JSON.parse(exported).exports['./corestore']).toEqual({ types: './corestore.d.ts' })
  })
})
