// Scenario 5, open: `Multifeed.open` on a fresh corestore over a directory
// that holds the feeds (the reader's remote feeds and the writer's own), and
// raw's `get({ key })` + `ready()` of every key, each in a child process
// (../open-child.ts, --expose-gc) for a clean RSS: time and RSS per feed. The
// directories come from reconnect-and-open.ts.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { fmtMs, progress } from '../progress.js'
import { med } from '../statistics.js'
import { rmDir, tmpDir } from '../tempStorage.js'
import type { ScenarioContext } from './context.js'
import { errorMessage, sideErrors } from './rows.js'
import type { Samples } from './samples.js'

const KiB = 1024

/**
 * `rawDir` holds the raw reader's cores (`rawKeys`); `multiDir` the multifeed
 * reader's store and `localDir` the writer's, both of the multifeed `multiKey`
 * (all three null when multifeed's setup failed: `multiError`).
 */
export async function open(
  ctx: ScenarioContext,
  n: number,
  rawDir: string,
  rawKeys: string[],
  multiDir: string | null,
  multiKey: string | null,
  localDir: string | null,
  multiError: string | undefined
): Promise<void> {
  progress('scenario 5: open')
  const { reps } = ctx.cfg
  const caseName = `${n.toLocaleString('en-US')} feeds`
  const keysDir = await tmpDir('keys')
  const keysFile = join(keysDir, 'keys.txt')
  await writeFile(keysFile, `${rawKeys.join('\n')}\n`)
  const raw: OpenResult[] = []
  const remote: OpenResult[] = []
  const local: OpenResult[] = []
  const s: Samples = { multi: [], raw: [], multiError }
  let localError: string | undefined
  try {
    for (let rep = 0; rep < reps; rep++) {
      if (!s.rawError) {
        try {
          const res = await openChild('raw', rawDir, keysFile, n)
          raw.push(res)
          progress(`  open rep ${rep + 1}: raw ${fmtMs(res.ms)}`)
        } catch (err) {
          s.rawError = errorMessage(err)
        }
      }
      if (!s.multiError && multiDir && multiKey) {
        try {
          const res = await openChild('multi', multiDir, multiKey, n)
          remote.push(res)
          progress(`  open rep ${rep + 1}: multifeed (remote feeds) ${fmtMs(res.ms)}`)
        } catch (err) {
          s.multiError = errorMessage(err)
          progress(`  open multifeed failed: ${s.multiError}`)
        }
      }
      if (!localError && localDir && multiKey) {
        try {
          const res = await openChild('multi', localDir, multiKey, n)
          local.push(res)
          progress(`  open rep ${rep + 1}: multifeed (local writers) ${fmtMs(res.ms)}`)
        } catch (err) {
          localError = errorMessage(err)
        }
      }
    }
  } finally {
    await rmDir(keysDir)
  }
  const error = sideErrors(s.multiError, s.rawError)
  const perFeed = (r: OpenResult, key: 'rssAfter' | 'rssReady') =>
    (r[key] - r.rssBefore) / KiB / Math.max(1, r.expected)
  const openMs = med(remote.map((r) => r.ms))
  ctx.push({
    scenario: '5 open',
    case: `${caseName} (remote, on the reader)`,
    transport: 'disk',
    metric: 'open time',
    unit: 'ms',
    multifeed: openMs,
    raw: med(raw.map((r) => r.ms)),
    target: '≤ 1 s',
    met: openMs === null ? null : openMs <= 1000,
    samples: { multifeed: remote.map((r) => r.ms), raw: raw.map((r) => r.ms) },
    extra: {
      multifeed: 'Multifeed.open resolved',
      raw: 'store.get({ key }) + ready() for every key',
      multifeedAllFeedsReadyMs: med(remote.map((r) => r.readyMs)) ?? Number.NaN
    },
    error
  })
  ctx.push({
    scenario: '5 open',
    case: `${caseName} (remote, on the reader)`,
    transport: 'disk',
    metric: 'RSS per feed after open',
    unit: 'KiB/feed',
    multifeed: med(remote.map((r) => perFeed(r, 'rssAfter'))),
    raw: med(raw.map((r) => perFeed(r, 'rssAfter'))),
    target: null,
    samples: {
      multifeed: remote.map((r) => perFeed(r, 'rssAfter')),
      raw: raw.map((r) => perFeed(r, 'rssAfter'))
    },
    extra: {
      multifeedAfterAllReady: med(remote.map((r) => perFeed(r, 'rssReady'))) ?? Number.NaN
    },
    error
  })
  const localMs = med(local.map((r) => r.ms))
  ctx.push({
    scenario: '5 open',
    case: `${caseName} (local writers, on the writer)`,
    transport: 'disk',
    metric: 'open time',
    unit: 'ms',
    multifeed: localMs,
    raw: null,
    target: '≤ 1 s',
    met: localMs === null ? null : localMs <= 1000,
    samples: { multifeed: local.map((r) => r.ms), raw: [] },
    extra: {
      multifeedAllFeedsReadyMs: med(local.map((r) => r.readyMs)) ?? Number.NaN,
      rssPerFeedKiB: med(local.map((r) => perFeed(r, 'rssAfter'))) ?? Number.NaN
    },
    error: localError ? `multifeed: ${localError}` : error
  })
}

interface OpenResult {
  ms: number
  readyMs: number
  rssBefore: number
  rssAfter: number
  rssReady: number
  feeds: number
  expected: number
}

const execFileP = promisify(execFile)

async function openChild(
  mode: 'raw' | 'multi',
  dir: string,
  arg: string,
  expected: number
): Promise<OpenResult> {
  const script = fileURLToPath(new URL('../open-child.js', import.meta.url))
  const { stdout } = await execFileP(
    process.execPath,
    ['--expose-gc', script, mode, dir, arg, String(expected)],
    { maxBuffer: 1024 * 1024, timeout: 300_000 }
  )
  const res = JSON.parse(stdout.trim().split('\n').at(-1)!) as OpenResult
  if (res.feeds !== expected) {
    throw new Error(`opened ${res.feeds} feeds, expected ${expected}`)
  }
  return res
}
