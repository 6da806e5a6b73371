import { InProcessHub, InProcessNetworker, Networker } from '@multifeed/networker'
import {
  type ConformanceSetup,
  createTempCorestore,
  createTestnet,
  runNetworkerConformance,
  type TempCorestore
} from '@multifeed/testing'
import { describe, test } from 'vitest'

runNetworkerConformance(
  { describe, test },
  async (count): Promise<ConformanceSetup> => {
    const testnet = await createTestnet()
    const stores: TempCorestore[] = []
    const networkers: Networker[] = []
    for (let i = 0; i < count; i++) {
      const tmp = await createTempCorestore()
      stores.push(tmp)
      networkers.push(new Networker(tmp.corestore, { swarm: testnet.createSwarm() }))
    }
    return {
      networkers: networkers.map((networker, i) => ({
        networker,
        corestore: stores[i]!.corestore,
        // The networker leaves a given swarm alive at close: destroy it too.
        async disconnect() {
          await networker.close()
          await testnet.destroySwarm(networker.hyperswarm)
        }
      })),
      async teardown() {
        await Promise.allSettled(networkers.map((n) => n.close()))
        await testnet.close()
        await Promise.all(stores.map((s) => s.close()))
      }
    }
  },
  { name: 'Networker (Hyperswarm, loopback testnet)' }
)

runNetworkerConformance(
  { describe, test },
  async (count): Promise<ConformanceSetup> => {
    const hub = new InProcessHub()
    const stores: TempCorestore[] = []
    const networkers: InProcessNetworker[] = []
    for (let i = 0; i < count; i++) {
      const tmp = await createTempCorestore()
      stores.push(tmp)
      networkers.push(new InProcessNetworker(tmp.corestore, { hub }))
    }
    return {
      networkers: networkers.map((networker, i) => ({
        networker,
        corestore: stores[i]!.corestore
      })),
      async teardown() {
        await Promise.allSettled(networkers.map((n) => n.close()))
        await Promise.all(stores.map((s) => s.close()))
      }
    }
  },
  { name: 'InProcessNetworker' }
)
