/**
 * The corestores the harness makes: RocksDB's write buffer at 4 MiB instead
 * of its 64 MiB default.
 *
 * Why: RocksDB preallocates its write-ahead log at 1.1× the write buffer, and
 * on /dev/shm, where the harness keeps storage, a preallocated file is RAM:
 * 75 MB per open store at the default, 8.5 MB at 4 MiB (measured with
 * hypercore-storage 3.3.2). A 100-peer simulation held 7.5 GB of it and was
 * killed for want of memory. A test's stores hold a few megabytes, so a
 * smaller buffer only means earlier flushes.
 *
 * How: corestore takes a hypercore-storage instance where it takes a path
 * (hypercore's `defaultStorage` returns one as it is), and hypercore-storage
 * passes `writeBufferSize` to its RocksDB column family. The storage options
 * corestore would pass itself (`readOnly`, `wait`) are passed the same way.
 */
import type { Corestore, CorestoreOptions } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import CoreStorage from 'hypercore-storage'

/** RocksDB's write buffer in the harness's stores (bytes). */
export const WRITE_BUFFER_SIZE = 4 * 1024 * 1024

/** `new Corestore(path, options)` with the harness's small RocksDB write buffer. */
export function corestoreAt(path: string, options: CorestoreOptions = {}): Corestore {
  const storage = new CoreStorage(path, {
    readOnly: options.readOnly,
    wait: options.wait,
    writeBufferSize: WRITE_BUFFER_SIZE
  })
  // The published typings name a path only; corestore takes a storage instance too.
  const Store = CorestoreClass as unknown as new (
    storage: CoreStorage,
    options?: CorestoreOptions
  ) => Corestore
  return new Store(storage, options)
}
