export {
  type ConformanceAdapter,
  type ConformanceFactory,
  type ConformanceOptions,
  type ConformancePeer,
  type ConformanceSetup,
  conformanceCases,
  conformanceFactory,
  runNetworkerConformance
} from './conformance.js'
export { labelOf, setLabel, shortKey } from './labels.js'
export {
  type BuiltNetworker,
  type CreatePeersOptions,
  createPeers,
  type JoinOptions,
  type NetworkerFactory,
  type NetworkerKind,
  type PeerContext,
  PeerGroup,
  TestPeer
} from './PeerGroup.js'
export { Replication, replicate } from './replicate.js'
export {
  createTempCorestore,
  TempCorestore,
  type TempCorestoreOptions,
  TempDir,
  type TmpStorageOptions,
  tmpRoot,
  tmpStorage
} from './storage.js'
export { type NoEvents, Teardown } from './Teardown.js'
export { createTestnet, TestDHT, type TestnetOptions, type TestSwarmOptions } from './Testnet.js'
export {
  DEFAULT_TIMEOUT,
  type MultifeedHolder,
  type MultifeedTargets,
  type NetworkerHolder,
  syncReport,
  untilFeeds,
  untilPeers,
  untilSynced,
  type WaitOptions,
  waitUntil
} from './waiters.js'
