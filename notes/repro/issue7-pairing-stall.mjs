// Reproduction (bench findings, issue 7 §1): two multifeeds with the same key never pair when
// the responder receives the end of the Noise handshake and the initiator's pairing tokens in
// one chunk, as TCP delivers them when they share a segment.
//   pnpm build && node notes/repro/issue7-pairing-stall.mjs
// Prints, for a link that delivers each write on its own (pipe) and for one that coalesces what
// was written within 5 ms into one chunk, whether both sides emitted `reconciled` within 3 s.
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Multifeed } from '../../packages/core/dist/index.js'

const require = createRequire(new URL('../../packages/core/package.json', import.meta.url))
const Corestore = require('corestore')
const Hypercore = require('hypercore')

async function trial(coalesce) {
  const dirs = [
    await mkdtemp(join(tmpdir(), 'stall-a-')),
    await mkdtemp(join(tmpdir(), 'stall-b-'))
  ]
  const [sA, sB] = dirs.map((d) => new Corestore(d))
  const A = await Multifeed.open(sA)
  const B = await Multifeed.open(sB, A.key)
  const s1 = A.replicate(true)
  const s2 = B.replicate(false)
  const rejected = []
  for (const [name, s] of [
    ['A', s1],
    ['B', s2]
  ]) {
    const mux = Hypercore.getProtocolMuxer(s)
    const reject = mux._rejectSession.bind(mux)
    mux._rejectSession = (info, id) => {
      rejected.push(`${name} rejected the remote's ${info?.protocol ?? 'session'} open`)
      return reject(info, id)
    }
  }
  const relay = (from, to) => {
    let queued = []
    from.on('data', (chunk) => {
      if (!coalesce) return to.write(chunk)
      if (queued.length === 0) {
        setTimeout(() => {
          to.write(Buffer.concat(queued))
          queued = []
        }, 5)
      }
      queued.push(chunk)
    })
  }
  relay(s1, s2)
  relay(s2, s1)
  const reconciled = (m) => new Promise((resolve) => m.once('reconciled', () => resolve(true)))
  const ok = await Promise.race([
    Promise.all([reconciled(A), reconciled(B)]).then(() => true),
    new Promise((resolve) => setTimeout(() => resolve(false), 3000))
  ])
  s1.destroy()
  s2.destroy()
  await A.close()
  await B.close()
  await sA.close()
  await sB.close()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
  return { ok, rejected }
}

for (const coalesce of [false, true]) {
  const { ok, rejected } = await trial(coalesce)
  console.log(
    `${coalesce ? 'coalescing link' : 'plain link     '}: ${ok ? 'reconciled' : 'NOT reconciled after 3 s'}${rejected.length ? ` (${rejected.join('; ')})` : ''}`
  )
}
