/**
 * What the lifecycle, security and adversarial suites share: multifeeds
 * closed after the test, the errors a multifeed reports, its membership log
 * read back from storage, a bystander multifeed on the same connection, and
 * a check that no promise rejection or exception went unhandled.
 */
import type { Duplex } from 'node:stream'
import {
  Multifeed,
  type MultifeedError,
  type MultifeedOptions,
  ReplicationStream
} from '@multifeed/core'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { decodeBatch } from '../src/set/MembershipLog.js'
import { link, onCleanup, type Pipe, tmpStore, until } from './helpers.js'

export const hex = (b: Buffer): string => b.toString('hex')

/** Opens a multifeed (in `store`, or a fresh one), closed after the test. */
export async function open(
  store?: Corestore | null,
  key?: Buffer | null,
  options: MultifeedOptions = {}
): Promise<Multifeed> {
  const multi = (await Multifeed.open(store ?? (await tmpStore()), key, options)) as Multifeed
  onCleanup(() => multi.close())
  return multi
}

/** The errors a multifeed reports as `peer-error`, collected. */
export function errorsOf(multi: Multifeed<unknown>): MultifeedError[] {
  const errors: MultifeedError[] = []
  multi.on('peer-error', (e) => errors.push(e))
  return errors
}

/**
 * Every feed record of a multifeed's membership log, read straight from
 * storage (the multifeed must be closed): a key listed twice is a duplicate
 * record.
 */
export async function membershipKeys(store: Corestore, discoveryKey: Buffer): Promise<string[]> {
  const ns = store.namespace(`@multifeed/${hex(discoveryKey)}`)
  const core = ns.get({ name: 'multifeed/membership', active: false })
  await core.ready()
  const keys: string[] = []
  try {
    for (let i = 0; i < core.length; i++) {
      const block = (await core.get(i, { wait: false })) as Buffer
      for (const record of decodeBatch(block, i).feeds) keys.push(hex(record.key))
    }
  } finally {
    await core.close()
    await ns.close()
  }
  return keys
}

/** Fails the test when a promise rejection or an exception went unhandled during it. */
export function noUnhandled(): void {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled)
    process.on('uncaughtException', onUnhandled)
  })
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled)
    process.off('uncaughtException', onUnhandled)
  })
  afterEach(async () => {
    // a turn of the event loop for late rejections to surface
    await new Promise((resolve) => setImmediate(resolve))
    const seen = unhandled.splice(0)
    expect(seen.map((e) => String((e as Error)?.stack ?? e))).toEqual([])
  })
}

/** The library's replication stream set up on `stream`. */
export function replicationOf(stream: Duplex): ReplicationStream {
  return ReplicationStream.of(stream)!
}

export interface Bystander {
  /** Multifeed Y on each side, attached to the two ends of the connection. */
  ya: Multifeed
  yb: Multifeed
  /** Y's writer on side a. */
  wy: Hypercore<Buffer>
  /** Appends on Y (side a) and waits until side b holds it, then a new feed of b reaches a. */
  stillSyncs(tag: string): Promise<void>
}

/**
 * Multifeed Y, one copy on each end of the connection `sa`–`sb` (streams
 * already set up, e.g. `x.replicate(true)`), synced once: the bystander
 * whose replication a fault on another multifeed's channel must not disturb.
 */
export async function bystander(
  storeA: Corestore,
  storeB: Corestore,
  sa: Duplex,
  sb: Duplex
): Promise<Bystander> {
  const ya = await open(storeA)
  const yb = await open(storeB, ya.key)
  ya.attach(sa)
  yb.attach(sb)
  const wy = await ya.writer('bystander')
  onCleanup(() => wy.close())
  await wy.append(Buffer.from('y0'))
  await until(() => yb.feed(wy.key!)?.length === 1, 'the bystander syncs')
  return { ya, yb, wy, stillSyncs: (tag) => stillSyncs(ya, yb, [sa, sb], tag, wy) }
}

/**
 * Y still replicates live between `ya` and `yb` over `streams` (not
 * destroyed): a block appended on a reaches b, a feed created on b reaches a.
 */
export async function stillSyncs(
  ya: Multifeed,
  yb: Multifeed,
  streams: Duplex[],
  tag: string,
  writer?: Hypercore<Buffer>
): Promise<void> {
  for (const s of streams) expect(s.destroyed).toBe(false)
  const wy = writer ?? (await ya.writer('bystander'))
  const before = wy.length
  await wy.append(Buffer.from(tag))
  await until(
    () => (yb.feed(wy.key!)?.length ?? 0) > before,
    `the bystander receives "${tag}" on the same connection`
  )
  if (writer === undefined) await wy.close()
  const late = await yb.writer(`late-${tag}`)
  const key = late.key!
  await late.close()
  await until(() => ya.feed(key) !== null, 'the bystander learns a new feed live')
}

/**
 * Two stores, X on both (`xb` with options), one connection between them
 * (X attached unless `attachX` is false), and a bystander Y on it.
 */
export async function sharedConnection(xOptions: MultifeedOptions = {}, attachX = true) {
  const storeA = await tmpStore()
  const storeB = await tmpStore()
  const xa = await open(storeA)
  const xb = await open(storeB, xa.key, xOptions)
  const sa = attachX ? xa.replicate(true) : ReplicationStream.for(storeA, true).stream
  const sb = attachX ? xb.replicate(false) : ReplicationStream.for(storeB, false).stream
  const p: Pipe = link(sa, sb)
  const y = await bystander(storeA, storeB, sa, sb)
  return { storeA, storeB, xa, xb, sa, sb, p, y }
}

/** Blocks in the membership log of the set `discoveryKey` in `store` (the set closed). */
export async function logLength(store: Corestore, discoveryKey: Buffer): Promise<number> {
  const ns = store.namespace(`@multifeed/${hex(discoveryKey)}`, { active: false })
  const core = ns.get({ name: 'multifeed/membership', active: false })
  await core.ready()
  const length = core.length
  await core.close()
  await ns.close()
  return length
}

/** The number of cores of each batched heads read of the store's storage (a crash's recovery), as they happen. */
export function headReads(store: Corestore): number[] {
  const reads: number[] = []
  const storage = store.storage
  const getInfos = storage.getInfos.bind(storage)
  storage.getInfos = (keys, options) => {
    reads.push(keys.length)
    return getInfos(keys, options)
  }
  return reads
}
