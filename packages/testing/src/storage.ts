import { Resource } from '@multifeed/core'
import type { Corestore, CorestoreOptions } from '@multifeed/holepunch-types'
import { existsSync } from 'fs'
import { mkdtemp, rm } from 'fs/promises'
import { tmpdir } from 'os'
import { join } from 'path'
import { corestoreAt } from './corestoreAt.js'
import { aBoolean, anObject, aString, checkOptions } from './options.js'
import { inOrder, type NoEvents } from './Teardown.js'

const STORAGE = { prefix: aString, parent: aString, keep: aBoolean }

export interface TmpStorageOptions {
  /** Prefix of the directory name. Default `multifeed-`. */
  prefix?: string
  /** Parent directory. Default `/dev/shm` when it exists (RAM, faster), else the OS temp dir. */
  parent?: string
  /** Keep the directory on close (to re-open it later). Default false. */
  keep?: boolean
}

/** The directory temporary storage goes to: `/dev/shm` when it exists, else `os.tmpdir()`. */
export function tmpRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

/**
 * A directory that `close()` (alias `remove()`) removes with everything in
 * it, unless it was made with `keep: true`. The one place the harness
 * creates and removes storage.
 */
export class TempDir extends Resource<NoEvents> {
  /** Absolute path of the directory. */
  readonly path: string
  readonly #keep: boolean

  /** Takes charge of an existing directory; `tmpStorage()` makes a fresh one. */
  constructor(path: string, options: { keep?: boolean } = {}) {
    checkOptions(options, 'new TempDir()', { keep: aBoolean })
    super()
    this.path = path
    this.#keep = options.keep === true
  }

  /** Removes the directory (unless kept). Idempotent: the same as `close()`. */
  remove(): Promise<void> {
    return this.close()
  }

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    if (!this.#keep) await rm(this.path, { recursive: true, force: true, maxRetries: 3 })
  }
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
  checkOptions(options, 'tmpStorage()', STORAGE)
  const path = await mkdtemp(join(options.parent ?? tmpRoot(), options.prefix ?? 'multifeed-'))
  const dir = new TempDir(path, { keep: options.keep })
  await dir.ready()
  return dir
}

export interface TempCorestoreOptions extends TmpStorageOptions {
  /** Passed to `new Corestore(path, options)`. */
  corestore?: CorestoreOptions
  /** Re-use this directory (e.g. to restart a store) instead of creating one; it is still removed on close unless `keep` is true. */
  path?: string
}

/**
 * A corestore on a directory of its own: `ready()` waits for the store,
 * `close()` closes it, then removes the directory (a failed open does too).
 */
export class TempCorestore extends Resource<NoEvents> {
  readonly corestore: Corestore
  readonly #dir: TempDir

  /** Takes charge of `dir`; `createTempCorestore()` makes both and waits for `ready()`. */
  constructor(dir: TempDir, options?: CorestoreOptions) {
    super()
    this.#dir = dir
    this.corestore = corestoreAt(dir.path, options)
  }

  /** Absolute path of the storage directory. */
  get path(): string {
    return this.#dir.path
  }

  protected async _open(): Promise<void> {
    await this.corestore.ready()
  }

  protected async _close(): Promise<void> {
    await inOrder(
      [() => this.corestore.close(), () => this.#dir.close()],
      `closing the corestore in ${this.path}`
    )
  }
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
  checkOptions(options, 'createTempCorestore()', {
    ...STORAGE,
    corestore: anObject,
    path: aString
  })
  const { prefix, parent, keep } = options
  const dir =
    options.path === undefined
      ? await tmpStorage({ prefix, parent, keep })
      : new TempDir(options.path, { keep })
  const tmp = new TempCorestore(dir, options.corestore)
  await tmp.ready()
  return tmp
}
