/**
 * A local-only log core of a set's namespace (the membership log) read
 * straight from the store's storage, without opening it as a hypercore:
 * hypercore-storage's documented API (`storage.resumeCore(discoveryKey)`,
 * `core.read()`, `getHead`, `getUserData`, `getBlock`, `tryFlush`), which
 * corestore exposes as `store.storage`.
 *
 * Why: opening a set reads its log, and a mirror of 1,000 sets opens 1,000
 * logs. Opening a hypercore costs six RocksDB batches (alias, core,
 * dependency, info, roots, a bitfield iterator) and `get()` one batch per
 * block, each batch a call into the native binding that costs the main
 * thread more than the read (notes/mirror-open-speed.md). Here: the core's
 * pointers (two batches, as `resumeCore` reads them), then its head, one
 * user data value and its first blocks in one batch, the rest a window of
 * blocks a batch. The hypercore itself is opened only to write
 * (MembershipLog), which a set that only re-opens never does.
 *
 * The head read is the default session's: the blocks below its length are
 * stored (a local log is written here, never downloaded), and one missing
 * is storage corruption, as `readLog` says.
 */
import type { Corestore, StoredCore } from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'
import crypto from 'hypercore-crypto'
import { StorageCorruptError } from '../errors.js'

/** Blocks read in the first batch with the head; then per batch. */
const FIRST_WINDOW = 16
const WINDOW = 64

/** The discovery key of the core `store.get({ name })` opens, computed without opening it. */
export async function namedCoreDiscoveryKey(store: Corestore, name: string): Promise<Buffer> {
  // What corestore's get({ name }) makes: its key pair's one-signer manifest.
  const { publicKey } = await store.createKeyPair(name)
  return crypto.discoveryKey(HypercoreClass.key(publicKey))
}

/** What the storage holds of a log core: its length, one user data value, its blocks. */
export interface StoredLog {
  /** Blocks in the log. */
  readonly length: number
  /** The user data value asked for (null: none). */
  readonly userData: Buffer | null
  /** Every block in order with its index, read a window at a time; closes the storage session after. */
  blocks(): AsyncGenerator<[Buffer, number]>
  /** Lets go of the storage session (when the blocks are not read to the end). Idempotent. */
  close(): Promise<void>
}

/**
 * Reads the head, the user data `userDataKey` and the first blocks of the
 * core `name` of `store` (a namespace), or null when the store holds no
 * such core. `what` names the log in errors.
 */
export async function readStoredLog(
  store: Corestore,
  name: string,
  userDataKey: string,
  what: string
): Promise<StoredLog | null> {
  const discoveryKey = await namedCoreDiscoveryKey(store, name)
  const stored = await store.storage.resumeCore(discoveryKey)
  if (stored === null) return null
  let closing: Promise<void> | null = null
  const core = stored
  const close = (): Promise<void> => {
    if (closing === null) closing = core.close()
    return closing
  }
  try {
    const rx = core.read()
    const head = rx.getHead()
    const userData = rx.getUserData(userDataKey)
    const first = window(rx, 0, FIRST_WINDOW)
    rx.tryFlush()
    const length = (await head)?.length ?? 0
    const value = await userData
    const firstBlocks = await Promise.all(first)
    return {
      length,
      userData: value,
      blocks: () => blocksOf(core, length, firstBlocks, what, close),
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

function window(
  rx: ReturnType<StoredCore['read']>,
  start: number,
  count: number
): Promise<Buffer | null>[] {
  return Array.from({ length: count }, (_, i) => rx.getBlock(start + i))
}

async function* blocksOf(
  core: StoredCore,
  length: number,
  first: Array<Buffer | null>,
  what: string,
  close: () => Promise<void>
): AsyncGenerator<[Buffer, number]> {
  try {
    // `first` holds blocks [0, first.length); each later batch the next window.
    let blocks = first
    let start = 0
    for (let i = 0; i < length; i++) {
      if (i - start >= blocks.length) {
        start = i
        const rx = core.read()
        const reading = window(rx, start, Math.min(WINDOW, length - start))
        rx.tryFlush()
        blocks = await Promise.all(reading)
      }
      const block = blocks[i - start]
      if (!block) throw new StorageCorruptError(`${what} block ${i} is missing`)
      yield [block, i]
    }
  } finally {
    await close()
  }
}
