import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Corestore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'

/** A store's directory that does not exist, for a command that only reads. */
export class NoStoreError extends Error {
  override name = 'NoStoreError'
}

/** A store another process holds open (its lock). */
export class StoreInUseError extends Error {
  override name = 'StoreInUseError'
}

/** Opens the corestore in `dir`; `create: false` fails if there is none. */
export async function openStore(dir: string, { create }: { create: boolean }): Promise<Corestore> {
  if (!create && !existsSync(dir)) throw new NoStoreError(`no store at ${dir}`)
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

/**
 * Makes `dir` a store (creates the corestore) unless it is one already, so that
 * a file of ours put there survives the store's first open: hypercore-storage
 * 3 moves every file it does not know into `db/` when it opens a directory that
 * has no `CORESTORE` file yet (its migration of the older layout,
 * `tmpFixStorage`). The mirror's list is such a file (mirror/MirrorList.ts).
 * Once the `CORESTORE` file exists it leaves the directory alone; a store
 * another process holds open has it already, so this never waits for that lock.
 */
export async function ensureStore(dir: string): Promise<void> {
  if (isStore(dir)) return
  let store: Corestore
  try {
    store = await openStore(dir, { create: true })
  } catch (err) {
    // Another process holds it: it is a store already, or being made one, and holding the
    // lock means its open has moved the directory's files already.
    if (err instanceof StoreInUseError) return
    throw err
  }
  await store.close()
}

/** True when `dir` holds a store (its `CORESTORE` file: see ensureStore). */
export function isStore(dir: string): boolean {
  return existsSync(join(dir, 'CORESTORE'))
}
