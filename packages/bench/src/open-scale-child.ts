// Child process of scenario 9 (open cost against the number of feeds), so that
// memory is measured in a clean process. Run with --expose-gc.
//
//   build <dir> <n> <keysFile> [key]   a multifeed of n feeds added by key (random keys, no
//                                 core opened or created), its key printed, the keys written to
//                                 keysFile; with `key`: that multifeed with the keys of keysFile
//   build-raw <dir> <keysFile>    a corestore holding one (empty) core per key: get({ key }) + ready()
//   open <multi|raw> <dir> <multifeed key hex | keysFile> <listen | PORT> <syncTimeoutMs> [plain|split]
//       opens the multifeed (Multifeed.open) or every core (get({ key }) + ready()), measured;
//       then listens on 127.0.0.1 (prints {"port"}) or connects to PORT, replicates with the
//       peer process holding the same feeds until in sync (or `stalled` after syncTimeoutMs),
//       measured; prints one JSON line and waits for stdin to close.

import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import type { Duplex } from 'node:stream'
import type { Hypercore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { memory, out, syncAndReport } from './childPeer.js'
import { now, sleep } from './clock.js'

async function readKeys(file: string): Promise<Buffer[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((k) => Buffer.from(k, 'hex'))
}

async function build(dir: string, n: number, keysFile: string, key?: string): Promise<void> {
  const { Multifeed } = await import('@multifeed/core')
  const store = new CorestoreClass(dir)
  // The peer's copy: the same multifeed and keys (a store directory cannot be copied).
  const keys = key ? await readKeys(keysFile) : Array.from({ length: n }, () => randomBytes(32))
  const multi = await Multifeed.open(store, key ?? null, { limits: { maxFeeds: Math.max(n, 1) } })
  const t0 = now()
  for (let i = 0; i < n; i += 1000) {
    await Promise.all(keys.slice(i, i + 1000).map((k) => multi.add(k)))
  }
  const ms = now() - t0
  if (multi.feeds().length !== n) throw new Error(`built ${multi.feeds().length} feeds, not ${n}`)
  if (!key) await writeFile(keysFile, `${keys.map((k) => k.toString('hex')).join('\n')}\n`)
  const multifeedKey = multi.key.toString('hex')
  await multi.close()
  await store.close()
  out({ key: multifeedKey, ms })
}

async function buildRaw(dir: string, keysFile: string): Promise<void> {
  const keys = await readKeys(keysFile)
  const store = new CorestoreClass(dir)
  const t0 = now()
  for (let i = 0; i < keys.length; i += 500) {
    const cores = keys.slice(i, i + 500).map((key) => store.get({ key }))
    await Promise.all(cores.map((c) => c.ready()))
    await Promise.all(cores.map((c) => c.close()))
  }
  const ms = now() - t0
  await store.close()
  out({ ms })
}

async function open(
  mode: string,
  dir: string,
  arg: string,
  role: string,
  timeoutMs: number,
  relay: string
): Promise<void> {
  const core = mode === 'multi' ? await import('@multifeed/core') : null
  const keys = mode === 'raw' ? await readKeys(arg) : []
  const store = new CorestoreClass(dir)
  await store.ready()
  const before = memory()
  const t0 = now()
  let feeds = 0
  let sync: (initiator: boolean) => { stream: Duplex; done: Promise<boolean | null> }
  if (core) {
    const multi = await core.Multifeed.open(store, Buffer.from(arg, 'hex'), {
      limits: { maxFeeds: 1_000_000 }
    })
    feeds = countFeeds(multi)
    sync = (initiator) => {
      const done = new Promise<boolean | null>((resolve) =>
        multi.once('reconciled', (_peer, info) => resolve(info.inSync))
      )
      return { stream: multi.replicate(initiator), done }
    }
  } else {
    const cores: Hypercore[] = keys.map((key) => store.get({ key }))
    await Promise.all(cores.map((c) => c.ready()))
    feeds = cores.length
    sync = (initiator) => {
      const stream = store.replicate(initiator)
      const done = (async () => {
        let i = 0
        for (;;) {
          while (i < cores.length && cores[i]!.peers.some((p) => isSynced(p))) i++
          if (i === cores.length) return null
          await sleep(10)
        }
      })()
      return { stream, done }
    }
  }
  const openMs = now() - t0
  const opened = memory()
  const openCores = (store as unknown as { cores: { size: number } }).cores.size

  const cores = (): number => (store as unknown as { cores: { size: number } }).cores.size
  const fields = { mode, feeds, openMs }
  await syncAndReport(role, relay, timeoutMs, { fields, before, opened, openCores }, sync, cores)
}

/**
 * How many feeds `feeds()` lists, in a frame of its own: read inline, the
 * list of FeedInfo snapshots stayed reachable from the async function's
 * frame and was measured as part of the open (≈ 70 B per feed).
 */
function countFeeds(multi: { feeds(): unknown[] }): number {
  return multi.feeds().length
}

function isSynced(peer: unknown): boolean {
  return (peer as { remoteSynced?: boolean }).remoteSynced === true
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2)
  if (command === 'build') return build(args[0]!, Number(args[1]), args[2]!, args[3])
  if (command === 'build-raw') return buildRaw(args[0]!, args[1]!)
  if (command === 'open') {
    return open(args[0]!, args[1]!, args[2]!, args[3]!, Number(args[4]), args[5] ?? 'plain')
  }
  throw new Error('usage: open-scale-child build|build-raw|open …')
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
