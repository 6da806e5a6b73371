/**
 * One episode: two real corestores (side A honest, side B honest plus the
 * puppet), one or more connections between them, and the checks.
 *
 * Side A holds multifeed X (abused by the puppet) and Y; side B holds Y and
 * plays X with the puppet on the same replication stream. On every
 * connection Y first reconciles (the honest bystander is established), then
 * the puppet sends its messages, then Y must still carry an append each way
 * within a bounded time. At the end X is closed and re-opened from its
 * store: it must hold every feed it had or announced, no key its policy
 * refused and no key the store holds for Y.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Hypercore } from '@multifeed/holepunch-types'
import Corestore from 'corestore'
import { Multifeed, type MultifeedOptions } from '../src/index.js'
import { replyAllowance } from '../src/replication/ReplyBudget.js'
import { Puppet } from './puppet.js'
import type { FindingKind } from './report.js'
import { Rng } from './rng.js'
import type { Mode, Replayable } from './roles.js'

const BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
/** Bounds: a step of the driver that takes longer is a hang. */
const SYNC_MS = 5_000
const CLOSE_MS = 10_000
const MAX_FEEDS = 512

export interface Context {
  episode: number
  connection: number
  mode: Mode | null
  aInitiator: boolean | null
  puppet: Puppet | null
}

export interface Recorder {
  readonly seed: number
  /** Control run: the puppet stays silent (stalls then are not caused by abuse). */
  readonly control: boolean
  /** Leave out the triggers of findings already reported (see PuppetOptions.skipKnown). */
  readonly skipKnown: boolean
  readonly context: Context
  record(kind: FindingKind, message: string, err?: unknown): void
  count(
    field: 'messages' | 'bytes' | 'replyBytes' | 'connections' | 'opens' | 'closes',
    n: number
  ): void
  /** The largest message A sent the puppet. */
  largestReply(bytes: number): void
  mode(mode: Mode): void
  ops(ops: Record<string, number>): void
  peerError(code: string): void
  reopen(result: {
    ok: boolean
    before: number
    after: number
    lost: number
    gained: string[]
    refused: number
    adopted: number
  }): void
  /** Messages left in the run (0: stop), and whether the deadline passed. */
  remaining(): number
  expired(): boolean
}

class HangError extends Error {}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not complete in ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) return false
    await sleep(5)
  }
  return true
}

const hex = (key: Buffer): string => key.toString('hex')

export async function runEpisode(rec: Recorder, episode: number, budget: number): Promise<void> {
  const rng = Rng.derive(rec.seed, episode)
  const ctx = rec.context
  ctx.episode = episode
  ctx.connection = 0
  ctx.mode = null
  ctx.aInitiator = null
  ctx.puppet = null
  const dirs = [
    await mkdtemp(join(BASE, 'multifeed-fuzz-a-')),
    await mkdtemp(join(BASE, 'multifeed-fuzz-b-'))
  ]
  const storeA = new Corestore(dirs[0]!, { primaryKey: rng.bytes(32), unsafe: true })
  const storeB = new Corestore(dirs[1]!, { primaryKey: rng.bytes(32), unsafe: true })
  const cleanup: Array<() => Promise<unknown>> = []
  try {
    const xKey = rng.bytes(32)
    const yKey = rng.bytes(32)
    // The keys X's policy refused: none may be in X after re-open.
    const refusedKeys = new Set<string>()
    const xOptions: MultifeedOptions = {
      limits: { maxFeeds: MAX_FEEDS },
      // Refuses keys whose first byte is 0: the puppet offers such keys on purpose.
      policy: {
        accept: (key) => {
          if (key[0] !== 0) return true
          refusedKeys.add(hex(key))
          return false
        }
      }
    }
    let x = await Multifeed.open(storeA, xKey, xOptions)
    const ya = await Multifeed.open(storeA, yKey)
    const yb = await Multifeed.open(storeB, yKey)
    cleanup.push(
      () => ya.close(),
      () => yb.close()
    )
    const wx = await x.writer('main')
    await wx.append([Buffer.from('x0'), Buffer.from('x1')])
    const wxKey = wx.key!
    const wxLength = wx.length
    await wx.close()
    const wya = await ya.writer('main')
    const wyb = await yb.writer('main')
    cleanup.push(
      () => wya.close(),
      () => wyb.close()
    )
    await wya.append(Buffer.from('ya0'))
    await wyb.append(Buffer.from('yb0'))

    const announced = new Set<string>(x.feeds().map((f) => hex(f.key)))
    x.on('feed', (info) => announced.add(hex(info.key)))
    x.on('peer-error', (err) => rec.peerError(err.code))
    for (const y of [ya, yb]) {
      y.on('peer-error', (err) =>
        rec.record('honest-error', `honest Y reported ${err.code}: ${err.message}`, err)
      )
    }
    const foreign = (): Buffer[] => [...ya.feeds(), ...yb.feeds()].map((f) => f.key)
    const replay: Replayable = { tokens: [], ids: [], capabilities: [], messages: [] }

    const connections = rng.range(1, 3)
    let left = budget
    for (let i = 1; i <= connections && left > 0 && !rec.expired(); i++) {
      const share = i === connections ? left : Math.ceil(left / (connections - i + 1))
      ctx.connection = i
      const sent = await runConnection(rec, rng, {
        x,
        ya,
        yb,
        wya,
        wyb,
        budget: Math.min(share, rec.remaining()),
        foreign,
        replay
      })
      left -= sent
    }
    ctx.mode = null
    ctx.aInitiator = null
    ctx.puppet = null

    // ---- reopen X from its store --------------------------------------------------
    const listed = x.feeds().map((f) => hex(f.key))
    await within(x.close(), CLOSE_MS, 'closing X')
    // Admissions still running when the connection closed may finish during close.
    const before = new Set([...announced, ...listed])
    x = await within(Multifeed.open(storeA, xKey, xOptions), CLOSE_MS, 're-opening X')
    const reopened = x
    cleanup.push(() => reopened.close())
    const after = new Set(x.feeds().map((f) => hex(f.key)))
    const foreignIds = new Set(foreign().map(hex))
    const lost = [...before].filter((id) => !after.has(id))
    const refused = [...after].filter((id) => refusedKeys.has(id))
    const adopted = [...after].filter((id) => foreignIds.has(id))
    const local = x.feed(wxKey)
    const problems: string[] = []
    if (lost.length > 0) problems.push(`lost ${lost.length} feeds (${lost[0]}…)`)
    if (refused.length > 0) problems.push(`holds ${refused.length} refused keys (${refused[0]})`)
    if (adopted.length > 0) problems.push(`adopted ${adopted.length} keys of Y (${adopted[0]})`)
    if (local === null || !local.local || local.length < wxLength) {
      problems.push(`local writer ${local === null ? 'missing' : `length ${local.length}`}`)
    }
    if (after.size > MAX_FEEDS) problems.push(`${after.size} feeds, above maxFeeds ${MAX_FEEDS}`)
    rec.reopen({
      ok: problems.length === 0,
      before: before.size,
      after: after.size,
      lost: lost.length,
      gained: [...after].filter((id) => !before.has(id)),
      refused: refused.length,
      adopted: adopted.length
    })
    if (problems.length > 0) rec.record('reopen', `X after re-open: ${problems.join('; ')}`)
  } catch (err) {
    rec.record(err instanceof HangError ? 'hang' : 'driver', (err as Error).message, err)
  } finally {
    for (const fn of cleanup.reverse()) {
      await within(fn(), CLOSE_MS, 'closing').catch((err) => rec.record('hang', err.message, err))
    }
    await within(Promise.all([storeA.close(), storeB.close()]), CLOSE_MS, 'closing stores').catch(
      (err) => rec.record('hang', err.message, err)
    )
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  }
}

interface Sides {
  x: Multifeed<unknown>
  ya: Multifeed<unknown>
  yb: Multifeed<unknown>
  wya: Hypercore<unknown>
  wyb: Hypercore<unknown>
  budget: number
  foreign(): Buffer[]
  replay: Replayable
}

/** One connection; resolves to the number of messages the puppet sent. */
async function runConnection(rec: Recorder, rng: Rng, s: Sides): Promise<number> {
  const ctx = rec.context
  const aInitiator = rng.chance(0.5)
  const drawn = rng.weighted<Mode>({ keyholder: 70, forger: 10, stranger: 20 })
  const mode: Mode = rec.control ? 'silent' : drawn
  ctx.aInitiator = aInitiator
  ctx.mode = mode
  ctx.puppet = null
  rec.mode(mode)
  rec.count('connections', 1)

  const sa = s.x.replicate(aInitiator)
  s.ya.attach(sa)
  const sb = s.yb.replicate(!aInitiator)
  let tearingDown = false
  let crashed = false
  const onClose = (side: string, stream: Duplex) => {
    let error: unknown = null
    stream.on('error', (err) => {
      error ??= err
    })
    stream.once('close', () => {
      if (tearingDown || crashed) return
      crashed = true
      // The other side's close follows; report the first one, with its error.
      queueMicrotask(() =>
        rec.record(
          'crash',
          `side ${side}'s replication stream was destroyed: ${(error as Error | null)?.message ?? 'no error'}`,
          error
        )
      )
    })
  }
  onClose('A', sa)
  onClose('B', sb)
  sa.pipe(sb).pipe(sa)

  let sent = 0
  let puppet: Puppet | null = null
  try {
    const noise = (sb as unknown as { noiseStream: { opened: Promise<boolean> } }).noiseStream
    if (!(await within(noise.opened, SYNC_MS, 'the Noise handshake'))) return 0
    // The honest bystander first: Y reconciled on both sides.
    const ready = await until(
      () =>
        crashed ||
        (s.ya.peers().some((p) => p.stream === noiseOf(sa) && p.reconciled) &&
          s.yb.peers().some((p) => p.stream === noiseOf(sb) && p.reconciled)),
      SYNC_MS
    )
    if (!ready) {
      rec.record('stall', 'honest Y did not reconcile before the puppet started')
      return 0
    }
    if (crashed) return 0

    const unproven = (peer: { stream: unknown }) => {
      if (mode !== 'keyholder' && peer.stream === noiseOf(sa)) {
        rec.record('unproven-peer', `X verified a ${mode} peer`)
      }
    }
    s.x.on('peer-add', unproven)
    puppet = new Puppet({
      rng: Rng.derive(rec.seed, ctx.episode, ctx.connection, 1),
      mode,
      stream: sb,
      key: s.x.key,
      xKeys: () => (s.x.closing ? [] : s.x.feeds().map((f) => f.key)),
      foreignKeys: s.foreign,
      reattach: () => {
        if (!s.x.closing && !sa.destroyed) s.x.attach(sa)
      },
      replay: s.replay,
      skipKnown: rec.skipKnown
    })
    ctx.puppet = puppet
    puppet.start()
    const maxSteps = s.budget * 4 + 16
    // A silent puppet makes progress by its steps (waits), not by messages.
    const progress = (p: Puppet) => (mode === 'silent' ? p.stats.steps : p.stats.sent)
    for (let step = 0; step < maxSteps && progress(puppet) < s.budget; step++) {
      if (crashed || rec.expired()) break
      await puppet.step()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await sleep(10)
    s.x.off('peer-add', unproven)
    for (const err of puppet.errors) rec.record('driver', `puppet: ${(err as Error).message}`, err)
    if (puppet.stats.strangerOpens > 0) {
      rec.record(
        'unproven-peer',
        `A opened ${puppet.stats.strangerOpens} channels a ${mode} opened`
      )
    }
    if (mode === 'stranger' && puppet.stats.remoteOpens > 0) {
      rec.record('unproven-peer', "A opened X's channel to a stranger")
    }
    const bound = replyBound(s.x.feeds().length, puppet.stats)
    if (puppet.stats.bytesReceived > bound) {
      rec.record(
        'amplification',
        `A sent ${puppet.stats.bytesReceived} B on X's channel for ${puppet.stats.bytes} B, over its bound of ${Math.round(bound)} B`
      )
    }

    // ---- the honest bystander still syncs, both ways ------------------------------------
    if (!crashed) {
      await s.wya.append(Buffer.from(`ya${s.wya.length}`))
      await s.wyb.append(Buffer.from(`yb${s.wyb.length}`))
      const a = s.wya.length
      const b = s.wyb.length
      const synced = await until(
        () =>
          crashed ||
          ((s.yb.feed(s.wya.key!)?.length ?? 0) >= a && (s.ya.feed(s.wyb.key!)?.length ?? 0) >= b),
        SYNC_MS
      )
      if (!synced) {
        rec.record(
          'stall',
          `honest Y did not carry an append within ${SYNC_MS} ms after the puppet's messages (B has ${s.yb.feed(s.wya.key!)?.length ?? 0}/${a}, A has ${s.ya.feed(s.wyb.key!)?.length ?? 0}/${b})`
        )
      }
    }
  } catch (err) {
    rec.record(err instanceof HangError ? 'hang' : 'driver', (err as Error).message, err)
  } finally {
    if (puppet !== null) {
      puppet.stop()
      puppet.leak()
      rec.count('messages', mode === 'silent' ? puppet.stats.steps : puppet.stats.sent)
      rec.count('bytes', puppet.stats.bytes)
      rec.count('replyBytes', puppet.stats.bytesReceived)
      rec.largestReply(puppet.stats.largestReceived)
      rec.count('opens', puppet.stats.remoteOpens)
      rec.count('closes', puppet.stats.remoteCloses)
      rec.ops(puppet.stats.ops)
      sent = mode === 'silent' ? puppet.stats.steps : puppet.stats.sent
    }
    tearingDown = true
    const closed = Promise.all([sa, sb].map(closedOf))
    sa.destroy()
    sb.destroy()
    await within(closed, CLOSE_MS, 'closing the connection').catch((err) =>
      rec.record('hang', err.message, err)
    )
  }
  return sent
}

function noiseOf(stream: Duplex): unknown {
  return (stream as unknown as { noiseStream: unknown }).noiseStream
}

function closedOf(stream: Duplex): Promise<void> {
  if (stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}

/**
 * The most A may send a peer on X's channel (README, Security notes): the
 * connection's reply allowance for a set of n feeds (one first sync, then
 * what the peer sent pays), an open of ours (≤ 1 KiB) for each open of the
 * peer's, an echo no larger than what the peer sent, and updates (one per
 * feed, 64 KiB of slack).
 */
function replyBound(n: number, stats: { bytes: number; remoteOpens: number }) {
  return (
    replyAllowance([n], stats.bytes) +
    1024 * (stats.remoteOpens + 1) +
    stats.bytes +
    41 * n +
    64 * 1024
  )
}
