import { Networker } from '@multifeed/networker'
import { conformanceFactory, runNetworkerConformance } from '@multifeed/testing'
import { describe, test } from 'vitest'

// The README's example runs the suite on a Networker given a swarm (readme.test.ts); here the
// Networker makes (and owns) its swarm on a DHT node of the group's loopback testnet.
runNetworkerConformance(
  { describe, test },
  conformanceFactory({
    networker: ({ corestore, testnet }) => new Networker(corestore, { dht: testnet!.createNode() })
  }),
  { name: 'Networker (its own swarm on a loopback DHT node)' }
)

runNetworkerConformance({ describe, test }, conformanceFactory({ networker: 'in-process' }), {
  name: 'InProcessNetworker'
})
