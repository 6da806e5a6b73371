// CPU and wall time of opening (then closing) every set of a store built by bench
// scenario 14's child (`mirror-scale-child.js build`), one corestore, one set after the
// other, as the bench's open does. Prints one JSON line: wall and CPU (user + system) of
// the opens and of the closes, RSS, and the membership log's length of the first set.
//   node notes/repro/mirror-open-cpu.mjs STORE_DIR SETS_FILE [mirror|member] [repository]
// Run it under `node --cpu-prof --cpu-prof-dir=DIR` for the profile. Each run appends to
// the stores' logs (open/close marks): copy the store first to compare runs.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const [dir, setsFile, tier = 'mirror', repoArg] = process.argv.slice(2)
const repo = resolve(repoArg ?? fileURLToPath(new URL('../..', import.meta.url)))
const require = createRequire(join(repo, 'packages/core/package.json'))
const Corestore = require('corestore')
const { Multifeed } = await import(join(repo, 'packages/core/dist/index.js'))

const sets = readFileSync(setsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => line.split(' ')[tier === 'mirror' ? 1 : 0])
const store = new Corestore(dir)
await store.ready()
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
let t = performance.now()
let c = cpu()
const multis = []
for (const key of sets) multis.push(await Multifeed.open(store, key))
const open = { wallMs: performance.now() - t, cpuMs: cpu() - c }
const feeds = multis.reduce((n, m) => n + m.feeds().length, 0)
const rss = process.memoryUsage().rss
t = performance.now()
c = cpu()
for (const m of multis) await m.close()
const close = { wallMs: performance.now() - t, cpuMs: cpu() - c }
await store.close()
console.log(
  JSON.stringify({ sets: sets.length, feeds, open, close, rssMiB: Math.round(rss / 2 ** 20) })
)
