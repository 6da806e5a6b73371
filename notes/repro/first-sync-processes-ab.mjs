// Where the serving side's extra CPU goes in the two-process first sync
// (notes/first-sync-processes.md §3): the source in a child process, as the
// bench's `process` rows, and four runs per rep alternating (the order reversed
// on odd reps): raw warm, raw cold, multifeed cold, multifeed warm (a session
// of every feed held in the child before the clock). Raw cold against raw warm
// is what hypercore's open of each core costs the serving side by itself;
// multifeed warm against raw warm is what multifeed's own serving work costs
// with no core to open.
//   pnpm build && node notes/repro/first-sync-processes-ab.mjs [feeds=1000] [blocks=10] [reps=2]
import { ProcessSource, processSync } from '../../packages/bench/dist/process-source.js'

const feeds = Number(process.argv[2] ?? 1000)
const blocks = Number(process.argv[3] ?? 10)
const reps = Number(process.argv[4] ?? 2)
const shape = { feeds, blocks, blockSize: 1024 }
const timeoutMs = 900_000
const runs = [
  ['raw', 'warm'],
  ['raw', 'cold'],
  ['multi', 'cold'],
  ['multi', 'warm']
]
const sources = {
  raw: await ProcessSource.create('raw', shape, timeoutMs),
  multi: await ProcessSource.create('multi', shape, timeoutMs)
}
const results = {}
try {
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? runs : [...runs].reverse()
    for (const [side, temperature] of order) {
      const open = await sources[side].prepare(temperature)
      const r = await processSync(sources[side], timeoutMs, open)
      const name = `${side} ${temperature}`
      results[name] = [...(results[name] ?? []), r]
      console.log(
        `rep ${rep + 1} ${name}: wall ${(r.ms / 1000).toFixed(2)} s, reader cpu ${(r.cpuMs / 1000).toFixed(2)} s, source cpu ${(r.sourceCpuMs / 1000).toFixed(2)} s, ${open} open`
      )
    }
  }
} finally {
  await sources.raw.close()
  await sources.multi.close()
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const base = results['raw warm']
for (const [name, rs] of Object.entries(results)) {
  const ratio = (k) => (med(rs.map((r) => r[k])) / med(base.map((r) => r[k]))).toFixed(2)
  console.log(
    `${name}: against raw warm, wall ${ratio('ms')}, reader cpu ${ratio('cpuMs')}, source cpu ${ratio('sourceCpuMs')}`
  )
}
