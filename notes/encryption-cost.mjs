// CPU and wall time of an encrypted set against a plain one, same process, same run:
// appending N blocks of 1 KiB to one writer, then a fresh member syncing them over a pipe
// (both sides in this process: CPU is process.cpuUsage, user + system), then the member reading
// every block (read(): decryption on the encrypted side).
// Usage: node notes/encryption-cost.mjs <repo> [N=20000] [reps=3]
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [repoArg = '.', n = '20000', reps = '3'] = process.argv.slice(2)
const N = Number(n)
const repo = resolve(repoArg)
const { Multifeed } = await import(pathToFileURL(join(repo, 'packages/core/dist/index.js')).href)
const Corestore = createRequire(join(repo, 'packages/core/package.json'))('corestore')

const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function once(encrypted) {
  const dir = await mkdtemp('/dev/shm/enc-cost-')
  const storeA = new Corestore(join(dir, 'a'))
  const storeB = new Corestore(join(dir, 'b'))
  const a = await Multifeed.open(storeA, null, { encrypted })
  const b = await Multifeed.open(storeB, a.key)
  const w = await a.writer()
  const block = Buffer.alloc(1024, 7)
  let c0 = cpu()
  let t0 = performance.now()
  for (let i = 0; i < N; i += 100) await w.append(Array.from({ length: 100 }, () => block))
  const append = { cpu: cpu() - c0, wall: performance.now() - t0 }
  c0 = cpu()
  t0 = performance.now()
  const s = a.replicate(true)
  s.pipe(b.replicate(false)).pipe(s)
  await new Promise((resolve) => {
    const check = () => {
      if (b.feeds()[0]?.length === N) resolve()
      else setTimeout(check, 5)
    }
    check()
  })
  const sync = { cpu: cpu() - c0, wall: performance.now() - t0 }
  c0 = cpu()
  t0 = performance.now()
  let count = 0
  for await (const entry of b.read()) if (entry.value?.byteLength === 1024) count++
  if (count !== N) throw new Error(`read ${count} of ${N}`)
  const read = { cpu: cpu() - c0, wall: performance.now() - t0 }
  await w.close()
  s.destroy()
  await a.close()
  await b.close()
  await storeA.close()
  await storeB.close()
  await rm(dir, { recursive: true, force: true })
  return { append, sync, read }
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
const runs = { plain: [], encrypted: [] }
await once(false) // warm-up
for (let r = 0; r < Number(reps); r++) {
  runs.plain.push(await once(false))
  runs.encrypted.push(await once(true))
}
const fig = (kind, phase, what) => median(runs[kind].map((x) => x[phase][what]))
for (const phase of ['append', 'sync', 'read']) {
  for (const what of ['cpu', 'wall']) {
    const p = fig('plain', phase, what)
    const e = fig('encrypted', phase, what)
    console.log(
      `${phase} ${what}: plain ${p.toFixed(0)} ms, encrypted ${e.toFixed(0)} ms, ratio ${(e / p).toFixed(2)}`
    )
  }
}
