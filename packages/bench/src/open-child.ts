// Child process for the open scenario, so that resident memory is measured in a
// clean process. Usage (run with --expose-gc):
//   node open-child.js multi <dir> <multifeed key hex> <expected feeds>
//   node open-child.js raw <dir> <file with one key hex per line> <expected feeds>
// Prints one JSON line: { ms, readyMs, rssBefore, rssAfter, rssReady, feeds }.
import { readFile } from 'node:fs/promises'
import type { Hypercore } from '@multifeed/holepunch-types'
import Corestore from 'corestore'
import { now } from './clock.js'

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) {
    g()
    g()
  }
}

async function main(): Promise<void> {
  const [mode, dir, arg, expectedArg] = process.argv.slice(2)
  if (!mode || !dir || !arg)
    throw new Error('usage: open-child <multi|raw> <dir> <key|keysFile> <n>')
  const expected = Number(expectedArg)
  // Load the library before the baseline so module code is not counted per feed.
  const core = mode === 'multi' ? await import('@multifeed/core') : null
  const store = new Corestore(dir)
  await store.ready()
  const keys =
    mode === 'raw'
      ? (await readFile(arg, 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((k) => Buffer.from(k, 'hex'))
      : []
  gc()
  const rssBefore = process.memoryUsage().rss
  let count: number
  /** Opens every feed's core and waits until each is ready. */
  let ready: () => Promise<void>
  let close: () => Promise<void>
  const t0 = now()
  if (core) {
    const multi = await core.Multifeed.open(store, Buffer.from(arg, 'hex'))
    // What the set knows of its feeds, without opening any core.
    const infos = multi.feeds()
    count = infos.length
    const sessions: Hypercore[] = []
    // Every feed ready: a session of each (sessions the caller owns and closes).
    ready = async () => {
      sessions.push(...(await Promise.all(infos.map((info) => multi.get(info.key)))))
    }
    close = async () => {
      await Promise.all(sessions.map((s) => s.close()))
      await multi.close()
    }
  } else {
    const feeds: Hypercore<unknown>[] = keys.map((key) => store.get({ key }))
    await Promise.all(feeds.map((f) => f.ready()))
    count = feeds.length
    ready = async () => {
      await Promise.all(feeds.map((f) => f.ready()))
    }
    close = async () => {}
  }
  const ms = now() - t0
  gc()
  const rssAfter = process.memoryUsage().rss
  await ready()
  const readyMs = now() - t0
  gc()
  const rssReady = process.memoryUsage().rss
  const result = { ms, readyMs, rssBefore, rssAfter, rssReady, feeds: count, expected }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await close()
  await store.close()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
