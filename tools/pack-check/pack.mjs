// What pack-check and the Bare smoke suite share: running a command with a clean environment,
// and packing every publishable package into tarballs, as npm would publish them.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'

export const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Environment for child processes: without the variables `pnpm run` sets for its own scripts
 * (npm would read pnpm's config from them), but with the settings that say how to reach the
 * registry (registry, CA, cache, proxy).
 */
const keepNpmConfig =
  /^npm_config_(registry|cafile|ca|cache|userconfig|proxy|https_proxy|noproxy|strict_ssl)$/i
// Output is parsed (publint's numbered findings, tsc's error lines), so no colours: picocolors
// and others colour whenever `CI` is set, as it is on CI, which broke the publint parse there.
export const cleanEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        keepNpmConfig.test(name) || !/^(npm_|pnpm_|INIT_CWD$|NODE_PATH$|FORCE_COLOR$)/i.test(name)
    )
  ),
  NO_COLOR: '1'
}

/**
 * Runs a command; resolves to its exit code and output (stdout and stderr). `timeout` (ms)
 * kills it (SIGKILL) and resolves with code null and `timedOut: true`.
 */
export function run(cmd, args, { cwd = root, echo = true, timeout = 0 } = {}) {
  if (echo) console.log(`  $ ${[cmd, ...args].join(' ')}${cwd === root ? '' : `   (in ${cwd})`}`)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timedOut = false
    const timer =
      timeout > 0
        ? setTimeout(() => {
            timedOut = true
            child.kill('SIGKILL')
          }, timeout)
        : null
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('error', (err) => {
      if (timer !== null) clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      if (timer !== null) clearTimeout(timer)
      resolve({ code, output: stripVTControlCharacters(output), timedOut })
    })
  })
}

/** Runs a command and throws with its output if it exits non-zero. */
export async function must(cmd, args, opts) {
  const { code, output } = await run(cmd, args, opts)
  if (code !== 0) throw new Error(`${basename(cmd)} exited with ${code}:\n${indent(output)}`)
  return output
}

export function indent(text) {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n')
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'))
}

/** Every package of packages/ that is not "private", with its manifest; exits if one is not built. */
export function publishablePackages() {
  const packages = readdirSync(join(root, 'packages'))
    .map((dir) => ({ dir: join(root, 'packages', dir), manifest: null }))
    .filter((pkg) => existsSync(join(pkg.dir, 'package.json')))
    .map((pkg) => ({ ...pkg, manifest: readJson(join(pkg.dir, 'package.json')) }))
    .filter((pkg) => !pkg.manifest.private)
  for (const pkg of packages) {
    const main = pkg.manifest.exports?.['.']?.import
    if (main && !existsSync(join(pkg.dir, main))) {
      console.error(`${pkg.manifest.name} has no ${main}: run \`pnpm build\` first`)
      process.exit(1)
    }
  }
  return packages
}

/** `pnpm pack` of `packages` into `dest`; the tarballs' paths. */
export async function packAll(packages, dest) {
  await mkdir(dest, { recursive: true })
  const filters = packages.flatMap((p) => ['--filter', p.manifest.name])
  await must('pnpm', ['-r', ...filters, 'pack', '--pack-destination', dest])
  const tarballs = readdirSync(dest)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(dest, f))
  if (tarballs.length !== packages.length) {
    throw new Error(`expected ${packages.length} tarballs, found ${tarballs.length}`)
  }
  return tarballs
}
