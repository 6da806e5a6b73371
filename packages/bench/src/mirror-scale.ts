// Scenario 14, parent side: one mirror process holding many encrypted sets. Child
// processes (mirror-scale-child.ts, --expose-gc) build the stores once — a member
// store of `sets` sets × `feeds` feeds added by key, and a mirror store that followed
// every set — then each repetition opens the mirror (every set, one corestore) in a
// fresh process, measured, and reconnects it over one TCP connection to a process
// holding the member store, in sync. Raw corestore: the same feed keys as cores of
// one store on each side (what a blind store registering each core would hold),
// measured by open-scale-child.ts as scenario 9's raw side.
import { join } from 'node:path'
import { MIRROR_CHILD, type OpenMeasure, openPair, run } from './open-scale.js'
import { progress } from './progress.js'
import { rmDir, tmpDir } from './tempStorage.js'

export type PairMeasure = OpenMeasure & { peerWireBytes: number }

export interface MirrorScaleResult {
  sets: number
  feeds: number
  buildMs: { multi: number | null; raw: number | null }
  /** The mirror's process (it dials), per repetition. */
  mirror: PairMeasure[]
  raw: PairMeasure[]
  /** Mirror repetitions not in sync over plain TCP in `stallMs` (then re-run with frames split). */
  stalls: number
  multiError?: string
  rawError?: string
}

export interface MirrorScaleOptions {
  sets: number
  feeds: number
  reps: number
  rawReps: number
  timeoutMs: number
  stallMs: number
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`

export async function mirrorScale(opts: MirrorScaleOptions): Promise<MirrorScaleResult> {
  const { sets, feeds } = opts
  const root = await tmpDir(`mirror14-${sets}x${feeds}`)
  const d = {
    member: join(root, 'member'),
    mirror: join(root, 'mirror'),
    sets: join(root, 'sets.txt'),
    feedKeys: join(root, 'feeds.txt'),
    ra: join(root, 'raw-a'),
    rb: join(root, 'raw-b')
  }
  const res: MirrorScaleResult = {
    sets,
    feeds,
    buildMs: { multi: null, raw: null },
    mirror: [],
    raw: [],
    stalls: 0
  }
  const label = `${sets} sets × ${feeds} feeds`
  try {
    await measure(res, d, label, opts)
  } finally {
    await rmDir(root)
  }
  return res
}

async function measure(
  res: MirrorScaleResult,
  d: Record<'member' | 'mirror' | 'sets' | 'feedKeys' | 'ra' | 'rb', string>,
  label: string,
  opts: MirrorScaleOptions
): Promise<void> {
  const { sets, feeds, reps, rawReps, timeoutMs, stallMs } = opts
  try {
    const args = [d.member, d.mirror, String(sets), String(feeds), d.sets, d.feedKeys]
    const [built] = await run(['build', ...args], timeoutMs * 4, MIRROR_CHILD)
    res.buildMs.multi = Number(built!.ms)
    progress(`  ${label}: member store and its mirror built in ${Math.round(res.buildMs.multi)} ms`)
    const syncTimeoutMs = Math.min(timeoutMs, stallMs)
    for (let rep = 0; rep < reps; rep++) {
      const pair = (relay: 'plain' | 'split', ms: number) =>
        openPair('mirror', d.mirror, d.member, d.sets, timeoutMs, ms, relay, 'member', MIRROR_CHILD)
      let m = await pair('plain', syncTimeoutMs)
      if (m.stalled) {
        res.stalls++
        progress(
          `  ${label} rep ${rep + 1}: not in sync in ${syncTimeoutMs} ms; again, frames split`
        )
        m = await pair('split', timeoutMs)
        if (m.stalled) throw new Error(`not in sync after ${timeoutMs} ms, even with frames split`)
      }
      if (m.inSync !== true) throw new Error('a set was not in sync at the reconnect')
      res.mirror.push(m)
      progress(
        `  ${label} rep ${rep + 1}: mirror open ${m.openMs.toFixed(0)} ms, RSS ${mib(m.rssOpen)}; in-sync reconnect ${m.syncMs?.toFixed(0)} ms, ${m.wireBytes + m.peerWireBytes} B`
      )
    }
  } catch (err) {
    res.multiError = err instanceof Error ? err.message : String(err)
    progress(`  ${label} mirror failed: ${res.multiError}`)
  }
  if (res.buildMs.multi !== null) {
    try {
      const [built] = await run(['build-raw', d.ra, d.feedKeys], timeoutMs * 4)
      res.buildMs.raw = Number(built!.ms)
      await run(['build-raw', d.rb, d.feedKeys], timeoutMs * 4)
      progress(`  ${label}: raw stores of ${sets * feeds} cores built`)
      for (let rep = 0; rep < rawReps; rep++) {
        const r = await openPair('raw', d.ra, d.rb, d.feedKeys, timeoutMs, timeoutMs, 'plain')
        if (r.stalled) throw new Error(`raw not in sync after ${timeoutMs} ms`)
        res.raw.push(r)
        progress(
          `  ${label} rep ${rep + 1}: raw open ${r.openMs.toFixed(0)} ms, RSS ${mib(r.rssOpen)}; in-sync reconnect ${r.syncMs?.toFixed(0)} ms, ${r.wireBytes + r.peerWireBytes} B`
        )
      }
    } catch (err) {
      res.rawError = err instanceof Error ? err.message : String(err)
      progress(`  ${label} raw failed: ${res.rawError}`)
    }
  }
}
