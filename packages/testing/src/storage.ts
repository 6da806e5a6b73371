import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Corestore, CorestoreOptions } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'

/** A temporary directory that removes itself. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path of the directory. */
  readonly path: string
  /** Removes the directory and everything in it. Idempotent. */
  remove(): Promise<void>
}

/** A corestore on a temporary directory; closing it also removes the directory. */
export interface TempCorestore extends AsyncDisposable {
  readonly corestore: Corestore
  /** Absolute path of the storage directory. */
  readonly path: string
  /** Closes the corestore, then removes its directory. Idempotent. */
  close(): Promise<void>
}

export interface TmpStorageOptions {
  /** Prefix of the directory name. Default `multifeed-`. */
  prefix?: string
  /** Parent directory. Default `/dev/shm` when it exists (RAM, faster), else the OS temp dir. */
  parent?: string
}

/** The directory temporary storage goes to: `/dev/shm` when it exists, else `os.tmpdir()`. */
export function tmpRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

/**
 * Creates a fresh temporary directory.
 *
 * ```ts
 * await using dir = await tmpStorage()
 * const store = new Corestore(dir.path)
 * ```
 */
export async function tmpStorage(options: TmpStorageOptions = {}): Promise<TempDir> {
  const path = await mkdtemp(join(options.parent ?? tmpRoot(), options.prefix ?? 'multifeed-'))
  let removing: Promise<void> | null = null
  const remove = (): Promise<void> => {
    if (removing === null) {
      removing = rm(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 })
    }
    return removing
  }
  return { path, remove, [Symbol.asyncDispose]: remove }
}

export interface TempCorestoreOptions extends TmpStorageOptions {
  /** Passed to `new Corestore(path, options)`. */
  corestore?: CorestoreOptions
  /** Re-use this directory (e.g. to restart a store) instead of creating one; it is still removed on close unless `keep` is true. */
  path?: string
  /** Keep the directory on close (to re-open it later). Default false. */
  keep?: boolean
}

/**
 * A ready corestore on a temporary directory.
 *
 * ```ts
 * await using tmp = await createTempCorestore()
 * const multi = await Multifeed.open(tmp.corestore)
 * ```
 */
export async function createTempCorestore(
  options: TempCorestoreOptions = {}
): Promise<TempCorestore> {
  const dir: TempDir =
    options.path === undefined
      ? await tmpStorage(options)
      : {
          path: options.path,
          remove: () => rm(options.path as string, { recursive: true, force: true }),
          [Symbol.asyncDispose]: async () => {}
        }
  const corestore = new CorestoreClass(dir.path, options.corestore)
  try {
    await corestore.ready()
  } catch (err) {
    await corestore.close().catch(() => {})
    if (options.path === undefined) await dir.remove()
    throw err
  }
  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    if (closing === null) {
      closing = (async () => {
        try {
          await corestore.close()
        } finally {
          if (options.keep !== true) await dir.remove()
        }
      })()
    }
    return closing
  }
  return { corestore, path: dir.path, close, [Symbol.asyncDispose]: close }
}
