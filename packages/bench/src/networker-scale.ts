// Networker scale: two networkers sharing M multifeeds on the loopback testnet.
// Measures, for each M, the time until every swarm() of both sides resolved,
// until every multifeed paired on the connection (peer-multifeed on both sides),
// and each side's close(). Run: pnpm bench --networker-scale [10,100,300,1000]
import { Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import { Networker } from '@multifeed/networker'
import CorestoreClass from 'corestore'
import { now, withTimeout } from './clock.js'
import { Loopback } from './net.js'
import { progress } from './progress.js'
import { rmDir, tmpDir } from './tempStorage.js'
import type { Row } from './types.js'

export const NETWORKER_SCALE_SIZES = [10, 100, 300, 1000]
const SCENARIO = 'networker scale'
/** Generous bound per step: the old networker took 13 s to close 300 multifeeds. */
const STEP_TIMEOUT_MS = 180_000

interface Side {
  dir: string
  store: Corestore
  multis: Multifeed[]
  net: Networker | null
}

async function openSide(label: string, keys: Buffer[] | null, count: number): Promise<Side> {
  const dir = await tmpDir(`netscale-${label}`)
  const store = new CorestoreClass(dir)
  const multis: Multifeed[] = []
  for (let i = 0; i < count; i++) multis.push(await Multifeed.open(store, keys?.[i]))
  return { dir, store, multis, net: null }
}

/** Resolves once `net` saw every multifeed of `multis` pair with a peer. */
function allPaired(net: Networker, count: number): Promise<void> {
  const paired = new Set<Multifeed<unknown>>()
  return new Promise((resolve) => {
    const check = (): void => {
      if (paired.size < count) return
      net.off('peer-multifeed', onPaired)
      resolve()
    }
    const onPaired = (_peer: unknown, multi: Multifeed<unknown>): void => {
      paired.add(multi)
      check()
    }
    net.on('peer-multifeed', onPaired)
    check()
  })
}

async function measure(count: number): Promise<Record<string, number>> {
  const loopback = await Loopback.create()
  const a = await openSide('a', null, count)
  const b = await openSide(
    'b',
    a.multis.map((m) => m.key),
    count
  )
  try {
    a.net = new Networker(a.store, { dht: loopback.node() })
    b.net = new Networker(b.store, { dht: loopback.node() })
    const netA = a.net
    const netB = b.net
    const paired = Promise.all([allPaired(netA, count), allPaired(netB, count)])
    const t0 = now()
    await withTimeout(
      Promise.all([...a.multis.map((m) => netA.swarm(m)), ...b.multis.map((m) => netB.swarm(m))]),
      STEP_TIMEOUT_MS,
      `swarm() of ${count} multifeeds`
    )
    const swarmMs = now() - t0
    await withTimeout(paired, STEP_TIMEOUT_MS, `${count} multifeeds paired`)
    const pairedMs = now() - t0
    const t1 = now()
    await withTimeout(netA.close(), STEP_TIMEOUT_MS, 'close() of A')
    const closeAMs = now() - t1
    const t2 = now()
    await withTimeout(netB.close(), STEP_TIMEOUT_MS, 'close() of B')
    const closeBMs = now() - t2
    return { swarmMs, pairedMs, closeAMs, closeBMs }
  } finally {
    for (const side of [a, b]) {
      await side.net?.close().catch(() => {})
      for (const m of side.multis) await m.close().catch(() => {})
      await side.store.close().catch(() => {})
      await rmDir(side.dir)
    }
    await loopback.close()
  }
}

function row(
  count: number,
  metric: string,
  value: number,
  target: string | null,
  met: boolean | null,
  extra?: Row['extra']
): Row {
  return {
    scenario: SCENARIO,
    case: `${count.toLocaleString('en-US')} multifeeds`,
    transport: 'swarm',
    metric,
    unit: 'ms',
    multifeed: value,
    raw: null,
    ratio: null,
    target,
    met,
    samples: { multifeed: [value], raw: [] },
    ...(extra ? { extra } : {})
  }
}

/** One run per size (each a fresh testnet and fresh stores). */
export async function runNetworkerScale(sizes: number[] = NETWORKER_SCALE_SIZES): Promise<Row[]> {
  const rows: Row[] = []
  for (const count of sizes) {
    progress(`${SCENARIO}: 2 networkers × ${count} multifeeds`)
    try {
      const r = await measure(count)
      const closeMs = Math.max(r.closeAMs!, r.closeBMs!)
      rows.push(
        row(count, 'swarm() all resolved', r.swarmMs!, null, null, {
          msPerMultifeed: Number((r.swarmMs! / count).toFixed(3))
        }),
        row(count, 'all paired', r.pairedMs!, null, null),
        row(count, 'close() (slower side)', closeMs, '≤ 1 s', closeMs <= 1000, {
          closeAMs: Math.round(r.closeAMs!),
          closeBMs: Math.round(r.closeBMs!)
        })
      )
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      rows.push({ ...row(count, 'swarm/close', Number.NaN, null, null), multifeed: null, error })
    }
  }
  return rows
}
