import type { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import type { Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { afterEach } from 'vitest'

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {})
})

/** Registers a cleanup run after the current test, last registered first. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(async () => {
    await fn()
  })
}

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

/** A fresh directory removed after the test. */
export async function tmpDir(): Promise<string> {
  const dir = await mkdtemp(join(base, 'multifeed-core-test-'))
  onCleanup(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The files under `dir` whose bytes contain `needle` (a storage search for plaintext). */
export async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = []
  for (const file of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue
    const path = join(file.parentPath, file.name)
    if ((await readFile(path)).includes(needle)) hits.push(path)
  }
  return hits
}

/** A corestore on a fresh directory, closed after the test. */
export async function tmpStore(dir?: string): Promise<Corestore> {
  const store = new CorestoreClass(dir ?? (await tmpDir()))
  onCleanup(() => store.close())
  await store.ready()
  return store
}

export interface Pipe {
  a: Duplex
  b: Duplex
  destroy(): Promise<void>
}

/** Replicates two multifeeds over an in-memory pipe. */
export function pipe(a: Multifeed<unknown>, b: Multifeed<unknown>): Pipe {
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  return link(sa, sb)
}

/** Pipes two replication streams together; destroyed after the test. */
export function link(sa: Duplex, sb: Duplex): Pipe {
  sa.pipe(sb).pipe(sa)
  sa.on('error', () => {})
  sb.on('error', () => {})
  const destroy = async (): Promise<void> => {
    const closed = Promise.all([closedOf(sa), closedOf(sb)])
    sa.destroy()
    sb.destroy()
    await closed
  }
  onCleanup(destroy)
  return { a: sa, b: sb, destroy }
}

/** Raw corestore replication (corestore's own streams, nothing scoped) of two stores, piped. */
export function linkStores(a: Corestore, b: Corestore): Pipe {
  return link(a.replicate(true), b.replicate(false))
}

function closedOf(stream: Duplex): Promise<void> {
  if (stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}

/** Polls `predicate` until it holds; fails after `timeout` ms with `message`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  message: string,
  timeout = 10_000
): Promise<void> {
  const start = Date.now()
  while (!(await predicate())) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms: ${message}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Resolves with the arguments of the next `event`, or fails after `timeout` ms. */
export function next<T extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  timeout = 10_000
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No '${event}' within ${timeout} ms`)), timeout)
    emitter.once(event, (...args: unknown[]) => {
      clearTimeout(timer)
      resolve(args as T)
    })
  })
}

/** Every feed of every multifeed has every block of the longest copy among them. */
export async function untilConverged(
  multis: Multifeed<unknown>[],
  feeds: number,
  timeout = 15_000
) {
  await until(
    () => {
      for (const m of multis) if (m.feeds().length < feeds) return false
      for (const m of multis) {
        for (const info of m.feeds()) {
          let max = 0
          for (const other of multis) max = Math.max(max, other.feed(info.key)?.length ?? 0)
          if (info.length < max) return false
        }
      }
      return true
    },
    `${multis.length} multifeeds converge on ${feeds} feeds`,
    timeout
  )
}
