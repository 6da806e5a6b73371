#!/usr/bin/env node
// CPU profile of one measured sync, setup excluded: the V8 profiler (node:inspector)
// runs only from connect to synced.
//   node packages/bench/dist/profile.js --feeds 10000 --blocks 1 --transport pipe --side multi \
//     --out bench-results/prof/multi-10k-pipe.cpuprofile
// `--side multi-held`: multifeed with the source's cores held open by sessions taken before
// connecting, as raw's source holds its cores (the bench's multifeed source opens them lazily).
// `--side raw-cold` / `multi-cold`: the source's store re-opened before connecting, no feed
// core open (scenario 2's cold-source pair).
// Prints self time aggregated by package and by function (file:line), and writes
// the .cpuprofile (open it in Chrome DevTools or speedscope).
import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Loopback } from './net.js'
import { progress } from './progress.js'
import { RawSource, rawSync } from './raw.js'
import type { Transport } from './types.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

/** Which package a script URL belongs to: `core`, `networker`, `hypercore`, `node:internal`… */
export function packageOf(url: string): string {
  if (!url) return '(native/idle)'
  if (url.startsWith('node:')) return 'node'
  const ws = url.match(/\/packages\/([^/]+)\/dist\//)
  if (ws) return `@multifeed/${ws[1]}`
  const idx = url.lastIndexOf('/node_modules/')
  if (idx >= 0) {
    const rest = url.slice(idx + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  return url
}

function shortUrl(url: string): string {
  const ws = url.match(/\/packages\/([^/]+\/dist\/.*)$/)
  if (ws) return `packages/${ws[1]}`
  const idx = url.lastIndexOf('/node_modules/')
  if (idx >= 0) return url.slice(idx + '/node_modules/'.length)
  return url.replace(/^file:\/\//, '')
}

/** Self time per package and per function, from the profile's samples. */
export function summarize(profile: Profile, top = 40): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0) / 1000)
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byPkg = new Map<string, number>()
  const byFn = new Map<string, number>()
  for (const [id, ms] of self) {
    const node = byId.get(id)!
    const { functionName, url, lineNumber } = node.callFrame
    let pkg = packageOf(url)
    let fn = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`
    if (!url && !functionName.startsWith('(')) {
      // A native frame: V8 often names it after an unrelated native symbol, so
      // attribute it to the JS function that called it.
      const p = parent.get(id)
      const caller = p === undefined ? null : byId.get(p)!.callFrame
      pkg = caller?.url ? `${packageOf(caller.url)} (native)` : '(native, from the event loop)'
      fn = caller?.url
        ? `[native] ← ${caller.functionName || '(anonymous)'} ${shortUrl(caller.url)}:${caller.lineNumber + 1}`
        : '[native] from the event loop'
    }
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + ms)
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms)
  }
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(1).padStart(5)}%`
  const lines = [`total sampled: ${total.toFixed(0)} ms`, '', 'self time by package:']
  for (const [pkg, ms] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    lines.push(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${pkg}`)
  }
  lines.push('', 'self time by function:')
  for (const [fn, ms] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${fn}`)
  }
  return lines.join('\n')
}

/** Total time (self + callees) of the functions whose URL contains `match`, by function. */
export function inclusive(profile: Profile, match: string, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const incl = new Map<string, number>()
  let total = 0
  for (let i = 0; i < samples.length; i++) {
    const ms = (deltas[i] ?? 0) / 1000
    total += ms
    const seen = new Set<string>()
    let id: number | undefined = samples[i]
    while (id !== undefined) {
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame
      if (url.includes(match)) {
        const fn = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
        if (!seen.has(fn)) {
          seen.add(fn)
          incl.set(fn, (incl.get(fn) ?? 0) + ms)
        }
      }
      id = parent.get(id)
    }
  }
  const lines = [`inclusive time of functions in ${match}:`]
  for (const [fn, ms] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(
      `  ${((ms / total) * 100).toFixed(1).padStart(5)}% ${ms.toFixed(0).padStart(7)} ms  ${fn}`
    )
  }
  return lines.join('\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      feeds: { type: 'string', default: '10000' },
      blocks: { type: 'string', default: '1' },
      size: { type: 'string', default: '1024' },
      transport: { type: 'string', default: 'pipe' },
      side: { type: 'string', default: 'multi' },
      out: { type: 'string', default: 'bench-results/prof/sync.cpuprofile' }
    }
  })
  const shape = {
    feeds: Number(values.feeds),
    blocks: Number(values.blocks),
    blockSize: Number(values.size)
  }
  const transport = values.transport as Transport
  const loopback = transport === 'swarm' ? await Loopback.create() : null
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  let profile: Profile | null = null
  let ms: number
  // Stopped as soon as the reader is synced, before the teardown.
  const stop = async () => {
    profile = (await session.post('Profiler.stop')).profile as unknown as Profile
  }
  progress(`setup ${JSON.stringify(shape)} (${values.side}, ${transport})`)
  if (values.side === 'raw' || values.side === 'raw-cold') {
    const source = await RawSource.create(shape)
    if (values.side === 'raw-cold') await source.prepare('cold')
    await session.post('Profiler.start')
    ms = (await rawSync(source, transport, loopback, 600_000, { synced: stop })).ms
    await source.close()
  } else {
    const { MultiSource, multiSync } = await import('./multi.js')
    const source = await MultiSource.create(shape)
    if (values.side === 'multi-held') await source.prepare('warm')
    if (values.side === 'multi-cold') await source.prepare('cold')
    await session.post('Profiler.start')
    ms = (await multiSync(source, transport, loopback, 600_000, { synced: stop })).ms
    await source.close()
  }
  await loopback?.close()
  session.disconnect()
  if (profile === null) throw new Error('no profile')
  const out = resolve(values.out)
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, JSON.stringify(profile))
  process.stdout.write(`sync ${ms.toFixed(0)} ms; profile ${out}\n\n${summarize(profile)}\n\n`)
  for (const pkg of ['/packages/core/', '/packages/networker/', '/packages/bench/']) {
    process.stdout.write(`${inclusive(profile, pkg)}\n\n`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
