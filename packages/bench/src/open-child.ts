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
  let feeds: Hypercore<unknown>[]
  let close: () => Promise<void>
  const t0 = now()
  if (core) {
    const multi = await core.Multifeed.open(store, Buffer.from(arg, 'hex'))
    feeds = multi.feeds()
    close = () => multi.close()
  } else {
    feeds = keys.map((key) => store.get({ key }))
    await Promise.all(feeds.map((f) => f.ready()))
    close = async () => {}
  }
  const ms = now() - t0
  gc()
  const rssAfter = process.memoryUsage().rss
  await Promise.all(feeds.map((f) => f.ready()))
  const readyMs = now() - t0
  gc()
  const rssReady = process.memoryUsage().rss
  const result = { ms, readyMs, rssBefore, rssAfter, rssReady, feeds: feeds.length, expected }
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
