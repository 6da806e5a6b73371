// `node notes/moderation-block-mesh.mjs [peers=10] [rounds=20]` after `pnpm build`:
// block() → no member serves F in a mesh of pipes (bench scenario 17's BlockMesh, alone, at
// the size: F of 100 × 1 KiB), rounds alternating F still spreading / F held by all;
// p50 / p99 of the last member's `moderation` event, CPU of the process (notes/moderation-hardening.md).

import { BlockMesh } from '../packages/bench/dist/moderation/BlockMesh.js'
import * as core from '../packages/core/dist/index.js'

const [peers = 10, rounds = 20] = process.argv.slice(2).map(Number)
const mesh = await BlockMesh.create(core, peers)
const kinds = { spreading: [], held: [] }
const cpu0 = process.cpuUsage()
let moved = 0
for (let i = 0; i < 2 * rounds; i++) {
  const r = await mesh.round(100, 1024, 120_000, i % 2 === 1)
  kinds[i % 2 ? 'held' : 'spreading'].push(Math.max(...r.perPeer))
  moved += r.uploadsAfter + r.downloadsAfter
}
const cpu = process.cpuUsage(cpu0)
await mesh.close()
const pct = (v, q) => {
  const s = [...v].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
}
for (const [k, v] of Object.entries(kinds))
  console.log(
    `${k}: p50 ${pct(v, 0.5).toFixed(0)} ms, p99 ${pct(v, 0.99).toFixed(0)} ms (${v.length} rounds)`
  )
console.log(
  `blocks of F moved after a member's event: ${moved}; CPU user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s`
)
