import { type FSWatcher, watch } from 'node:fs'
import { LIST_FILE } from './MirrorList.js'

/**
 * Calls `changed` after the list file in `storage` changed (`mirror add` and
 * `remove` replace it by a rename: the directory is watched, not the file, whose
 * inode changes), one call at a time: changes during a call make one more call
 * after it, so the last state of the file is always read. Events for the store's
 * own files in the directory are ignored.
 */
export function watchList(
  storage: string,
  changed: () => Promise<void>
): { close(): Promise<void> } {
  let running: Promise<void> | null = null
  let again = false
  let closed = false
  const run = (): void => {
    if (closed) return
    if (running !== null) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        // `changed` reports its own errors; one that escapes must not stop the watch.
        await changed().catch(() => {})
      } while (again && !closed)
    })().finally(() => {
      running = null
    })
  }
  const watcher: FSWatcher = watch(storage, (_event, name) => {
    // No name (some platforms): read the list anyway, it is small.
    if (name === null || name === LIST_FILE) run()
  })
  return {
    async close() {
      closed = true
      watcher.close()
      await running
    }
  }
}
