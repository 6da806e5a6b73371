// `multifeed mirror run` with many listed sets: start time (to "mirror running: N sets"),
// RSS, CPU while idle (nothing to sync: no peer), and the time SIGTERM takes to exit.
// The store is built first by the bench's scenario 14 child (a mirror store that followed
// SETS encrypted sets of FEEDS feeds added by key); the list holds their mirror keys. The
// mirror joins a loopback testnet started here (127.0.0.1 only). `--tty` runs it under
// script(1), so that its stderr is a terminal and the live status line is drawn.
// `--built DIR`: a directory built before (DIR/mirror, DIR/sets.txt; kept), instead of building.
// Usage: node notes/mirror-run-scale.mjs <repo> [SETS=1000] [FEEDS=100] [IDLE_S=10] [--tty] [--built DIR]
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const tty = args.includes('--tty')
const builtAt = args.indexOf('--built')
const built = builtAt >= 0 ? args.splice(builtAt, 2)[1] : null
const [repoArg = '.', s = '1000', f = '100', idle = '10'] = args.filter((a) => a !== '--tty')
const repo = resolve(repoArg)
const SETS = Number(s)
const FEEDS = Number(f)
const IDLE_MS = Number(idle) * 1000
const { formatKey } = await import(pathToFileURL(join(repo, 'packages/core/dist/index.js')).href)
const require = createRequire(join(repo, 'packages/bench/package.json'))
const createTestnet = require('@hyperswarm/testnet')

const dir = built ?? (await mkdtemp('/dev/shm/mirror-run-scale-'))
const storage = join(dir, 'mirror')
const t0 = performance.now()
if (!built)
  execFileSync(process.execPath, [
    join(repo, 'packages/bench/dist/mirror-scale-child.js'),
    'build',
    join(dir, 'member'),
    storage,
    String(SETS),
    String(FEEDS),
    join(dir, 'sets.txt'),
    join(dir, 'feeds.txt')
  ])
const sets = (await readFile(join(dir, 'sets.txt'), 'utf8')).split('\n').filter(Boolean)
const added = new Date().toISOString()
const doc = {
  version: 1,
  sets: sets.map((line) => ({ key: formatKey(Buffer.from(line.split(' ')[1], 'hex')), added }))
}
await writeFile(join(storage, 'mirror.json'), JSON.stringify(doc))
if (!built)
  console.log(
    `built ${SETS} sets × ${FEEDS} feeds in ${((performance.now() - t0) / 1000).toFixed(1)} s`
  )

const testnet = await createTestnet(3, { host: '127.0.0.1' })
const { host, port } = testnet.bootstrap[0]
const cli = [join(repo, 'packages/cli/dist/cli.js'), 'mirror', 'run', '--storage', storage]
cli.push('--bootstrap', `${host}:${port}`, '--host', '127.0.0.1')
const started = performance.now()
const child = tty
  ? spawn('script', ['-qfec', [process.execPath, ...cli].join(' '), '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
  : spawn(process.execPath, cli, { stdio: ['ignore', 'pipe', 'pipe'] })
let out = ''
let errBytes = 0
child.stdout.on('data', (d) => {
  out += d
})
child.stderr.on('data', (d) => {
  errBytes += d.length
})
const exited = new Promise((r) => child.on('close', r))

/** The node process: the child, or script(1)'s child. */
function nodePid() {
  if (!tty) return child.pid
  const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim()
  return Number(kids.split(' ')[0])
}
const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, 100 Hz
}

while (!/mirror running: \d+ sets/.test(out)) {
  if (child.exitCode !== null) throw new Error(`mirror exited ${child.exitCode}: ${out}`)
  await new Promise((r) => child.stdout.once('data', r))
}
const startMs = performance.now() - started
const pid = nodePid()
console.log(`${/mirror running: \d+ sets/.exec(out)[0]} after ${startMs.toFixed(0)} ms`)
console.log(`RSS at start ${rssMiB(pid).toFixed(0)} MiB; CPU to start ${cpuMs(pid).toFixed(0)} ms`)
const cpu0 = cpuMs(pid)
const err0 = errBytes
await new Promise((r) => setTimeout(r, IDLE_MS)) // a measuring window, not a wait for a state
const idleCpu = cpuMs(pid) - cpu0
console.log(
  `idle ${IDLE_MS / 1000} s: CPU ${idleCpu.toFixed(0)} ms (${((100 * idleCpu) / IDLE_MS).toFixed(1)} % of a core), ${errBytes - err0} B on stderr, RSS ${rssMiB(pid).toFixed(0)} MiB`
)
const stopping = performance.now()
process.kill(pid, 'SIGTERM')
await exited
console.log(`SIGTERM → exit ${(performance.now() - stopping).toFixed(0)} ms`)
await testnet.destroy()
if (!built) await rm(dir, { recursive: true, force: true })
