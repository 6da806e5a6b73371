// Scenario 17, moderated sets (issue 14's figures), over pipes in this process:
// 1. a block in a mesh: time from `block()` until no member serves the feed
//    (each member's `moderation` event, emitted once F is removed, purged and
//    refused there), p50 / p99 over the rounds, and the blocks of F moved after
//    the block reached a member (../moderation/BlockMesh.ts);
// 2. an in-sync reconnect of two members holding n feeds and 0 / … records,
//    beside a plain set of the same n feeds (raw corestore's in-sync figure at n
//    is scenario 8's, d = 0: the report sets it beside these);
// 3. a reconnect after d new records made while apart (founder's side);
// 4. CPU to verify n records against n bare Ed25519 verifications.
// Records are signed outside the set and written to the founder's log while it
// is closed (../moderation/records.ts says why): block() itself costs O(records).
import type { IdentityKeyPair } from '@multifeed/core'
import CorestoreClass from 'corestore'
import hypercoreCrypto from 'hypercore-crypto'
import { now } from '../clock.js'
import { BlockMesh, type BlockRound } from '../moderation/BlockMesh.js'
import {
  BLOCK_ALL,
  BLOCK_CALL,
  BLOCK_ONE,
  IN_SYNC_PROTOCOL,
  IN_SYNC_WIRE,
  MODERATION_SCENARIO,
  MOVED_AFTER,
  NEW_OVERHEAD,
  NEW_PROTOCOL,
  NEW_WIRE,
  VERIFY
} from '../moderation/metrics.js'
import { appendToLog, blockRecords } from '../moderation/records.js'
import { type VerifySample, verifyCost } from '../moderation/verify.js'
import { fmtMs, progress } from '../progress.js'
import { freshStore } from '../raw.js'
import { MultiReconnectPair, type ReconnectOptions, type ReconnectSample } from '../reconnect.js'
import { med, percentile } from '../statistics.js'
import { rmDir } from '../tempStorage.js'
import type { ScenarioContext } from './context.js'
import { errorMessage } from './rows.js'

type Core = typeof import('@multifeed/core')

export async function moderation(ctx: ScenarioContext): Promise<void> {
  progress('scenario 17: moderated sets')
  const core: Core = await import('@multifeed/core')
  await blockInMesh(ctx, core)
  await reconnects(ctx, core)
  await verification(ctx)
  await blockCall(ctx, core)
}

const p = (values: number[], q: number) => (values.length ? percentile(values, q) : null)

async function blockInMesh(ctx: ScenarioContext, core: Core): Promise<void> {
  const { peers, rounds, entries, blockSize } = ctx.cfg.moderation.mesh
  const size = `${peers} peers, F of ${entries} × ${blockSize === 1024 ? '1 KiB' : `${blockSize} B`}`
  // Rounds alternate: F blocked while it spreads (the founder has just listed it), and
  // once every member holds it (a quiet mesh: what the record's own travel costs).
  const kinds = [
    { spread: false, name: `${size}, blocked while it spreads`, done: [] as BlockRound[] },
    { spread: true, name: `${size}, blocked once every member holds it`, done: [] as BlockRound[] }
  ]
  let error: string | undefined
  let mesh: BlockMesh | null = null
  try {
    progress(`  ${size}: mesh of pipes, ${rounds} blocks of each kind`)
    mesh = await BlockMesh.create(core, peers)
    for (let i = 0; i < 2 * rounds; i++) {
      const kind = kinds[i % 2]!
      const r = await mesh.round(entries, blockSize, ctx.cfg.timeoutMs, kind.spread)
      kind.done.push(r)
      progress(
        `  block ${i + 1} (${kind.spread ? 'F held by all' : 'F spreading'}): every member ${fmtMs(Math.max(...r.perPeer))}, each ${r.perPeer.map((t) => t.toFixed(0)).join(' ')} ms; ${r.uploadsAfter} uploads / ${r.downloadsAfter} downloads of F after, ${r.uploadsBefore} before`
      )
    }
  } catch (err) {
    error = errorMessage(err)
    progress(`  block in a mesh failed: ${error}`)
  } finally {
    await mesh?.close()
  }
  for (const { name, done } of kinds) blockRows(ctx, name, done, error)
}

function blockRows(
  ctx: ScenarioContext,
  name: string,
  done: BlockRound[],
  error: string | undefined
): void {
  const all = done.map((r) => Math.max(...r.perPeer))
  const each = done.flatMap((r) => r.perPeer)
  const extra = {
    rounds: done.length,
    uploadsBeforeMedian: med(done.map((r) => r.uploadsBefore)) ?? Number.NaN,
    membersHoldingNoneMedian: med(done.map((r) => r.neverHeld)) ?? Number.NaN
  }
  const row = (metric: string, unit: 'ms' | 'count', value: number | null, samples: number[]) => {
    const counted = unit === 'count'
    ctx.push({
      scenario: MODERATION_SCENARIO,
      case: name,
      transport: 'pipe',
      metric,
      unit,
      multifeed: value,
      raw: null,
      target: counted ? '= 0' : null,
      met: counted && value !== null ? value === 0 : null,
      samples: { multifeed: samples, raw: [] },
      extra,
      ...(error ? { error } : {})
    })
  }
  row(`${BLOCK_ALL}, p50`, 'ms', p(all, 50), all)
  row(`${BLOCK_ALL}, p99`, 'ms', p(all, 99), all)
  row(`${BLOCK_ONE}, p50`, 'ms', p(each, 50), each)
  row(`${BLOCK_ONE}, p99`, 'ms', p(each, 99), each)
  const sum = (f: (r: BlockRound) => number) =>
    done.length ? done.reduce((s, r) => s + f(r), 0) : null
  row(
    `${MOVED_AFTER} uploaded by a member after the block reached it`,
    'count',
    sum((r) => r.uploadsAfter),
    done.map((r) => r.uploadsAfter)
  )
  row(
    `${MOVED_AFTER} downloaded by a member after the block reached it`,
    'count',
    sum((r) => r.downloadsAfter),
    done.map((r) => r.downloadsAfter)
  )
}

async function reconnects(ctx: ScenarioContext, core: Core): Promise<void> {
  const { feeds: n, records, ds } = ctx.cfg.moderation
  const { reps, timeoutMs } = ctx.cfg
  const opts: ReconnectOptions = { lockstep: false, quietMs: 0, timeoutMs }
  const feeds = `${n.toLocaleString('en-US')} feeds`
  const inSync = (samples: ReconnectSample[]) => ({
    wire: samples.map((s) => s.wireBytes),
    protocol: samples.map((s) => s.protocolBytes ?? Number.NaN)
  })

  let plain: { wire: number[]; protocol: number[] } = { wire: [], protocol: [] }
  let plainError: string | undefined
  try {
    progress(`  setup: a plain set of ${feeds} (half on each side, one block each), first sync`)
    const pair = await MultiReconnectPair.create(core, n, timeoutMs)
    try {
      const samples: ReconnectSample[] = []
      for (let rep = 0; rep < reps; rep++) samples.push(await pair.reconnect(0, opts))
      plain = inSync(samples)
      progress(`  plain set, in sync: ${plain.wire.join(', ')} wire B`)
    } finally {
      await pair.close()
    }
  } catch (err) {
    plainError = errorMessage(err)
    progress(`  plain set failed: ${plainError}`)
  }
  const plainWire = med(plain.wire)
  const plainProtocol = med(plain.protocol)
  const inSyncRows = (
    label: string,
    s: { wire: number[]; protocol: number[] },
    error: string | undefined,
    extra: Record<string, number | string>
  ) => {
    for (const [metric, values, plainValue] of [
      [IN_SYNC_WIRE, s.wire, plainWire],
      [IN_SYNC_PROTOCOL, s.protocol, plainProtocol]
    ] as const) {
      const value = med(values)
      ctx.push({
        scenario: MODERATION_SCENARIO,
        case: `${feeds}, ${label}`,
        transport: 'pipe',
        metric,
        unit: 'B',
        multifeed: value,
        raw: null,
        // Issue 14: ≤ 1 KiB on the wire in total at 10,000 feeds and 1,000 records.
        target: metric === IN_SYNC_WIRE ? '≤ 1 KiB' : null,
        met: metric === IN_SYNC_WIRE && value !== null ? value <= 1024 : null,
        samples: { multifeed: [...values], raw: [] },
        extra: {
          ...extra,
          ...(plainValue !== null && value !== null
            ? { plainSet: plainValue, toPlainSet: value / plainValue }
            : {})
        },
        ...(error ? { error } : {})
      })
    }
  }
  inSyncRows('plain set', plain, plainError, {})

  const founder: IdentityKeyPair = hypercoreCrypto.keyPair()
  const held = new Map<number, { wire: number[]; protocol: number[] }>()
  const news = new Map<number, { s: ReconnectSample[]; bytes: number[] }>()
  let modError: string | undefined
  try {
    progress(
      `  setup: a moderated set of ${feeds} (each writer bound: ${n} bind records), first sync`
    )
    const pair = await MultiReconnectPair.create(core, n, timeoutMs, founder)
    try {
      const key = pair.key
      let count = 0
      let last: Buffer | null = null
      const seed = async (k: number) => {
        const made = await blockRecords(key, founder, k, last)
        last = made.at(-1)?.id ?? last
        count += k
        await pair.reopen(0, (store) => appendToLog(store, key, made))
        return made.reduce((sum, r) => sum + r.bytes.byteLength, 0)
      }
      for (const r of [...records].sort((a, b) => a - b)) {
        if (r > count) {
          progress(`  ${r - count} records to the founder's log, synced to the member`)
          await seed(r - count)
          await pair.reconnect(r, opts)
        }
        const samples: ReconnectSample[] = []
        for (let rep = 0; rep < reps; rep++) samples.push(await pair.reconnect(0, opts))
        held.set(r, inSync(samples))
        progress(`  moderated, ${r} records, in sync: ${held.get(r)!.wire.join(', ')} wire B`)
      }
      for (const d of ds) {
        const got = { s: [] as ReconnectSample[], bytes: [] as number[] }
        news.set(d, got)
        for (let rep = 0; rep < reps; rep++) {
          got.bytes.push(await seed(d))
          got.s.push(await pair.reconnect(d, opts))
          const s = got.s.at(-1)!
          progress(
            `  ${d} new records (${got.bytes.at(-1)} B of records): ${s.protocolBytes} protocol B, ${s.wireBytes} wire B`
          )
        }
      }
    } finally {
      await pair.close()
    }
  } catch (err) {
    modError = errorMessage(err)
    progress(`  moderated set failed: ${modError}`)
  }
  for (const r of records) {
    inSyncRows(
      `${r.toLocaleString('en-US')} records`,
      held.get(r) ?? { wire: [], protocol: [] },
      held.has(r) ? undefined : (modError ?? 'not measured'),
      { bindRecords: n, records: r }
    )
  }
  const most = Math.max(...records)
  const inSyncProtocol = med(held.get(most)?.protocol ?? [])
  for (const d of ds) {
    const got = news.get(d) ?? { s: [], bytes: [] }
    const error = got.s.length ? undefined : (modError ?? 'not measured')
    const recordBytes = med(got.bytes)
    const overhead = got.s.map(
      (s, i) => (s.protocolBytes ?? Number.NaN) - got.bytes[i]! - (inSyncProtocol ?? Number.NaN)
    )
    const base = {
      scenario: MODERATION_SCENARIO,
      case: `d = ${d} new records, ${feeds}, ${most.toLocaleString('en-US')} records held`,
      transport: 'pipe' as const,
      unit: 'B' as const,
      raw: null,
      target: null,
      extra: { d, recordBytes: recordBytes ?? Number.NaN },
      ...(error ? { error } : {})
    }
    for (const [metric, values] of [
      [NEW_WIRE, got.s.map((s) => s.wireBytes)],
      [NEW_PROTOCOL, got.s.map((s) => s.protocolBytes ?? Number.NaN)],
      [NEW_OVERHEAD, overhead]
    ] as const) {
      ctx.push({ ...base, metric, multifeed: med(values), samples: { multifeed: values, raw: [] } })
    }
  }
}

async function verification(ctx: ScenarioContext): Promise<void> {
  const n = ctx.cfg.moderation.verify
  let samples: VerifySample[] = []
  let error: string | undefined
  try {
    samples = await verifyCost(n, ctx.cfg.reps)
    for (const s of samples) {
      progress(
        `  verify ${n} records: ${fmtMs(s.recordsMs)} CPU; ${n} Ed25519 verifications: ${fmtMs(s.ed25519Ms)}`
      )
    }
  } catch (err) {
    error = errorMessage(err)
    progress(`  verification failed: ${error}`)
  }
  const records = samples.map((s) => s.recordsMs)
  const ed25519 = samples.map((s) => s.ed25519Ms)
  const base = {
    scenario: MODERATION_SCENARIO,
    case: `${n.toLocaleString('en-US')} block records`,
    transport: 'cpu' as const,
    target: null,
    extra: { recordBytes: samples[0]?.recordBytes ?? Number.NaN },
    ...(error ? { error } : {})
  }
  ctx.push({
    ...base,
    metric: VERIFY,
    unit: 'ms',
    multifeed: med(records),
    raw: med(ed25519),
    samples: { multifeed: records, raw: ed25519 }
  })
  const per = (v: number[]) => v.map((ms) => (ms * 1000) / n)
  ctx.push({
    ...base,
    metric: `${VERIFY}, per record`,
    unit: 'µs',
    multifeed: med(per(records)),
    raw: med(per(ed25519)),
    samples: { multifeed: per(records), raw: per(ed25519) }
  })
}

/**
 * What one `block()` costs the founder as records pile up: a set alone (no
 * peer), holding r records (written to its log while closed), then 5 calls
 * timed one by one (each signs, appends to the log, evaluates the rule again).
 */
async function blockCall(ctx: ScenarioContext, core: Core): Promise<void> {
  const calls = 5
  for (const r of ctx.cfg.moderation.records) {
    const samples: number[] = []
    let error: string | undefined
    const { dir, store } = await freshStore('mod14-calls')
    let reopened: InstanceType<typeof CorestoreClass> | null = null
    try {
      const founder: IdentityKeyPair = hypercoreCrypto.keyPair()
      const first = await core.Multifeed.open(store, null, { moderated: true, identity: founder })
      const key = first.key
      await first.close()
      await appendToLog(store, key, await blockRecords(key, founder, r))
      await store.close()
      reopened = new CorestoreClass(dir)
      const multi = await core.Multifeed.open(reopened, key, { identity: founder })
      try {
        for (let i = 0; i < calls; i++) {
          const t0 = now()
          await multi.moderation!.block({ feed: hypercoreCrypto.randomBytes(32) })
          samples.push(now() - t0)
        }
      } finally {
        await multi.close()
      }
      progress(`  block() with ${r} records held: ${samples.map(fmtMs).join(', ')}`)
    } catch (err) {
      error = errorMessage(err)
      progress(`  block() with ${r} records held failed: ${error}`)
    } finally {
      await reopened?.close().catch(() => {})
      await store.close().catch(() => {})
      await rmDir(dir)
    }
    ctx.push({
      scenario: MODERATION_SCENARIO,
      case: `${r.toLocaleString('en-US')} records held, no peer`,
      transport: 'disk',
      metric: BLOCK_CALL,
      unit: 'ms',
      multifeed: med(samples),
      raw: null,
      target: null,
      samples: { multifeed: samples, raw: [] },
      ...(error ? { error } : {})
    })
  }
}
