#!/usr/bin/env node
// bare-smoke: multifeed on the Bare runtime, from the packed tarballs.
//
//   1. pnpm pack every publishable package (tools/pack-check/pack.mjs, as pack-check does)
//   2. install the Bare runtime for this platform, bare-runtime-<platform>-<arch>@BARE_VERSION,
//      in a directory of its own; where it cannot be installed (no such package for this
//      platform, no registry), print one line saying so and exit 0: the only skip
//   3. a fresh npm project in os.tmpdir(): the tarballs, corestore, brittle
//   4. run there with that `bare` (brittle, TAP), one after the other:
//      smoke.test.mjs: two peers over a pipe, read(), remove with block, the networker over a
//        loopback testnet (127.0.0.1), a policy hook and a pairing-concluded listener that throw
//      conformance.test.mjs: @multifeed/testing's networker conformance suite, every case, on the
//        Hyperswarm Networker over a loopback testnet
//      Each file's run is bounded (RUN_TIMEOUT); a failed test, a crash or no TAP summary fails.
//
// Run after `pnpm build` (pnpm test does). Keeps the temporary directory on failure (and with
// BARE_SMOKE_KEEP=1); removes it on success.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  indent,
  must,
  packAll,
  publishablePackages,
  readJson,
  root,
  run
} from '../pack-check/pack.mjs'

/** The runtime the suite runs on: the registry's `bare` 1.31.x crashes (UNSUPPORTED_ENGINE). */
const BARE_VERSION = '1.33.4'
const BRITTLE_VERSION = '4.1.0'
/** The suites, run in this order. */
const SUITES = ['smoke.test.mjs', 'conformance.test.mjs']
/** The most one suite may take (each of its tests bounds itself to 60 s). */
const RUN_TIMEOUT = 240_000
const INSTALL_TIMEOUT = 300_000

const started = performance.now()
const seconds = () => ((performance.now() - started) / 1000).toFixed(1)
const runtimePackage = `bare-runtime-${process.platform}-${process.arch}`
const base = await mkdtemp(join(tmpdir(), 'multifeed-bare-smoke-'))

async function fail(message) {
  console.log(`bare-smoke FAILED after ${seconds()} s: ${message}\n  kept ${base}`)
  process.exit(1)
}

const runtimeDir = join(base, 'runtime')
await mkdir(runtimeDir)
await writeFile(join(runtimeDir, 'package.json'), '{ "private": true }\n')
const flags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']
const installed = await run('npm', ['install', ...flags, `${runtimePackage}@${BARE_VERSION}`], {
  cwd: runtimeDir,
  timeout: INSTALL_TIMEOUT
})
if (installed.code !== 0) {
  const reason = installed.timedOut
    ? 'timed out'
    : (/npm error (?:code )?(.+)/.exec(installed.output)?.[1] ?? `exit ${installed.code}`)
  console.log(
    `bare-smoke SKIPPED: the Bare runtime ${runtimePackage}@${BARE_VERSION} cannot be installed here (${reason})`
  )
  await rm(base, { recursive: true, force: true })
  process.exit(0)
}
const bare = join(
  runtimeDir,
  'node_modules',
  '.bin',
  process.platform === 'win32' ? 'bare.cmd' : 'bare'
)
const version = (await must(bare, ['--version'], { echo: false })).trim()

const packages = publishablePackages()
const tarballs = await packAll(packages, join(base, 'tarballs')).catch((err) => fail(err.message))

const project = join(base, 'project')
await mkdir(project)
await writeFile(
  join(project, 'package.json'),
  `${JSON.stringify({ name: 'bare-smoke', private: true, type: 'module' }, null, 2)}\n`
)
for (const file of SUITES) {
  await copyFile(fileURLToPath(new URL(file, import.meta.url)), join(project, file))
}
const corestore = readJson(join(root, 'packages/core/package.json')).peerDependencies.corestore
const deps = [...tarballs, `corestore@${corestore}`, `brittle@${BRITTLE_VERSION}`]
const projectInstall = await run('npm', ['install', ...flags, ...deps], {
  cwd: project,
  timeout: INSTALL_TIMEOUT
})
if (projectInstall.code !== 0)
  await fail(`npm install in the project:\n${indent(projectInstall.output)}`)

console.log(
  `bare-smoke: brittle on Bare ${version} (${runtimePackage}), the packed tarballs, in ${project}`
)
const passed = []
for (const file of SUITES) {
  const t0 = performance.now()
  const suite = await run(bare, [file], { cwd: project, timeout: RUN_TIMEOUT })
  const took = ((performance.now() - t0) / 1000).toFixed(1)
  console.log(indent(suite.output))
  const counts = /^# tests = (\d+)\/(\d+) pass/m.exec(suite.output)
  if (suite.timedOut) await fail(`${file} ran past ${RUN_TIMEOUT / 1000} s and was killed`)
  if (suite.code !== 0 || counts === null || counts[1] !== counts[2]) {
    const summary = counts === null ? 'no TAP summary' : `${counts[1]}/${counts[2]} tests passed`
    await fail(`${file}: exit ${suite.code}, ${summary}`)
  }
  passed.push(`${file} ${counts[1]}/${counts[2]} tests in ${took} s`)
}
if (process.env.BARE_SMOKE_KEEP) console.log(`  kept ${base} (BARE_SMOKE_KEEP)`)
else await rm(base, { recursive: true, force: true })
console.log(`bare-smoke passed on Bare ${version}: ${passed.join(', ')}; all ${seconds()} s`)
