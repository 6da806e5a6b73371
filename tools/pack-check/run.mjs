#!/usr/bin/env node
// pack-check: what a user gets from npm, checked outside the workspace.
//
//   1. pnpm pack every publishable package (not "private") into a temporary directory
//   2. read each tarball: LICENSE, README.md, CHANGELOG.md whose newest entry is this version,
//      no `workspace:` left, one version for all
//   3. publint on every tarball (its one finding accepted: an `imports` key that names a Node
//      built-in, the Holepunch convention for Bare), attw (--profile esm-only) on every one that
//      exports a module
//   4. two fresh projects in os.tmpdir(), as a user makes them:
//      npm: `npm install` of every tarball (+ typescript, @types/node, corestore); npm hoists
//      pnpm: core, networker, testing as dependencies (holepunch-types only transitive, not
//            hoisted: pnpm's isolated layout), every @multifeed/* range overridden to its tarball
//   5. in each, one tsc per resolution (strict, skipLibCheck false; NodeNext and bundler) over the
//      README's quickstart (its first ```ts block, `import Corestore from 'corestore'` with no
//      declaration of the user's), fixture/use.ts, store-type.ts (`store: Corestore` as a type),
//      sync.test.ts: no error; fixture/misuse.ts: an error on exactly the lines marked
//      `pack-check: error` and nowhere else (so the types are not `any`)
//   6. in each, out/sync.test.js (the NodeNext emit) runs with node --test: two peers sync;
//      in the npm project, every bin of the tarballs runs with --help
//
// Run after `pnpm build` (pnpm test does). Exits non-zero with the reason on any failure and
// keeps the temporary directory for a look; removes it on success. Reruns are fast: npm
// and pnpm install from their caches (--prefer-offline) and need only the registry. PACK_CHECK_KEEP=1 keeps
// the temporary directory after a success too.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { indent, must, packAll, publishablePackages, readJson, root, run } from './pack.mjs'

const fixture = fileURLToPath(new URL('./fixture', import.meta.url))
const bin = (name) => join(root, 'node_modules', '.bin', name)
const started = performance.now()
const results = []

async function step(name, fn) {
  console.log(`\n▶ ${name}`)
  const t0 = performance.now()
  try {
    const note = await fn()
    const ms = performance.now() - t0
    results.push({ name, ok: true, ms })
    console.log(`✓ ${name} (${(ms / 1000).toFixed(1)} s)${note ? ` — ${note}` : ''}`)
    return true
  } catch (err) {
    const ms = performance.now() - t0
    results.push({ name, ok: false, ms })
    console.log(`✗ ${name} (${(ms / 1000).toFixed(1)} s)\n${err.message}`)
    return false
  }
}

// --- what to pack ---------------------------------------------------------------------------

const packages = publishablePackages()
const rootManifest = readJson(join(root, 'package.json'))
const coreManifest = readJson(join(root, 'packages/core/package.json'))
const registryDeps = [
  `typescript@${rootManifest.devDependencies.typescript}`,
  `@types/node@${rootManifest.devDependencies['@types/node']}`,
  `corestore@${coreManifest.peerDependencies.corestore}`
]

const base = await mkdtemp(join(tmpdir(), 'multifeed-pack-check-'))
const packDir = join(base, 'tarballs')
console.log(`pack-check: ${packages.map((p) => p.manifest.name).join(', ')}\n  in ${base}`)
let tarballs = []

await step('pack every publishable package (pnpm pack)', async () => {
  tarballs = await packAll(packages, packDir)
  return tarballs.map((t) => basename(t)).join(', ')
})

await step(
  'tarball contents: LICENSE, README.md, CHANGELOG.md of this version, no workspace: ranges, one version',
  async () => {
    const problems = []
    const versions = new Set()
    for (const tarball of tarballs) {
      const name = basename(tarball)
      const files = (await must('tar', ['-tzf', tarball], { echo: false })).split('\n')
      const required = ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']
      for (const file of required.map((f) => `package/${f}`)) {
        if (!files.includes(file)) problems.push(`${name}: no ${file.slice(8)}`)
      }
      const manifest = JSON.parse(
        await must('tar', ['-xzOf', tarball, 'package/package.json'], { echo: false })
      )
      versions.add(manifest.version)
      if (files.includes('package/CHANGELOG.md')) {
        // The newest entry is this version (changesets writes it: `pnpm changeset version`).
        const changelog = await must('tar', ['-xzOf', tarball, 'package/CHANGELOG.md'], {
          echo: false
        })
        const newest = /^## (\S+)/m.exec(changelog)?.[1]
        if (newest !== manifest.version) {
          problems.push(
            `${name}: CHANGELOG.md's newest entry is ${newest}, not ${manifest.version}`
          )
        }
      }
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
          if (range.startsWith('workspace:')) problems.push(`${name}: ${field}.${dep} = ${range}`)
          else if (dep.startsWith('@multifeed/') && !range.startsWith('^')) {
            problems.push(`${name}: ${field}.${dep} = ${range} (expected a ^ range)`)
          }
        }
      }
      for (const field of ['repository', 'homepage', 'bugs', 'license']) {
        if (!manifest[field]) problems.push(`${name}: no "${field}" in package.json`)
      }
      if (manifest.files?.includes('dist') && files.some((f) => f.endsWith('.js.map'))) {
        if (!files.some((f) => f.startsWith('package/src/'))) {
          problems.push(`${name}: source maps point to src/, which is not in the tarball`)
        }
      }
    }
    if (versions.size !== 1) problems.push(`more than one version: ${[...versions].join(', ')}`)
    if (problems.length > 0) throw new Error(indent(problems.join('\n')))
    return `version ${[...versions][0]}`
  }
)

/**
 * The one publint finding accepted: an `imports` key that is a Node built-in's own name. It is
 * the Holepunch convention for Bare (`"events": { "bare": "bare-events", "default": "events" }`,
 * as hypercore, corestore and hyperswarm ship): Bare reads the map, Node resolves a built-in
 * before any map, and publint wants `#` keys.
 */
function isBareImportsFinding(finding) {
  const m =
    /^pkg\.imports(?:\.([\w/]+)|\["([^"]+)"\]) is invalid as the imports key does not start with "#"/.exec(
      finding
    )
  return m !== null && isBuiltin(m[1] ?? m[2])
}

await step('publint --strict on every tarball', async () => {
  const failed = []
  for (const tarball of tarballs) {
    const { code, output } = await run(bin('publint'), ['run', tarball, '--strict'])
    const findings = [...output.matchAll(/^\s*\d+\. (.+)$/gm)].map((m) => m[1])
    const clean = code === 0 && /All good/.test(output)
    const onlyBareImports = findings.length > 0 && findings.every(isBareImportsFinding)
    if (!clean && !onlyBareImports) failed.push(`${basename(tarball)}:\n${output}`)
  }
  if (failed.length > 0) throw new Error(indent(failed.join('\n')))
})

/** The tarball of the package `name`. */
const tarballOf = (name) =>
  tarballs.find((t) => basename(t).startsWith(`${name.replace('@', '').replace('/', '-')}-`))

await step('attw --profile esm-only on every tarball that exports a module', async () => {
  const failed = []
  // A command only (no "exports", like @multifeed/cli) has no import to resolve: attw fails on it.
  const commands = packages
    .filter((p) => !p.manifest.exports)
    .map((p) => tarballOf(p.manifest.name))
  for (const tarball of tarballs.filter((t) => !commands.includes(t))) {
    const args = [tarball, '--profile', 'esm-only', '--no-definitely-typed', '--format', 'table']
    const { code, output } = await run(bin('attw'), [...args, '--no-color', '--no-emoji'])
    if (code !== 0) failed.push(`${basename(tarball)}:\n${output}`)
  }
  if (failed.length > 0) throw new Error(indent(failed.join('\n')))
})

// --- fresh projects: npm and pnpm ---------------------------------------------------------------

/** The README's quickstart: the first ```ts block under "## Quickstart", as a user copies it. */
function quickstart() {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n')
  const start = lines.findIndex((line) => line.startsWith('## Quickstart'))
  const open = lines.findIndex((line, i) => i > start && line.trim() === '```ts')
  const close = lines.findIndex((line, i) => i > open && line.trim() === '```')
  if (start < 0 || open < 0 || close < 0)
    throw new Error('README.md: no ```ts block in ## Quickstart')
  return `${lines.slice(open + 1, close).join('\n')}\n`
}

/** What every project compiles: the fixtures and the README's quickstart. */
async function writeSources(dir) {
  await mkdir(join(dir, 'src'), { recursive: true })
  const manifest = { name: 'pack-check-consumer', private: true, type: 'module' }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const file of FIXTURES) await copyFile(join(fixture, file), join(dir, 'src', file))
  await writeFile(join(dir, 'src', 'quickstart.ts'), quickstart())
}

const FIXTURES = ['use.ts', 'store-type.ts', 'misuse.ts', 'sync.test.ts']
const SOURCES = [...FIXTURES, 'quickstart.ts'].map((file) => `src/${file}`)
const projects = {
  // npm hoists: every tarball top-level, as `npm install` of them all gives.
  npm: {
    dir: join(base, 'npm'),
    async install(dir) {
      await writeSources(dir)
      const flags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']
      await must('npm', ['install', ...flags, ...tarballs, ...registryDeps], { cwd: dir })
    }
  },
  // pnpm does not hoist: the user's dependencies are what the README's Install names (core,
  // networker, corestore; testing for sync.test.ts), @multifeed/holepunch-types only a
  // transitive one. The overrides make every @multifeed/* range resolve to its tarball.
  pnpm: {
    dir: join(base, 'pnpm'),
    async install(dir) {
      await writeSources(dir)
      const direct = ['@multifeed/core', '@multifeed/networker', '@multifeed/testing']
      const overrides = Object.fromEntries(
        packages.map((p) => [p.manifest.name, `file:${tarballOf(p.manifest.name)}`])
      )
      const manifest = {
        name: 'pack-check-consumer',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(direct.map((name) => [name, overrides[name]])),
          ...Object.fromEntries(
            registryDeps.map((spec) => {
              const at = spec.lastIndexOf('@')
              return [spec.slice(0, at), spec.slice(at + 1)]
            })
          )
        },
        pnpm: { overrides }
      }
      await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
      const flags = ['--prefer-offline', '--reporter=append-only', '--config.node-linker=isolated']
      await must('pnpm', ['install', ...flags], { cwd: dir })
      const top = readdirSync(join(dir, 'node_modules', '@multifeed'))
      if (top.includes('holepunch-types')) {
        throw new Error('      @multifeed/holepunch-types is top-level: pnpm hoisted it')
      }
    }
  }
}

const installed = {}
await Promise.all(
  Object.entries(projects).map(async ([pm, project]) => {
    installed[pm] = await step(
      `fresh ${pm} project outside the workspace: install the tarballs (+ typescript, @types/node, corestore)`,
      async () => {
        await project.install(project.dir)
        const count = readdirSync(join(project.dir, 'node_modules')).length
        return `${count} top-level entries in node_modules`
      }
    )
  })
)

const strict = ['--strict', '--skipLibCheck', 'false', '--target', 'es2022', '--types', 'node']
const resolutions = {
  NodeNext: ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--outDir', 'out'],
  bundler: ['--module', 'esnext', '--moduleResolution', 'bundler', '--noEmit']
}

/** tsc's diagnostics as { file, line, text }. */
function diagnostics(output) {
  return [...output.matchAll(/^([^\s(][^(\n]*)\((\d+),\d+\): error (TS\d+: .*)$/gm)].map((m) => ({
    file: m[1],
    line: Number(m[2]),
    text: m[3]
  }))
}

const misuseSource = readFileSync(join(fixture, 'misuse.ts'), 'utf8').split('\n')
const expected = misuseSource.flatMap((text, i) =>
  /\/\/ pack-check: error$/.test(text) ? [i + 1] : []
)

/**
 * One tsc over every source: the quickstart, use.ts, store-type.ts and sync.test.ts compile,
 * misuse.ts fails exactly on its marked lines (its types are not `any`). NodeNext emits out/
 * (tsc emits whatever it reports) for the sync test.
 */
async function typecheck(dir, flags) {
  const tsc = join(dir, 'node_modules', '.bin', 'tsc')
  const { code, output } = await run(tsc, [...strict, ...flags, ...SOURCES], { cwd: dir })
  if (code === 0) throw new Error('      compiled without error: misuse.ts is typed `any`')
  const found = diagnostics(output)
  const misuse = found.filter((d) => d.file === 'src/misuse.ts')
  const lines = new Set(misuse.map((d) => d.line))
  const problems = [
    ...expected
      .filter((line) => !lines.has(line))
      .map((line) => `no error on misuse.ts:${line}: ${misuseSource[line - 1].trim()}`),
    ...found
      .filter((d) => d.file !== 'src/misuse.ts' || !expected.includes(d.line))
      .map((d) => `unexpected error ${d.file}:${d.line}: ${d.text}`)
  ]
  if (found.length === 0) problems.push(`no diagnostics parsed from:\n${output}`)
  if (problems.length > 0) throw new Error(indent(problems.join('\n')))
  return `${SOURCES.length - 1} files clean, ${expected.length} misuses rejected`
}

// Two at a time (CI has 2 cores): the two resolutions of one project side by side.
for (const [pm, project] of Object.entries(projects)) {
  if (!installed[pm]) continue
  await Promise.all(
    Object.entries(resolutions).map(([label, flags]) =>
      step(
        `${pm}: tsc (${label}, strict, skipLibCheck false) over the quickstart and fixtures`,
        () => typecheck(project.dir, flags)
      )
    )
  )
}

for (const [pm, project] of Object.entries(projects)) {
  if (!installed[pm]) continue
  await step(
    `${pm}: node --test out/sync.test.js: two peers sync over the loopback testnet`,
    async () => {
      if (!existsSync(join(project.dir, 'out', 'sync.test.js')))
        throw new Error('      no out/sync.test.js')
      const output = await must('node', ['--test', '--test-reporter=tap', 'out/sync.test.js'], {
        cwd: project.dir
      })
      const passed = /^# pass (\d+)/m.exec(output)?.[1]
      if (passed !== '1') throw new Error(`expected 1 passing test:\n${indent(output)}`)
      return 'pass 1'
    }
  )
}

if (installed.npm) {
  await step('npm: every bin of the tarballs runs (`--help`, exit 0)', async () => {
    const bins = packages.flatMap((p) => Object.keys(p.manifest.bin ?? {}))
    for (const name of bins) {
      await must(join(projects.npm.dir, 'node_modules', '.bin', name), ['--help'], {
        cwd: projects.npm.dir
      })
    }
    return bins.join(', ')
  })
}

// --- summary --------------------------------------------------------------------------------

const total = (performance.now() - started) / 1000
const failed = results.filter((r) => !r.ok)
console.log(`\npack-check summary (${total.toFixed(1)} s):`)
for (const r of results)
  console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.name}`)
if (failed.length > 0) {
  console.log(
    `\npack-check FAILED: ${failed.length} of ${results.length} checks; the project is kept in ${base}`
  )
  process.exit(1)
}
if (process.env.PACK_CHECK_KEEP) console.log(`pack-check passed; kept ${base} (PACK_CHECK_KEEP)`)
else {
  await rm(base, { recursive: true, force: true })
  console.log('pack-check passed')
}
