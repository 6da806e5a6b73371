import { Multifeed } from '@multifeed/core'
import type { Networker } from '@multifeed/networker'
import { describeDht, join, networkerFor } from './network.js'
import type { NetworkOptions } from './options.js'
import type { SetArgument } from './setArgument.js'
import { aborted, onSignals } from './signals.js'
import { openStore } from './store.js'

/** What a command that opens one multifeed works with. */
export interface Session {
  multi: Multifeed
  /** Swarming the set (joined), or null offline. */
  net: Networker | null
  /** Aborted by SIGINT/SIGTERM. */
  signal: AbortSignal
}

/** A line on stderr (stdout is the command's output). */
export const log = (line: string): void => void process.stderr.write(`${line}\n`)

/**
 * Opens the store in `storage` (created if needed), the multifeed `set` (a key or an
 * invite: what `Multifeed.open` takes) in it and, unless
 * `network` is null, a networker swarming it; runs `use`; then closes all of it, in that
 * order backwards, whatever happened (a signal, an error).
 */
export async function withSet<R>(
  storage: string,
  set: SetArgument,
  network: NetworkOptions | null,
  use: (session: Session) => Promise<R>
): Promise<R> {
  const signals = onSignals()
  try {
    const store = await openStore(storage, { create: true })
    try {
      const multi = await Multifeed.open(store, set.text)
      try {
        if (network === null) return await use({ multi, net: null, signal: signals.signal })
        const net = networkerFor(store, network)
        try {
          log(`joining ${describeDht(network)} for ${set.text}`)
          // A signal while joining (a DHT that does not answer keeps swarm() waiting) stops
          // the wait: `use` then sees the signal aborted, and closing the networker ends the join.
          const joining = join(net, multi, log)
          joining.catch(() => {})
          await Promise.race([joining, aborted(signals.signal)])
          return await use({ multi, net, signal: signals.signal })
        } finally {
          await net.close()
        }
      } finally {
        await multi.close()
      }
    } finally {
      await store.close()
    }
  } finally {
    signals.dispose()
  }
}
