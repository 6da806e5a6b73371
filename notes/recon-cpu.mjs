// CPU of one reconciliation (both sides, one process) over n feeds with d
// differing elements (d/2 feeds only on each side), windows warm.
// Usage: node notes/recon-cpu.mjs <packages/core/dist> [before]
// ("before": a dist of the reconciler before the window, e.g. main at b93f62d)
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'

const [dist, mode = 'after'] = process.argv.slice(2)
const load = (p) => import(pathToFileURL(`${dist}/${p}`).href)
const { FeedSet } = await load('set/FeedSet.js')
const { Reconciliation } = await load('protocol/Reconciler.js')
const pairing = await load('protocol/pairing.js')
const { setSalt } = pairing
const { elementOf } = await load('protocol/elements.js')

const key = crypto.randomBytes(32)
const before = mode === 'before'
const hash = crypto.randomBytes(32)
const salt = before ? pairing.symbolSalt(key, hash) : pairing.symbolSalts(key, hash)
const elements = (feeds) => [...feeds].map((f) => elementOf(f.key, f.length))
const local = (set) => (before ? elements(set.all()) : set.snapshot())

function once(a, b) {
  const summary = (s) => ({ count: s.size, sketch: s.sketch() })
  const init = new Reconciliation(true, salt, 100_000)
  const resp = new Reconciliation(false, salt, 100_000)
  let msg = init.begin(summary(a), local(a), summary(b))
  for (;;) {
    const r = resp.receive(msg, () => local(b))
    if (r.status === 'done') return init.end()
    msg = init.more(r.count)
  }
}

for (const n of [10_000, 100_000]) {
  for (const d of [1, 100]) {
    const a = new FeedSet(setSalt(key))
    const b = new FeedSet(setSalt(key))
    for (let i = 0; i < n; i++) {
      const k = crypto.randomBytes(32)
      if (i >= d / 2) b.add(k, false, null, 1)
      if (i < d / 2 || i >= d) a.add(k, false, null, 1)
    }
    let t = process.hrtime.bigint()
    once(a, b) // builds the windows (after) / warms up (before)
    const first = Number(process.hrtime.bigint() - t) / 1e6
    const times = []
    for (let r = 0; r < 7; r++) {
      t = process.hrtime.bigint()
      once(a, b)
      times.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    times.sort((x, y) => x - y)
    // One change to a set with a warm window (FeedSet #toggle: digest, sketch, window).
    const feed = a.all()[0]
    t = process.hrtime.bigint()
    for (let r = 0; r < 1000; r++) a.setLength(feed, feed.length + 1)
    const change = Number(process.hrtime.bigint() - t) / 1e6
    console.log(
      `${mode} n=${n} d=${d}: first ${first.toFixed(1)} ms, median ${times[3].toFixed(2)} ms (min ${times[0].toFixed(2)}, max ${times[6].toFixed(2)}); a length change ${change.toFixed(1)} µs`
    )
  }
}
