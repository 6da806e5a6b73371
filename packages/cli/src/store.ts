import { existsSync } from 'node:fs'
import { mkdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Corestore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { withLockFile } from './lockFile.js'

/** A store's directory that does not exist, for a command that only reads. */
export class NoStoreError extends Error {
  override name = 'NoStoreError'
}

/** A store another process holds open (its lock). */
export class StoreInUseError extends Error {
  override name = 'StoreInUseError'
}

/** The mirror's list (mirror/MirrorList.ts), a file of ours in the store's directory. */
export const LIST_FILE = 'mirror.json'

/**
 * The lock of a directory's first open (see firstOpen), in `db/`: the one entry of the
 * directory that the first open never moves (a directory outside the store's would need its
 * parent writable, which `/srv/mirror` or a systemd `StateDirectory` does not give).
 * hypercore-storage keeps a file of its own there too (`RECOVERING`).
 */
const FIRST_OPEN_LOCK = join('db', 'multifeed-first-open.lock')

/** Opens the corestore in `dir`; `create: false` fails if there is none. */
export async function openStore(dir: string, { create }: { create: boolean }): Promise<Corestore> {
  if (!create && !existsSync(dir)) throw new NoStoreError(`no store at ${dir}`)
  // A store: its open leaves the directory alone (see firstOpen).
  if (isStore(dir)) return open(dir)
  return firstOpen(dir, () => open(dir))
}

/**
 * Makes `dir` a store unless it is one already, so that a file of ours written
 * there afterwards stays there (firstOpen). An existing store is not opened (a
 * `mirror run` may hold it).
 */
export async function ensureStore(dir: string): Promise<void> {
  // Through the lock even when `dir` is a store: a first open that another process has not
  // finished (the list not put back yet) ends before this returns.
  await firstOpen(dir, async () => {
    if (isStore(dir)) return
    try {
      await (await open(dir)).close()
    } catch (err) {
      // Held open by a process that does not take our lock (an app): its open is over.
      if (!(err instanceof StoreInUseError)) throw err
    }
  })
}

/** True when `dir` holds a store (its `CORESTORE` file: see firstOpen). */
export function isStore(dir: string): boolean {
  return existsSync(join(dir, 'CORESTORE'))
}

/**
 * Runs `opening` (an open of the store in `dir`) under the directory's first-open lock.
 * hypercore-storage 3, constructing a store in a directory that has no `CORESTORE` file
 * yet (its migration of the older layout, `tmpFixStorage`), moves every entry it does not
 * know into `db/`, before any lock of its own: an open there could move the list that
 * another process has just written, or its lock. So every first open of ours runs under
 * this lock, and a process writes a file of ours into the directory only once it has
 * passed the lock with the `CORESTORE` file there (ensureStore): no first open is under way
 * then, and every later open leaves the directory alone. A list that was there before the
 * first open (written by hand) is put back. Opens of processes that do not take this lock
 * (an app, an older `multifeed`) are not covered.
 */
async function firstOpen<R>(dir: string, opening: () => Promise<R>): Promise<R> {
  await mkdir(join(dir, 'db'), { recursive: true })
  return withLockFile(join(dir, FIRST_OPEN_LOCK), async () => {
    if (isStore(dir)) return opening()
    const hadList = existsSync(join(dir, LIST_FILE))
    try {
      return await opening()
    } finally {
      const moved = join(dir, 'db', LIST_FILE)
      if (hadList && !existsSync(join(dir, LIST_FILE)) && existsSync(moved)) {
        await rename(moved, join(dir, LIST_FILE))
      }
    }
  })
}

async function open(dir: string): Promise<Corestore> {
  const store = new CorestoreClass(dir)
  try {
    await store.ready()
  } catch (err) {
    await store.close().catch(() => {})
    // RocksDB's lock: another process (a `seed`, an app) has the store open.
    if (/could not be locked/i.test((err as Error).message)) {
      throw new StoreInUseError(`the store at ${dir} is in use by another process`, { cause: err })
    }
    throw err
  }
  return store
}
