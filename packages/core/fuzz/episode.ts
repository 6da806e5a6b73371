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
 *
 * In part of the episodes X is a moderated set (X a member, the founder's
 * identity kept by the driver): the key holder also sends moderation records,
 * valid and hostile (records.ts). Then X's peers must count every record
 * they took (added or refused), and at the end, once the valid history is
 * handed to X whole, X's moderators and blocked set must be what the valid
 * records alone give, with at most MAX_PENDING records held beyond them.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Hypercore } from '@multifeed/holepunch-types'
import Corestore from 'corestore'
import crypto from 'hypercore-crypto'
import { Multifeed, type MultifeedOptions } from '../src/index.js'
import { evaluate } from '../src/moderation/evaluate.js'
import { createModeratedSet, formatInvite } from '../src/moderation/invite.js'
import type { RecordsSummary } from '../src/protocol/messages.js'
import { RecordIndex } from '../src/replication/RecordIndex.js'
import { replyAllowance } from '../src/replication/ReplyBudget.js'
import { recordsOf } from '../src/set/SetModeration.js'
import type { PeerStats } from '../src/types.js'
import { Puppet } from './puppet.js'
import { RecordForge } from './records.js'
import type { FindingKind } from './report.js'
import { Rng } from './rng.js'
import type { Mode, Replayable } from './roles.js'

const BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
/** Bounds: a step of the driver that takes longer is a hang. */
const SYNC_MS = 5_000
const CLOSE_MS = 10_000
const MAX_FEEDS = 512
/** Share of the episodes whose X is a moderated set (the puppet then also sends records). */
const MODERATED_SHARE = 0.4
/** Records a moderated X may hold waiting for a past that never comes (RecordBook's default). */
const MAX_PENDING = 1024

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
  /** A moderated X's records: what the puppet sent, by attack, and what X's peers counted. */
  records(sent: Record<string, number>, counted: RecordCounts): void
  moderatedEpisode(): void
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

/** What X's peers of one connection counted of the records the puppet sent. */
export interface RecordCounts {
  received: number
  added: number
  refused: Record<string, number>
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
  // Drawn apart from `rng`, so that a plain episode's draws stay what they were.
  const modRng = Rng.derive(rec.seed, episode, 0, 14)
  const moderated = modRng.chance(MODERATED_SHARE)
  try {
    // A moderated X: founded by an identity the driver keeps (its records come
    // from the puppet, as from the founder's other device); X is a member.
    const founder = crypto.keyPair(modRng.bytes(32))
    const setId = createModeratedSet(founder.publicKey, (n) => modRng.bytes(n))
    const identity = crypto.keyPair(modRng.bytes(32))
    const forge = moderated ? new RecordForge(modRng, setId.signingKey, founder) : null
    const plainKey = rng.bytes(32)
    const yKey = rng.bytes(32)
    // The keys X's policy refused: none may be in X after re-open.
    const refusedKeys = new Set<string>()
    const xOptions: MultifeedOptions = {
      ...(moderated ? { identity } : {}),
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
    let x = await Multifeed.open(storeA, moderated ? formatInvite(setId)! : plainKey, xOptions)
    const xKey = x.key
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
        replay,
        forge
      })
      left -= sent
    }
    ctx.mode = null
    ctx.aInitiator = null
    ctx.puppet = null

    if (forge !== null) {
      rec.moderatedEpisode()
      await checkRecords(rec, x, forge, identity.publicKey)
    }

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
  forge: RecordForge | null
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
  // X's peers on this connection (one per open of X's channel): their record counters.
  const xPeers: Array<{ stats: PeerStats }> = []
  const ours = (peer: { stream: unknown; stats: PeerStats }) => {
    if (peer.stream === noiseOf(sa)) xPeers.push(peer)
  }
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
    s.x.on('peer-add', ours)
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
      skipKnown: rec.skipKnown,
      forge: s.forge,
      recordsSummary: s.forge === null ? null : (hash) => recordsSummary(s.x, hash)
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
    s.x.off('peer-add', ours)
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
    const records = s.x.moderation === null ? 0 : recordsOf(s.x.moderation).size
    const bound = replyBound(s.x.feeds().length, records, puppet.stats)
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
    if (s.forge !== null && puppet !== null && s.x.moderation !== null) {
      // Every record X took from the puppet was taken by now (the set takes in turn).
      await within(recordsOf(s.x.moderation).receive([]), CLOSE_MS, 'taking records').catch((err) =>
        rec.record('hang', err.message, err)
      )
      checkCounts(rec, puppet.stats.records, puppet.stats.recordsInMessages, xPeers)
    }
  }
  return sent
}

/** What X's open would say of its records now: a puppet announcing it is in sync. */
function recordsSummary(x: Multifeed<unknown>, hash: Buffer): RecordsSummary {
  const moderation = recordsOf(x.moderation!)
  const index = new RecordIndex(x.key, moderation)
  return index.summary(hash, index.shared())
}

/** Check-level refusals: each says a record was not taken (the rule's reasons are told of records taken too). */
const NOT_TAKEN = ['malformed', 'signature', 'feed-key', 'duplicate', 'full'] as const

/**
 * Every record X's peers received is accounted for: added, or refused with a
 * reason (a record added may also be refused by the rule: `unauthorized`
 * dropped or kept, `revoked`), never more received than the puppet sent.
 */
function checkCounts(
  rec: Recorder,
  sent: Record<string, number>,
  total: number,
  peers: Array<{ stats: PeerStats }>
): void {
  const counted: RecordCounts = { received: 0, added: 0, refused: {} }
  for (const { stats } of peers) {
    counted.received += stats.recordsReceived
    counted.added += stats.recordsAdded
    for (const [reason, n] of Object.entries(stats.recordsRefused)) {
      counted.refused[reason] = (counted.refused[reason] ?? 0) + n
    }
  }
  rec.records(sent, counted)
  const refused = Object.values(counted.refused).reduce((a, b) => a + b, 0)
  const notTaken = NOT_TAKEN.reduce((a, reason) => a + (counted.refused[reason] ?? 0), 0)
  const problems: string[] = []
  if (counted.received > total) problems.push(`received ${counted.received} of ${total} sent`)
  if (counted.added + refused < counted.received) {
    problems.push(
      `${counted.received - counted.added - refused} received, neither added nor refused`
    )
  }
  if (counted.added + notTaken > counted.received) {
    problems.push(`added ${counted.added} + not taken ${notTaken} > received ${counted.received}`)
  }
  if (problems.length > 0) {
    rec.record(
      'records',
      `X's record counters: ${problems.join('; ')} (${JSON.stringify(counted)})`
    )
  }
}

/**
 * X's moderators and blocked set are what the valid history gives (with X's
 * own records): the history is handed to X whole, as an honest peer would,
 * and whatever else the puppet sent must change nothing. X holds at most
 * MAX_PENDING records beyond its own and the history.
 */
async function checkRecords(
  rec: Recorder,
  x: Multifeed<unknown>,
  forge: RecordForge,
  identity: Buffer
): Promise<void> {
  const moderation = recordsOf(x.moderation!)
  await within(
    moderation.receive(forge.history.map((r) => r.bytes)),
    CLOSE_MS,
    'taking the history'
  )
  const held = [...moderation.records()]
  const own = held.filter((r) => r.record.signer.equals(identity))
  const expected = evaluate(forge.founder.publicKey, [...own, ...forge.history])
  const hexes = (keys: Buffer[]) => keys.map(hex).sort().join(',')
  const problems: string[] = []
  if (hexes(x.moderation!.moderators()) !== hexes(expected.moderators)) {
    problems.push('moderators differ from the valid records alone')
  }
  const blocked = x
    .moderation!.blocked()
    .map((b) =>
      'feed' in b.target ? `feed:${hex(b.target.feed)}` : `identity:${hex(b.target.identity)}`
    )
    .sort()
  const blockedExpected = [...expected.blocked.keys()].sort()
  if (blocked.join() !== blockedExpected.join()) {
    problems.push(
      `blocked ${blocked.length} targets, the valid records alone block ${blockedExpected.length}`
    )
  }
  const beyond = held.length - own.length - forge.history.length
  if (beyond > MAX_PENDING) problems.push(`holds ${beyond} records beyond the valid ones`)
  if (problems.length > 0) rec.record('records', `X's moderation: ${problems.join('; ')}`)
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
function replyBound(n: number, records: number, stats: { bytes: number; remoteOpens: number }) {
  return (
    replyAllowance([n], stats.bytes, [records]) +
    1024 * (stats.remoteOpens + 1) +
    stats.bytes +
    41 * n +
    64 * 1024
  )
}
