// Scenario 9, parent side: open cost against the number of feeds. For each
// size, child processes (open-scale-child.ts, --expose-gc) build the stores
// once — a multifeed of n feeds added by key with `multi.add(randomKey)` in
// batches of 1,000 (no core is created), the same multifeed and keys for the
// peer, and two corestores holding one empty core per key for raw — then each
// repetition opens both peers in two fresh processes (memory measured in each),
// connects them over TCP on 127.0.0.1 and replicates until in sync.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { progress } from './progress.js'
import { rmDir, tmpDir } from './tempStorage.js'

const CHILD = fileURLToPath(new URL('./open-scale-child.js', import.meta.url))

/** The child process of scenario 14 (mirror-scale-child.ts), run as this one. */
export const MIRROR_CHILD = fileURLToPath(new URL('./mirror-scale-child.js', import.meta.url))

/** What one peer process measured. */
export interface OpenMeasure {
  /** Scenario 14's children: 'mirror' (the measured one) or 'member'. */
  mode: 'multi' | 'raw' | 'mirror' | 'member'
  feeds: number
  openMs: number
  /** From connect to in sync (multifeed: `reconciled`; raw: every core heard from the peer); null: stalled. */
  syncMs: number | null
  /** Not in sync within the sync timeout (the pairing stall, findings issue 7 §1). */
  stalled: boolean
  relay: 'plain' | 'split'
  inSync: boolean | null
  heapBefore: number
  rssBefore: number
  heapOpen: number
  rssOpen: number
  heapSync: number
  rssSync: number
  /** Cores open in the root corestore after open and after the sync. */
  openCores: number
  syncCores: number
  wireBytes: number
  /** ArrayBuffers (Buffers, typed arrays) after gc(): memory outside the V8 heap. */
  arrayBuffersBefore: number
  arrayBuffersOpen: number
  arrayBuffersSync: number
}

export interface OpenScaleSize {
  n: number
  buildMs: { multi: number | null; raw: number | null }
  /** The measured peer (the one that dials), per repetition. */
  multi: OpenMeasure[]
  raw: OpenMeasure[]
  /** Multifeed repetitions that stalled over plain TCP (then re-run with frames split). */
  multiStalls: number
  multiError?: string
  rawError?: string
}

/** Runs a child (open-scale-child.js unless `script`) to completion; resolves with its JSON lines. */
export function run(
  args: string[],
  timeoutMs: number,
  script = CHILD
): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const lines: Array<Record<string, unknown>> = []
    let stderr = ''
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)))
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(lines)
      else
        reject(
          new Error(
            `open-scale child ${args[0]} ${signal ? `killed (${signal}) after ${timeoutMs} ms` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`
          )
        )
    })
  })
}

/** Spawns a peer process; `lines` yields its JSON lines one by one. */
function peer(
  args: string[],
  script: string
): {
  child: ChildProcess
  next: () => Promise<Record<string, unknown>>
} {
  const child = spawn(process.execPath, ['--expose-gc', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const queue: Array<Record<string, unknown>> = []
  const waiters: Array<(line: Record<string, unknown>) => void> = []
  let stderr = ''
  let failed: Error | null = null
  const fail: Array<(err: Error) => void> = []
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const value = JSON.parse(line) as Record<string, unknown>
    const w = waiters.shift()
    if (w) {
      fail.shift()
      w(value)
    } else queue.push(value)
  })
  child.on('close', (code) => {
    failed = new Error(
      `open-scale peer exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`
    )
    for (const f of fail.splice(0)) f(failed)
    waiters.length = 0
  })
  child.stdin!.on('error', () => {})
  return {
    child,
    next: () =>
      new Promise((resolve, reject) => {
        const queued = queue.shift()
        if (queued) return resolve(queued)
        if (failed) return reject(failed)
        waiters.push(resolve)
        fail.push(reject)
      })
  }
}

function bounded<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  kill: ChildProcess[]
): Promise<T> {
  let timer: NodeJS.Timeout | null = null
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const c of kill) c.kill('SIGKILL')
        reject(new Error(`timed out after ${ms} ms: ${what}`))
      }, ms)
    })
  ]).finally(() => {
    if (timer) clearTimeout(timer)
  })
}

/**
 * One repetition: B opens and listens, then A opens and dials; A's numbers are returned,
 * with B's wire bytes in `peerWireBytes`. `modeB`: B's mode when not A's (scenario 14: a
 * member serving the mirror A); `script`: the child (default open-scale-child.js).
 */
export async function openPair(
  mode: OpenMeasure['mode'],
  dirA: string,
  dirB: string,
  arg: string,
  timeoutMs: number,
  syncTimeoutMs: number,
  relay: 'plain' | 'split',
  modeB: OpenMeasure['mode'] = mode,
  script = CHILD
): Promise<OpenMeasure & { peerWireBytes: number }> {
  const b = peer(['open', modeB, dirB, arg, 'listen', String(syncTimeoutMs), relay], script)
  let a: ReturnType<typeof peer> | null = null
  try {
    const { port } = (await bounded(b.next(), timeoutMs, `${mode} peer B open`, [b.child])) as {
      port: number
    }
    a = peer(['open', mode, dirA, arg, String(port), String(syncTimeoutMs), relay], script)
    const kill = [a.child, b.child]
    const [resA, resB] = await bounded(
      Promise.all([a.next(), b.next()]),
      timeoutMs,
      `${mode} open + sync`,
      kill
    )
    return { ...(resA as unknown as OpenMeasure), peerWireBytes: Number(resB.wireBytes) }
  } finally {
    for (const p of [a, b]) {
      if (!p) continue
      p.child.stdin!.end()
      if (p.child.exitCode === null) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            p.child.kill('SIGKILL')
            resolve()
          }, 10_000)
          p.child.once('close', () => {
            clearTimeout(t)
            resolve()
          })
        })
      }
    }
  }
}

/** Builds the four stores of one size, measures `reps` opens of each kind, removes them. */
export async function openScale(
  n: number,
  reps: number,
  timeoutMs: number,
  rawMax: number,
  rawReps = reps,
  stallMs = 20_000
): Promise<OpenScaleSize> {
  const root = await tmpDir(`open9-${n}`)
  const dirs = {
    keys: join(root, 'keys.txt'),
    ma: join(root, 'multi-a'),
    mb: join(root, 'multi-b'),
    ra: join(root, 'raw-a'),
    rb: join(root, 'raw-b')
  }
  const size: OpenScaleSize = {
    n,
    buildMs: { multi: null, raw: null },
    multi: [],
    raw: [],
    multiStalls: 0
  }
  const syncTimeoutMs = Math.min(timeoutMs, stallMs)
  try {
    let key = ''
    try {
      const [built] = await run(['build', dirs.ma, String(n), dirs.keys], timeoutMs)
      key = String(built!.key)
      size.buildMs.multi = Number(built!.ms)
      await run(['build', dirs.mb, String(n), dirs.keys, key], timeoutMs)
      progress(
        `  open ${n}: multifeed of ${n} feeds built by add() in ${Math.round(Number(built!.ms))} ms`
      )
      for (let rep = 0; rep < reps; rep++) {
        let res = await openPair('multi', dirs.ma, dirs.mb, key, timeoutMs, syncTimeoutMs, 'plain')
        if (res.stalled) {
          size.multiStalls++
          progress(
            `  open ${n} rep ${rep + 1}: multifeed not in sync after ${syncTimeoutMs} ms over TCP (pairing stall); again with frames split`
          )
          res = await openPair('multi', dirs.ma, dirs.mb, key, timeoutMs, timeoutMs, 'split')
          if (res.stalled)
            throw new Error(`not in sync after ${timeoutMs} ms, even with frames split`)
        }
        size.multi.push(res)
        progress(
          `  open ${n} rep ${rep + 1}: multifeed open ${res.openMs.toFixed(0)} ms, RSS ${(res.rssOpen / 2 ** 20).toFixed(0)} MiB; in sync ${res.syncMs?.toFixed(0)} ms`
        )
      }
    } catch (err) {
      size.multiError = err instanceof Error ? err.message : String(err)
      progress(`  open ${n} multifeed failed: ${size.multiError}`)
    }
    if (n > rawMax) {
      size.rawError = `raw not measured above ${rawMax} feeds (--open-raw-max)`
    } else if (key) {
      try {
        const [built] = await run(['build-raw', dirs.ra, dirs.keys], timeoutMs)
        size.buildMs.raw = Number(built!.ms)
        await run(['build-raw', dirs.rb, dirs.keys], timeoutMs)
        progress(
          `  open ${n}: raw stores of ${n} cores built in ${Math.round(Number(built!.ms))} ms`
        )
        for (let rep = 0; rep < rawReps; rep++) {
          const res = await openPair(
            'raw',
            dirs.ra,
            dirs.rb,
            dirs.keys,
            timeoutMs,
            timeoutMs,
            'plain'
          )
          if (res.stalled) throw new Error(`raw not in sync after ${timeoutMs} ms`)
          size.raw.push(res)
          progress(
            `  open ${n} rep ${rep + 1}: raw open ${res.openMs.toFixed(0)} ms, RSS ${(res.rssOpen / 2 ** 20).toFixed(0)} MiB; in sync ${res.syncMs?.toFixed(0)} ms`
          )
        }
      } catch (err) {
        size.rawError = err instanceof Error ? err.message : String(err)
        progress(`  open ${n} raw failed: ${size.rawError}`)
      }
    }
  } finally {
    await rmDir(root)
  }
  return size
}
