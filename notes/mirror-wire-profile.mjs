// The in-sync reconnect of a mirror of many sets, both sides in one process over a
// pipe, in CPU time (notes/mirror-wire.md). Builds the stores with scenario 14's
// child (`build`) unless DIR holds them, opens the member and the mirror sets,
// then reconnects them over one pipe until every set reconciled, and prints wall
// and CPU time (both sides) and the wire bytes each way.
//
//   node notes/mirror-wire-profile.mjs REPO DIR SETS FEEDS [MINOR] [PROFILE.cpuprofile]
//
// MINOR: the pairing minor both sides speak (default this library's; 2: before
// deferred sketches; '-' for the default). PROFILE: a CPU profile of the
// reconnect alone (the inspector's profiler, started after the opens), with its
// top self times printed. Run from the repo root after `pnpm build`.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [repo, dir, setsArg, feedsArg, minorArg, profileFile] = process.argv.slice(2)
const sets = Number(setsArg)
const feeds = Number(feedsArg)
const root = resolve(repo)
const d = (name) => join(dir, name)
if (!existsSync(d('sets.txt'))) {
  const child = join(root, 'packages/bench/dist/mirror-scale-child.js')
  const args = [
    d('member'),
    d('mirror'),
    String(sets),
    String(feeds),
    d('sets.txt'),
    d('feeds.txt')
  ]
  execFileSync(process.execPath, ['--expose-gc', child, 'build', ...args], { stdio: 'inherit' })
}
const core = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href)
const Corestore = createRequire(join(root, 'packages/bench/package.json'))('corestore')
const { Multifeed, ReplicationStream } = core
const lines = (await readFile(d('sets.txt'), 'utf8')).split('\n').filter(Boolean)
const memberStore = new Corestore(d('member'))
const mirrorStore = new Corestore(d('mirror'))
const members = []
const mirrors = []
const o0 = process.cpuUsage()
for (const line of lines) {
  const [member, mirror] = line.split(' ').map((h) => Buffer.from(h, 'hex'))
  members.push(await Multifeed.open(memberStore, member))
  mirrors.push(await Multifeed.open(mirrorStore, mirror))
}
const o1 = process.cpuUsage(o0)
console.log(
  `opened ${lines.length} sets twice: CPU ${((o1.user + o1.system) / 1000).toFixed(0)} ms`
)

const ra = ReplicationStream.for(memberStore, true)
const rb = ReplicationStream.for(mirrorStore, false)
if (minorArg !== undefined && minorArg !== '-') {
  ra.speakMinor(Number(minorArg))
  rb.speakMinor(Number(minorArg))
}
const bytes = { ab: 0, ba: 0 }
for (const [stream, key] of [
  [ra.stream, 'ab'],
  [rb.stream, 'ba']
]) {
  const push = stream.push.bind(stream)
  stream.push = (chunk) => {
    if (chunk) bytes[key] += chunk.byteLength
    return push(chunk)
  }
}
let reconciled = 0
let inSync = true
const done = new Promise((resolve) => {
  for (const m of mirrors) {
    m.once('reconciled', (_peer, info) => {
      if (!info.inSync) inSync = false
      if (++reconciled === mirrors.length) resolve()
    })
  }
})
const session = profileFile === undefined ? null : new Session()
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)))
  )
if (session !== null) {
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 200 })
  await post('Profiler.start')
}
const t0 = performance.now()
const c0 = process.cpuUsage()
ra.stream.pipe(rb.stream).pipe(ra.stream)
for (const m of members) m.attach(ra.stream)
for (const m of mirrors) m.attach(rb.stream)
await done
const c1 = process.cpuUsage(c0)
const wall = performance.now() - t0
console.log(
  `reconnect of ${lines.length} sets (in sync: ${inSync}): wall ${wall.toFixed(0)} ms, CPU (both sides) ${((c1.user + c1.system) / 1000).toFixed(0)} ms, wire ${bytes.ab} B + ${bytes.ba} B = ${bytes.ab + bytes.ba} B`
)
if (session !== null) {
  const { profile } = await post('Profiler.stop')
  await writeFile(profileFile, JSON.stringify(profile))
  top(profile)
}
ra.stream.destroy()
rb.stream.destroy()
for (const m of [...members, ...mirrors]) await m.close()
await memberStore.close()
await mirrorStore.close()

/** The 25 functions with the most self time in `profile`, and their share. */
function top(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const total = profile.samples.length
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + 1)
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)
  for (const [name, n] of rows)
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`)
}
