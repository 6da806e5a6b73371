// Copy of ../shared/repro/defect-findingpeers.mjs (issue 13 point 8): part 1 opens the window with the call the
// networker makes now, multi.findingPeers(), in place of the root store's. What it checks is unchanged.
// Defect repro: while the networker joins a topic it calls corestore.findingPeers() on the store it was given
// ("update({ wait: true }) on our cores waits for the swarm instead of resolving false at once", Networker.ts),
// but the multifeed opens its cores through a namespace session of that store, whose sessions corestore does
// not count: update({ wait: true }) on a session from multi.get() resolves false at once while the networker
// is still finding peers (a root-store session in the same window waits).
// Effect: in sparse mode, right after `await net.swarm(multi)` a get() session's update({ wait: true }) returns
// false with a stale length while the swarm is already connected to a peer that holds more.
// Usage: node defect-findingpeers.mjs CHECKOUT. Loopback testnet only. Last line: REPRODUCED or NOT REPRODUCED.

import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = path.resolve(process.argv[2] ?? '.')
setTimeout(() => {
  console.log('deadline: 60 s passed')
  console.log('NOT REPRODUCED')
  process.exit(2)
}, 60000).unref()
const req = createRequire(path.join(root, 'packages/core/package.json'))
const { Multifeed } = await import(
  pathToFileURL(path.join(root, 'packages/core/dist/index.js')).href
)
const { Networker } = await import(
  pathToFileURL(path.join(root, 'packages/networker/dist/index.js')).href
)
const { createTestnet } = await import(
  pathToFileURL(path.join(root, 'packages/testing/dist/index.js')).href
)
const Corestore = (await import(pathToFileURL(req.resolve('corestore')).href)).default
const crypto = (await import(pathToFileURL(req.resolve('hypercore-crypto')).href)).default
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mf-fp-'))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pendingAfter = async (p, ms) =>
  Promise.race([p.then((r) => `resolved ${r} at once`), sleep(ms).then(() => 'waits')])
const testnet = await createTestnet({ size: 3 })

// 1. The cause: the networker's findingPeers window covers root-store sessions, not the multifeed's. On a
// loopback testnet the networker's own window lasts a few ms, so the repro opens it with the very call
// Networker._joinTopic makes, `this.corestore.findingPeers()` on the store the networker was given.
const store = new Corestore(tmp())
const multi = await Multifeed.open(store, null, { sparse: true })
const k = crypto.randomBytes(32)
await multi.add(k)
const mine = await multi.get(k) // a feed of the set, no peer holds it yet
const rootSession = store.get({ key: crypto.randomBytes(32) })
await rootSession.ready()
const done = multi.findingPeers() // what Networker._joinTopic holds now (the set's namespace); store.findingPeers() cannot reach it by corestore's design
const [rootR, mineR] = await Promise.all([
  pendingAfter(rootSession.update({ wait: true }), 300),
  pendingAfter(mine.update({ wait: true }), 300)
])
done()
console.log(
  `while the store is finding peers: root-store session update({ wait: true }) ${rootR}; multi.get() session update({ wait: true }) ${mineR}`
)
const net = new Networker(store, { dht: testnet.createNode() })

// 2. The effect, end to end: B (sparse) knows A's feed at 2 blocks, A appended 2 more while B was away.
const sa = new Corestore(tmp()),
  dirB = tmp()
const a = await Multifeed.open(sa)
const w = await a.writer()
await w.append([Buffer.from('1'), Buffer.from('2')])
let sb = new Corestore(dirB),
  b = await Multifeed.open(sb, a.key, { sparse: true })
{
  const s = a.replicate(true),
    t = b.replicate(false)
  s.pipe(t).pipe(s)
  while (!b.peers()[0]?.reconciled) await sleep(10)
  const c = await b.get(w.key)
  await c.get(1)
  await c.close()
  s.destroy()
  t.destroy()
}
await b.close()
await sb.close()
await w.append([Buffer.from('3'), Buffer.from('4')])
const na = new Networker(sa, { dht: testnet.createNode() })
await na.swarm(a)
sb = new Corestore(dirB)
b = await Multifeed.open(sb, a.key, { sparse: true })
const nb = new Networker(sb, { dht: testnet.createNode() })
await nb.swarm(b)
const c = await b.get(w.key)
const t0 = Date.now()
const up = await c.update({ wait: true })
console.log(
  `after await net.swarm(): get() session update({ wait: true }) -> ${up} in ${Date.now() - t0} ms, length ${c.length} (A holds 4); connections ${nb.connections().length}`
)
await c.close()
for (const x of [nb, na, net]) await x.close()
await rootSession.close()
await mine.close()
for (const x of [a, b, multi]) await x.close()
for (const x of [sa, sb, store]) await x.close()
await testnet.close()
console.log(
  'expected: a multi.get() session waits like the root-store one while the networker finds peers; observed:',
  mineR
)
console.log(rootR === 'waits' && mineR !== 'waits' ? 'REPRODUCED' : 'NOT REPRODUCED')
