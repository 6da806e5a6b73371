// CPU of moderation records: sign, verify and evaluate n records, one process.
// Workload: a founder grants 3 moderators, who block and unblock n/10 feeds in
// turn, each on its own chain, syncing with the others every 10 records
// (3 concurrent chains); then the worst case for the clocks: w moderators who
// never see each other (w chains; past the clock budget evaluate searches).
// Usage: node notes/moderation-cpu.mjs <packages/core/dist> [n=10000] [w=200]
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [dist, n = '10000', w = '200'] = process.argv.slice(2)
const load = (p) => import(pathToFileURL(`${dist}/${p}`).href)
const { createModeratedSet } = await load('moderation/invite.js')
const { signRecord, verifyRecord } = await load('moderation/signing.js')
const { evaluate } = await load('moderation/evaluate.js')
const crypto = createRequire(resolve(dist, 'index.js'))('hypercore-crypto')

const ms = (t) => `${(performance.now() - t).toFixed(0)} ms`
const founder = crypto.keyPair(Buffer.alloc(32, 1))
const set = createModeratedSet(founder.publicKey)

function history(count, width, syncEvery) {
  const mods = Array.from({ length: width }, (_, i) => crypto.keyPair(Buffer.alloc(32, i + 2)))
  const all = []
  let heads = []
  for (const m of mods) {
    const g = signRecord(set.key, founder, { type: 'grant', target: m.publicKey }, { deps: heads })
    all.push(g)
    heads = [g.id]
  }
  const tips = mods.map(() => heads)
  for (let i = 0; i < count; i++) {
    const m = i % width
    const target = Buffer.alloc(32)
    target.writeUInt32BE(i % Math.max(1, count / 10))
    const body =
      (i >> 1) % 2 === 0
        ? { type: 'block', kind: 'feed', target, reason: 'spam' }
        : { type: 'unblock', kind: 'feed', target }
    const r = signRecord(set.key, mods[m], body, { deps: tips[m] })
    all.push(r)
    tips[m] = [r.id]
    if (syncEvery > 0 && i % syncEvery === syncEvery - 1) {
      const merged = tips.flat().slice(0, 16)
      for (let k = 0; k < width; k++) tips[k] = merged
    }
  }
  return all
}

const count = Number(n)
let t = performance.now()
const all = history(count, 3, 10)
console.log(`sign ${all.length} records: ${ms(t)}`)
t = performance.now()
for (const r of all) if (!verifyRecord(set.key, r.bytes).ok) throw new Error('did not verify')
console.log(`verify ${all.length} records: ${ms(t)}`)
t = performance.now()
const state = evaluate(founder.publicKey, all)
console.log(`evaluate (3 chains): ${ms(t)} (${state.blocked.size} blocked)`)

const wide = history(count, Number(w), 0)
t = performance.now()
const wideState = evaluate(founder.publicKey, wide)
console.log(`evaluate (${w} chains, never synced): ${ms(t)} (${wideState.blocked.size} blocked)`)
