import type { Multifeed } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import { Networker } from '@multifeed/networker'
import type { NetworkOptions } from './options.js'

/** A networker on the DHT the options name (the public HyperDHT when they name none). */
export function networkerFor(store: Corestore, options: NetworkOptions): Networker {
  return new Networker(store, {
    ...(options.bootstrap.length > 0 ? { bootstrap: options.bootstrap } : {}),
    ...(options.host !== undefined ? { host: options.host } : {})
  })
}

/** Which DHT, said in words (for the log line a command prints when it joins). */
export function describeDht(options: NetworkOptions): string {
  const dht =
    options.bootstrap.length > 0
      ? `the DHT of ${options.bootstrap.map((n) => `${n.host}:${n.port}`).join(', ')}`
      : 'the public HyperDHT'
  return options.host !== undefined ? `${dht}, bound to ${options.host}` : dht
}

/** Swarms `multi` and logs every peer that comes and goes. */
export async function join(net: Networker, multi: Multifeed<unknown>, log: (line: string) => void) {
  net.on('peer-add', (peer) =>
    log(
      `peer ${peer.remotePublicKey.toString('hex').slice(0, 8)} connected (${net.peers().length} now)`
    )
  )
  net.on('peer-remove', (peer) =>
    log(`peer ${peer.remotePublicKey.toString('hex').slice(0, 8)} left (${net.peers().length} now)`)
  )
  net.on('connection-error', (err) => log(`connection error: ${err.message}`))
  await net.swarm(multi)
}
