import { existsSync } from 'node:fs'
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
