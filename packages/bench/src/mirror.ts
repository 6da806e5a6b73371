// Scenario 13's multifeed side: a mirror of an encrypted source, synced once
// (setup), then used as a source itself; and the open time of a mirror's
// store against raw corestore opening the same cores.
import { Multifeed } from '@multifeed/core'
import type { Hypercore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { now, withTimeout } from './clock.js'
import { MultiSource, pipeMultifeeds } from './multi.js'
import { destroyStreams } from './net.js'
import type { RawSource } from './raw.js'
import { tmpDir } from './tempStorage.js'
import { pool } from './workload.js'

/**
 * A mirror of every multifeed of `source` (encrypted sets), in a store of
 * its own, synced over a pipe: a source that serves what it cannot read.
 */
export async function mirrorOf(source: MultiSource, timeoutMs: number): Promise<MultiSource> {
  const dir = await tmpDir('mirror-src')
  const store = new CorestoreClass(dir)
  await store.ready()
  const mirrors: Multifeed[] = []
  for (const m of source.multis) mirrors.push(await Multifeed.open(store, m.mirrorKey))
  const streams = pipeMultifeeds(source.multis, mirrors)
  try {
    await withTimeout(
      Promise.all(mirrors.map((m) => m.synced({ minPeers: 1 }))),
      timeoutMs,
      'mirror setup sync'
    )
  } finally {
    await destroyStreams(...streams)
  }
  return MultiSource.of(dir, store, mirrors, source.shape)
}

/**
 * The time to open a mirror's store from its directory (a new corestore and
 * `Multifeed.open` with the mirror key, which opens no feed core). The
 * source is closed first and left open again after.
 */
export async function mirrorOpenMs(mirror: MultiSource): Promise<{ ms: number; feeds: number }> {
  const keys = mirror.multis.map((m) => m.key)
  const dir = await mirror.closeKeep()
  const t0 = now()
  const store = new CorestoreClass(dir)
  await store.ready()
  const multis: Multifeed[] = []
  for (const key of keys) multis.push(await Multifeed.open(store, key))
  const ms = now() - t0
  const feeds = multis.reduce((n, m) => n + m.feeds().length, 0)
  mirror.store = store
  mirror.multis = multis
  return { ms, feeds }
}

/**
 * Raw corestore's open of the same cores: a new corestore over the raw
 * source's directory and `get({ key })` + `ready()` of every core (raw has
 * no index: a blind store opens a core to know its length). The raw source
 * keeps the store and cores opened here (warm, as before).
 */
export async function rawOpenMs(raw: RawSource): Promise<number> {
  await raw.store.close()
  const t0 = now()
  const store = new CorestoreClass(raw.dir)
  await store.ready()
  const cores: Hypercore[] = raw.keys.map((key) => store.get({ key }))
  await pool(cores, 64, (core) => core.ready())
  const ms = now() - t0
  raw.store = store
  raw.cores = cores
  return ms
}
