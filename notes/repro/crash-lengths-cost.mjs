// open() cost at N feeds (default 10,000), each a writer with one block:
// after a clean close (the log ends with its close mark: no storage read),
// and after a crash (a SIGKILL before the close: every feed's length is read
// from the storage's heads in one batch). Median of 5 opens of each.
// Also times the batched heads read alone (what a crash adds), and checks the
// length of the writer appended to just before each kill.
//   pnpm build && node notes/repro/crash-lengths-cost.mjs [N] [repository]
// `repository` (default: this one) runs another build, e.g. one without the fix.
import { fork } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('../..', import.meta.url))
const args = process.argv.slice(2)
const role = args[0]
const repo = resolve(role === 'crash' ? args[3] : (args[1] ?? here))
const require = createRequire(join(repo, 'packages/core/package.json'))
const Corestore = require('corestore')
const { Multifeed } = await import(join(repo, 'packages/core/dist/index.js'))
const [dir, keyHex] = args.slice(1)

if (role === 'crash') {
  // Opens, appends one more block to one writer, and is killed by the parent.
  const multi = await Multifeed.open(new Corestore(dir), keyHex)
  const w = await multi.writer('w0')
  await w.append(Buffer.from('more'))
  process.send('appended')
  setInterval(() => {}, 1000)
} else {
  const n = Number(role ?? 10_000)
  const base = mkdtempSync(join(tmpdir(), 'crash-cost-'))
  let store = new Corestore(base)
  let multi = await Multifeed.open(store)
  const key = multi.key.toString('hex')
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, n - i) }, async (_, j) => {
        const w = await multi.writer(`w${i + j}`)
        await w.append(Buffer.from('x'))
        await w.close()
      })
    )
  }
  await multi.close()
  await store.close()

  // The heads read alone, on a store opened cleanly (no multifeed open).
  store = new Corestore(base, { wait: true })
  multi = await Multifeed.open(store, key)
  const dks = multi.feeds().map((f) => f.discoveryKey)
  await multi.close()
  const heads = []
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint()
    await store.storage.getInfos(dks, { auth: false, head: true, hints: true })
    heads.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  await store.close()

  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  async function timedOpen() {
    store = new Corestore(base, { wait: true })
    const t = process.hrtime.bigint()
    multi = await Multifeed.open(store, key)
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    return ms
  }
  const clean = []
  for (let r = 0; r < 5; r++) {
    clean.push(await timedOpen())
    await multi.close()
    await store.close()
  }
  const crashed = []
  let correct = true
  for (let r = 0; r < 5; r++) {
    const child = fork(fileURLToPath(import.meta.url), ['crash', base, key, repo])
    await new Promise((resolve) => child.once('message', resolve))
    await new Promise((resolve) => {
      child.once('exit', resolve)
      child.kill('SIGKILL')
    })
    crashed.push(await timedOpen())
    correct &&= multi.feeds().find((f) => f.name === 'w0').length === r + 2
    await multi.close()
    await store.close()
  }
  console.log(
    JSON.stringify({
      feeds: n,
      cleanMs: clean.map((x) => Math.round(x)),
      cleanMedianMs: Math.round(median(clean)),
      crashMs: crashed.map((x) => Math.round(x)),
      crashMedianMs: Math.round(median(crashed)),
      crashLengthCorrect: correct,
      headsReadMedianMs: Math.round(median(heads))
    })
  )
}
