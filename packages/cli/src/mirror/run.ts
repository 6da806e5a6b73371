import { describeDht, networkerFor } from '../network.js'
import type { NetworkOptions } from '../options.js'
import { aborted, onSignals } from '../signals.js'
import { openStore } from '../store.js'
import { EXIT_OK } from '../UsageError.js'
import { Mirror } from './Mirror.js'
import { BadListError, listPath, readList } from './MirrorList.js'
import { Reporter } from './Reporter.js'
import { watchList } from './watchList.js'

/**
 * `multifeed mirror run`: the sets of the list in `storage`, over one networker
 * and the store in the same directory, until SIGINT/SIGTERM. The list file is
 * the only channel from `mirror add`/`remove` (which never open the store this
 * process holds locked): it is watched, and each change re-read and applied.
 */
export async function runMirror(storage: string, network: NetworkOptions): Promise<number> {
  const signals = onSignals()
  try {
    // A list that is not one fails here, before anything opens (exit 1).
    await readList(storage)
    // A list written by hand in a directory that is no store yet stays (store.ts, firstOpen).
    const store = await openStore(storage, { create: true })
    try {
      const net = networkerFor(store, network)
      let mirror: Mirror | null = null
      const reporter = new Reporter(process.stderr, () => ({
        sets: mirror?.snapshots() ?? [],
        peers: mirror?.peers() ?? 0
      }))
      mirror = new Mirror(store, net, {
        log: (line) => reporter.log(line),
        changed: (set) => reporter.changed(set),
        forget: (key) => reporter.forget(key)
      })
      const following = mirror
      try {
        reporter.log(`joining ${describeDht(network)}; the list is ${listPath(storage)}`)
        const reload = async (): Promise<void> => {
          try {
            const doc = await readList(storage)
            await following.update(doc.sets.map((set) => set.key))
          } catch (err) {
            if (!(err instanceof BadListError)) throw err
            reporter.log(
              `error: ${err.message}; still mirroring the ${following.keys().length} sets before`
            )
          }
        }
        // Watching first: a change while the list is read at start is not missed.
        const watcher = watchList(storage, reload)
        try {
          // A signal while the first sets open stops the wait (close() then stops the update).
          await Promise.race([reload(), aborted(signals.signal)])
          if (!signals.signal.aborted) {
            process.stdout.write(`mirror running: ${following.keys().length} sets\n`)
          }
          await aborted(signals.signal)
          reporter.log('shutting down')
        } finally {
          await watcher.close()
        }
      } finally {
        await following.close()
        reporter.log('closed')
        reporter.close()
      }
    } finally {
      await store.close()
    }
    return EXIT_OK
  } finally {
    signals.dispose()
  }
}
