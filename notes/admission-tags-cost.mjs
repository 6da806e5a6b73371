// Wire bytes of admission tags: an encrypted set against a plain one, same run, same shapes.
// Two peers hold N feeds (added by key: no core), in sync, disconnected. Then, per scenario,
// one reconnect over a pipe, counting every byte of the set's channel both ways
// (peer.stats; the pairing channel is the same for both kinds):
//   in sync      nothing changed
//   new d+d      d new feeds on each side (coded symbols: the responder's are tagged in DONE,
//                the initiator's come in the TAGS answer)
//   grown d      d feeds grown on one side (writers appending: length differences only)
// Usage: node notes/admission-tags-cost.mjs <repo> [N=1000] [d=10]
import { mkdtemp } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [repoArg = '.', n = '1000', dArg = '10'] = process.argv.slice(2)
const N = Number(n)
const d = Number(dArg)
const repo = resolve(repoArg)
const { Multifeed } = await import(pathToFileURL(join(repo, 'packages/core/dist/index.js')).href)
const req = createRequire(join(repo, 'packages/core/package.json'))
const Corestore = req('corestore')
const crypto = req('hypercore-crypto')

async function until(predicate) {
  while (!predicate()) await new Promise((r) => setTimeout(r, 5))
}

/** One reconnect of a and b; bytes of the set's channel both ways, and symbols. */
async function reconnect(a, b) {
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  sa.pipe(sb).pipe(sa)
  const pa = a.attach(sa)
  const pb = b.attach(sb)
  await Promise.all([pa.synced, pb.synced])
  await until(() => a.feeds().length === b.feeds().length)
  const bytes = pa.stats.bytesSent + pb.stats.bytesSent
  const messages = pa.stats.messagesSent + pb.stats.messagesSent
  const symbols = pa.stats.symbolsSent + pb.stats.symbolsSent
  const refused = pa.stats.feedsRefused + pb.stats.feedsRefused
  sa.destroy()
  sb.destroy()
  await new Promise((r) => setTimeout(r, 20))
  return { bytes, messages, symbols, refused }
}

async function run(encrypted) {
  const dir = await mkdtemp('/tmp/tags-cost-')
  const a = await Multifeed.open(new Corestore(join(dir, 'a')), null, { encrypted })
  const b = await Multifeed.open(new Corestore(join(dir, 'b')), a.key)
  for (let i = 0; i < N; i++) await a.add(crypto.randomBytes(32))
  const writers = []
  for (let i = 0; i < d; i++) writers.push(await a.writer(`w${i}`))
  await reconnect(a, b)
  await until(() => b.feeds().length === N + d)
  const out = {}
  out['in sync'] = await reconnect(a, b)
  for (let i = 0; i < d; i++) {
    await a.add(crypto.randomBytes(32))
    await b.add(crypto.randomBytes(32))
  }
  out[`new ${d}+${d}`] = await reconnect(a, b)
  for (const w of writers) await w.append(Buffer.alloc(100))
  out[`grown ${d}`] = await reconnect(a, b)
  for (const w of writers) await w.close()
  await a.close()
  await b.close()
  return out
}

const plain = await run(false)
const encrypted = await run(true)
console.log(`N = ${N} feeds, d = ${d}; bytes of the set's channel, both ways`)
console.log(
  'scenario        plain B (msgs, symbols)   encrypted B (msgs, symbols)   ratio  refused'
)
for (const k of Object.keys(plain)) {
  const p = plain[k]
  const e = encrypted[k]
  console.log(
    `${k.padEnd(14)}  ${String(p.bytes).padStart(7)} (${p.messages}, ${p.symbols})`.padEnd(42) +
      `${String(e.bytes).padStart(7)} (${e.messages}, ${e.symbols})`.padEnd(30) +
      `${(e.bytes / p.bytes).toFixed(2)}   ${e.refused}`
  )
}
