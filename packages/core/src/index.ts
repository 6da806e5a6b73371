// Types a user's own `import Corestore from 'corestore'` (corestore ships no declarations): kept
// in the emitted index.d.ts (preserve), resolved from core's own dependency under npm and pnpm.
/// <reference types="@multifeed/holepunch-types/corestore" preserve="true" />
/**
 * @multifeed/core — many writers, one set of hypercores.
 *
 * A multifeed is a set of hypercores (one per writer) that every peer knowing
 * the multifeed key discovers and replicates, over any replication stream.
 */
export type { Tier } from './capabilities.js'
export {
  AbortedError,
  AlreadyOpenError,
  CallbackError,
  CapabilityError,
  ClosedError,
  EncodingError,
  type ErrorCode,
  ForeignCorestoreError,
  InvalidArgumentError,
  InvalidKeyError,
  LimitExceededError,
  MalformedMessageError,
  MultifeedError,
  NotReadableError,
  NotWritableError,
  StorageCorruptError,
  StorageError,
  TierConflictError,
  TimeoutError,
  UnknownFeedError,
  VersionMismatchError
} from './errors.js'
export { formatKey, parseKey } from './keys.js'
export { DEBUG_NAMESPACES, type DebugLogOptions, enableDebug } from './lifecycle/debug.js'
export { type EventMap, Resource, TypedEmitter } from './lifecycle/Resource.js'
export { Multifeed } from './Multifeed.js'
export {
  DEFERRED_SKETCH_MINOR,
  PAIRING_MINOR,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PROTOCOL_NAME
} from './protocol/messages.js'
export {
  AMPLIFICATION_CONNECTION_BYTES,
  AMPLIFICATION_RATIO,
  type AmplificationInput,
  amplificationBound
} from './replication/amplification.js'
export { MultifeedPeer, type PeerProgress, type PeerStats } from './replication/MultifeedPeer.js'
export {
  type PairingConclusion,
  type PairingOutcome,
  type PairingStats,
  ReplicationStream,
  type ReplicationStreamEvents,
  rootOf,
  sameCorestore
} from './replication/ReplicationStream.js'
export type {
  ReadEntry,
  ReadErrorEntry,
  ReadOptions,
  ReadValueEntry
} from './set/reader.js'
export type { SetModeration } from './set/SetModeration.js'
export type {
  AcceptContext,
  DownloadedOptions,
  FeedInfo,
  IdentityKeyPair,
  KeyLike,
  KeyPair,
  ModerationBlock,
  ModerationContext,
  ModerationEvent,
  ModerationRecord,
  ModerationTarget,
  MultifeedEvents,
  MultifeedLimits,
  MultifeedOptions,
  MultifeedPolicy,
  ShareContext,
  SyncedOptions,
  SyncInfo,
  SyncResult,
  ValueEncoding,
  ValueOf,
  WriterOptions
} from './types.js'
