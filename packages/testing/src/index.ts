export type {
  ConformanceFactory,
  ConformancePeer,
  ConformanceSetup
} from './conformance/setup.js'
export { conformanceFactory } from './conformance/setup.js'
export {
  type ConformanceAdapter,
  type ConformanceOptions,
  conformanceCases,
  runNetworkerConformance
} from './conformance/suite.js'
export { corestoreAt, WRITE_BUFFER_SIZE } from './corestoreAt.js'
export { labelOf, setLabel, shortKey } from './labels.js'
export type { ModeratedGroup, ModeratedGroupOptions } from './peers/moderated.js'
export type {
  BuiltNetworker,
  NetworkerFactory,
  NetworkerKind,
  PeerContext
} from './peers/networkerFactory.js'
export {
  type CreatePeersOptions,
  createPeers,
  type MultifeedGroupOptions,
  PeerGroup
} from './peers/PeerGroup.js'
export { type JoinOptions, TestPeer } from './peers/TestPeer.js'
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
export { moderationReport, untilModerated } from './untilModerated.js'
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
