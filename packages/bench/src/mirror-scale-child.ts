// Child process of scenario 14 (a mirror of many sets in one process), so that
// memory is measured in a clean process. Run with --expose-gc.
//
//   build <memberDir> <mirrorDir> <sets> <feeds> <setsFile> <feedKeysFile>
//       a member store of `sets` encrypted sets of `feeds` feeds each, added by key
//       (random keys with their admission tags, no core created), and a mirror store
//       that followed every set over one pipe (mirror keys) until in sync; the sets'
//       member and mirror keys written to setsFile (hex, one set a line), every feed
//       key to feedKeysFile (hex, one a line: raw corestore's cores, open-scale-child)
//   open <member|mirror> <dir> <setsFile> <listen | PORT> <syncTimeoutMs> [plain|split]
//       opens every set of setsFile with the member or the mirror key (one corestore),
//       measured; then listens on 127.0.0.1 (prints {"port"}) or connects to PORT and
//       replicates every set over that one connection with the peer process until each
//       set has reconciled (or `stalled` after syncTimeoutMs), measured; prints one JSON
//       line (open-scale.ts OpenMeasure) and waits for stdin to close.
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { Multifeed, ReplicationStream } from '@multifeed/core'
import CorestoreClass from 'corestore'
import { memory, out, syncAndReport } from './childPeer.js'
import { now } from './clock.js'
import { destroyStreams } from './net.js'

interface SetKeys {
  member: Buffer
  mirror: Buffer
}

async function readSets(file: string): Promise<SetKeys[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [member, mirror] = line.split(' ')
      return { member: Buffer.from(member!, 'hex'), mirror: Buffer.from(mirror!, 'hex') }
    })
}

async function build(
  memberDir: string,
  mirrorDir: string,
  sets: number,
  feeds: number,
  setsFile: string,
  feedKeysFile: string
): Promise<void> {
  const t0 = now()
  const memberStore = new CorestoreClass(memberDir)
  const members: Multifeed[] = []
  const feedKeys: Buffer[] = []
  for (let s = 0; s < sets; s++) {
    const multi = await Multifeed.open(memberStore, null, { encrypted: true })
    const keys = Array.from({ length: feeds }, () => randomBytes(32))
    await Promise.all(keys.map((k) => multi.add(k)))
    feedKeys.push(...keys)
    members.push(multi)
  }
  const memberMs = now() - t0
  const mirrorStore = new CorestoreClass(mirrorDir)
  const mirrors: Multifeed[] = []
  for (const m of members) mirrors.push(await Multifeed.open(mirrorStore, m.mirrorKey!))
  const a = ReplicationStream.for(memberStore, true).stream
  const b = ReplicationStream.for(mirrorStore, false).stream
  a.pipe(b).pipe(a)
  for (const m of members) m.attach(a)
  for (const m of mirrors) m.attach(b)
  await Promise.all(mirrors.map((m) => m.synced({ minPeers: 1, timeout: 3_600_000 })))
  for (const m of mirrors) {
    if (m.feeds().length !== feeds) throw new Error(`mirror holds ${m.feeds().length} feeds`)
  }
  await destroyStreams(a, b)
  await writeFile(
    setsFile,
    members.map((m) => `${m.key.toString('hex')} ${m.mirrorKey!.toString('hex')}\n`).join('')
  )
  await writeFile(feedKeysFile, feedKeys.map((k) => `${k.toString('hex')}\n`).join(''))
  for (const m of [...members, ...mirrors]) await m.close()
  await memberStore.close()
  await mirrorStore.close()
  out({ ms: now() - t0, memberMs })
}

async function open(
  tier: string,
  dir: string,
  setsFile: string,
  role: string,
  timeoutMs: number,
  relay: string
): Promise<void> {
  const sets = await readSets(setsFile)
  const store = new CorestoreClass(dir)
  await store.ready()
  const before = memory()
  const t0 = now()
  const multis: Multifeed[] = []
  for (const set of sets) {
    multis.push(await Multifeed.open(store, tier === 'mirror' ? set.mirror : set.member))
  }
  const openMs = now() - t0
  const feeds = countFeeds(multis)
  const opened = memory()
  const openCores = coresOf(store)

  const sync = (initiator: boolean) => {
    const stream = ReplicationStream.for(store, initiator).stream
    let reconciled = 0
    let inSync = true
    // In sync: every set reconciled, each with nothing to exchange.
    const done = new Promise<boolean>((resolve) => {
      for (const multi of multis) {
        multi.once('reconciled', (_peer, info) => {
          if (!info.inSync) inSync = false
          if (++reconciled === multis.length) resolve(inSync)
        })
      }
    })
    for (const multi of multis) multi.attach(stream)
    return { stream, done }
  }
  const fields = { mode: tier, feeds, sets: multis.length, openMs }
  const cores = (): number => coresOf(store)
  await syncAndReport(role, relay, timeoutMs, { fields, before, opened, openCores }, sync, cores)
}

/** Feeds listed, in a frame of its own (see open-scale-child.ts countFeeds). */
function countFeeds(multis: Multifeed[]): number {
  return multis.reduce((n, m) => n + m.feeds().length, 0)
}

function coresOf(store: unknown): number {
  return (store as { cores: { size: number } }).cores.size
}

async function main(): Promise<void> {
  const [command, ...a] = process.argv.slice(2)
  if (command === 'build') {
    return build(a[0]!, a[1]!, Number(a[2]), Number(a[3]), a[4]!, a[5]!)
  }
  if (command === 'open') return open(a[0]!, a[1]!, a[2]!, a[3]!, Number(a[4]), a[5] ?? 'plain')
  throw new Error('usage: mirror-scale-child build|open …')
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
