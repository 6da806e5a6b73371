// Scenarios 10 and 11: how soon a block appended on A reaches B.
// 10: right after a reconnect (the pair in sync, one block appended on A as
//     soon as the pipe exists); 11: on a live, reconciled connection, a local
//     append → B's `append` event (raw: B's core `download`), one append per
//     feed to distinct feeds ("cold": multifeed has not attached those cores)
//     and many appends to one feed ("hot": attached after the first).
import type { Multifeed } from '@multifeed/core'
import type { Hypercore } from '@multifeed/holepunch-types'
import { now, sleep, withTimeout } from './clock.js'
import type { Link } from './link.js'
import type { MultiReconnectPair } from './reconnect.js'
import type { RawReconnectPair } from './reconnect-raw.js'
import { block } from './workload.js'

const BLOCK = 1024

/** Resolves with the time B's multifeed reports `key` at `length` or more. */
function multiArrival(multi: Multifeed, key: Buffer, length: number): Promise<number> {
  return new Promise((resolve) => {
    const onappend = (info: { key: Buffer; length: number }) => {
      if (info.length >= length && info.key.equals(key)) {
        multi.off('append', onappend)
        resolve(now())
      }
    }
    multi.on('append', onappend)
  })
}

/** Resolves with the time B's core holds `length` blocks contiguously. */
function rawArrival(core: Hypercore, length: number): Promise<number> {
  return new Promise((resolve) => {
    if (core.contiguousLength >= length) return resolve(now())
    const ondownload = () => {
      if (core.contiguousLength >= length) {
        core.off('download', ondownload)
        resolve(now())
      }
    }
    core.on('download', ondownload)
  })
}

function waitReconciled(multi: Multifeed): Promise<void> {
  return new Promise((resolve) => multi.once('reconciled', () => resolve()))
}

/** Scenario 10, multifeed: reconnect, append one block on A at once, time until B has it. */
export async function multiFirstBlock(
  pair: MultiReconnectPair,
  reps: number,
  timeoutMs: number
): Promise<number[]> {
  const [A, B] = [pair.sides[0], pair.sides[1]]
  const samples: number[] = []
  for (let rep = 0; rep < reps; rep++) {
    const name = A.names[rep % A.names.length]!
    const w = await A.multi.writer(name)
    let link: Link | null = null
    try {
      const target = w.length + 1
      const arrived = multiArrival(B.multi, w.key!, target)
      const reconciled = Promise.all([waitReconciled(A.multi), waitReconciled(B.multi)])
      link = pair.connect()
      const t0 = now()
      await w.append(block(BLOCK, 7 + rep))
      samples.push((await withTimeout(arrived, timeoutMs, 'first block after reconnect')) - t0)
      await withTimeout(reconciled, timeoutMs, 'first block: reconciled')
    } finally {
      await w.close()
      await link?.close()
      await sleep(50)
    }
  }
  return samples
}

/** Scenario 10, raw corestore: the same on stores holding every core open. */
export async function rawFirstBlock(
  pair: RawReconnectPair,
  reps: number,
  timeoutMs: number
): Promise<number[]> {
  const samples: number[] = []
  for (let rep = 0; rep < reps; rep++) {
    const [own, remote] = pair.writerPair(pair.sides[0].names[rep % pair.sides[0].names.length]!)
    const link = pair.connect()
    try {
      const target = own.length + 1
      const arrived = rawArrival(remote, target)
      const t0 = now()
      await own.append(block(BLOCK, 7 + rep))
      samples.push((await withTimeout(arrived, timeoutMs, 'raw first block after reconnect')) - t0)
    } finally {
      await link.close()
      await sleep(50)
    }
  }
  return samples
}

export interface LiveLatency {
  /** One append on each of `count` distinct feeds. */
  cold: number[]
  /** `count` appends on one feed. */
  hot: number[]
}

/** Scenario 11, multifeed: on a live, reconciled connection. */
export async function multiLiveLatency(
  pair: MultiReconnectPair,
  count: number,
  timeoutMs: number
): Promise<LiveLatency> {
  const [A, B] = [pair.sides[0], pair.sides[1]]
  const reconciled = Promise.all([waitReconciled(A.multi), waitReconciled(B.multi)])
  const link = pair.connect()
  try {
    await withTimeout(reconciled, timeoutMs, 'live latency: reconciled')
    const one = async (name: string, seed: number): Promise<number> => {
      const w = await A.multi.writer(name)
      try {
        const arrived = multiArrival(B.multi, w.key!, w.length + 1)
        const t0 = now()
        await w.append(block(BLOCK, seed))
        return (await withTimeout(arrived, timeoutMs, `live append on ${name}`)) - t0
      } finally {
        await w.close()
      }
    }
    const cold: number[] = []
    for (let i = 0; i < count; i++) cold.push(await one(A.names[i % A.names.length]!, 100 + i))
    const hot: number[] = []
    const hotName = A.names[A.names.length - 1]!
    await one(hotName, 99) // attaches it
    for (let i = 0; i < count; i++) hot.push(await one(hotName, 200 + i))
    return { cold, hot }
  } finally {
    await link.close()
    await sleep(50)
  }
}

/** Scenario 11, raw corestore: every core attached already, so cold and hot alike. */
export async function rawLiveLatency(
  pair: RawReconnectPair,
  count: number,
  timeoutMs: number
): Promise<LiveLatency> {
  const names = pair.sides[0].names
  const link = pair.connect()
  try {
    // Connected once every core of B has its peer back.
    const remotes = names.map((name) => pair.writerPair(name)[1])
    await withTimeout(
      (async () => {
        while (!remotes.every((core) => core.peers.length > 0)) await sleep(5)
      })(),
      timeoutMs,
      'raw live latency: connected'
    )
    const one = async (name: string, seed: number): Promise<number> => {
      const [own, remote] = pair.writerPair(name)
      const arrived = rawArrival(remote, own.length + 1)
      const t0 = now()
      await own.append(block(BLOCK, seed))
      return (await withTimeout(arrived, timeoutMs, `raw live append on ${name}`)) - t0
    }
    const cold: number[] = []
    for (let i = 0; i < count; i++) cold.push(await one(names[i % names.length]!, 100 + i))
    const hot: number[] = []
    const hotName = names[names.length - 1]!
    for (let i = 0; i < count; i++) hot.push(await one(hotName, 200 + i))
    return { cold, hot }
  } finally {
    await link.close()
    await sleep(50)
  }
}
