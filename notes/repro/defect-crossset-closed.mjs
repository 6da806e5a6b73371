// Copy of ../shared/repro/defect-crossset-closed.mjs with one guard (issue 13 point 4): V1 no longer lists F,
// so V1.get(F) rejects ERR_UNKNOWN_FEED; the original then ends before its verdict. What it checks is unchanged.
// Defect repro: cross-set adoption while the owning multifeed is closed (lazy cores).
// README: "A core joins one multifeed of a corestore: a peer of X that offers the key of a core this corestore holds
// for Y ... is refused, so that X can never serve or forward it", and "a remote feed that legitimately belongs to two
// multifeeds is kept by the first that learned it".
// Here V2 (K2) learned feed F from an honest K2 writer while F was empty (so, lazy cores, F has no core in storage),
// then the application closed V2. A K1 key holder who knows F's public key offers it to V1 (K1): V1 adopts it. When V2
// is opened again both sets hold F; the K2 writer appends a secret, V2 fetches it into the shared core; once V1's
// application opens the feed its set lists (get()), V1 announces and serves it to K1 members who never proved K2.
// Usage: node defect-crossset-closed.mjs <checkout>      (last line: REPRODUCED / NOT REPRODUCED)

import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const checkout = resolve(process.argv[2] ?? '.')
const req = createRequire(join(checkout, 'packages/core/package.json'))
const imp = (name) => import(pathToFileURL(req.resolve(name)).href).then((m) => m.default ?? m)
const { Multifeed } = await import(
  pathToFileURL(join(checkout, 'packages/core/dist/index.js')).href
)
const Corestore = await imp('corestore')
const crypto = await imp('hypercore-crypto')
const dirs = []
const tmp = () => {
  const d = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'defect-xc-'))
  dirs.push(d)
  return d
}
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
setTimeout(() => {
  console.log('NOT REPRODUCED (timed out)')
  process.exit(2)
}, 60000).unref()
const until = async (cond, ms = 10000) => {
  const t = Date.now()
  while (!(await cond()) && Date.now() - t < ms) await sleep(20)
  return cond()
}
const pipe = (a, b) => {
  const s = a.replicate(true),
    t = b.replicate(false)
  s.on('error', () => {})
  t.on('error', () => {})
  s.pipe(t).pipe(s)
  return () => {
    s.destroy()
    t.destroy()
  }
}

const K1 = crypto.randomBytes(32),
  K2 = crypto.randomBytes(32)
const vStore = new Corestore(tmp())
const V1 = await Multifeed.open(vStore, K1)
let V2 = await Multifeed.open(vStore, K2)

// an honest K2 writer P2 creates feed F (empty for now) and V2 learns it
const pStore = new Corestore(tmp())
const P2 = await Multifeed.open(pStore, K2)
const f = await P2.writer('f')
const cut1 = pipe(P2, V2)
await until(() => V2.feed(f.key) !== null)
cut1()
const fInStorage =
  (
    await vStore.storage.getInfos([crypto.discoveryKey(f.key)], {
      auth: false,
      head: false,
      hints: false
    })
  )[0] !== null
console.log(
  `V2 learned F: ${V2.feed(f.key) !== null}; F's core in the victim's storage: ${fInStorage}`
)
await V2.close() // the application closes the K2 multifeed (opened on demand, say)

// a K1 key holder A (knows F's public key: it is not a secret) offers F to V1
const aStore = new Corestore(tmp())
const A = await Multifeed.open(aStore, K1)
await A.add(f.key)
const cutA = pipe(A, V1)
await until(() => V1.feed(f.key) !== null, 5000)
const adopted = V1.feed(f.key) !== null
console.log(`V1 (K1) adopted F, a feed of V2 (K2): ${adopted}`)
cutA()

// V2 opens again and syncs with P2, which appends a secret to F
V2 = await Multifeed.open(vStore, K2)
await f.append(Buffer.from('K2-only secret'))
const cut2 = pipe(P2, V2)
await until(() => (V2.feed(f.key)?.length ?? 0) >= 1)
console.log(
  `V2 holds F's block: ${(V2.feed(f.key)?.length ?? 0) >= 1}; both sets list F: V1 ${V1.feed(f.key) !== null}, V2 ${V2.feed(f.key) !== null}`
)

// V1's application looks at a feed its set lists (ordinary use: get() of a key from feeds()); its core is the one V2
// filled, so V1's length index now says 1 and V1 announces it
if (V1.feed(f.key) !== null) {
  const core = await V1.get(f.key)
  console.log(
    `V1's own session of F: length ${core.length}, block 0 ${JSON.stringify(String(await core.get(0, { wait: false })))}`
  )
  await core.close()
}
await until(() => (V1.feed(f.key)?.length ?? 0) >= 1, 3000)
// an honest K1 member C, who never knew K2 nor F, connects to V1
const cStore = new Corestore(tmp())
const C = await Multifeed.open(cStore, K1)
const cutC = pipe(V1, C)
let got = null
await until(async () => {
  if (!C.feed(f.key) || C.feed(f.key).length < 1) return false
  const core = await C.get(f.key)
  got = String(await core.get(0, { timeout: 2000 }).catch(() => null))
  await core.close()
  return got === 'K2-only secret'
}, 10000)
console.log(
  `K1 member C learned F: ${C.feed(f.key) !== null}; read F's block 0 through V1: ${JSON.stringify(got)}`
)
cutC()
cut2()
await C.close()
await V1.close()
await V2.close()
await A.close()
await P2.close()
await cStore.close()
await aStore.close()
await pStore.close()
await vStore.close()
console.log(adopted && got === 'K2-only secret' ? 'REPRODUCED' : 'NOT REPRODUCED')
process.exit(0)
