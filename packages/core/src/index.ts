/**
 * @multifeed/core — many writers, one set of hypercores.
 *
 * A multifeed is a set of hypercores (one per writer) that every peer knowing
 * the multifeed key discovers and replicates, over any replication stream.
 */
export {
  AbortedError,
  CallbackError,
  CapabilityError,
  ClosedError,
  type ErrorCode,
  ForeignCorestoreError,
  InvalidArgumentError,
  InvalidKeyError,
  LimitExceededError,
  MalformedMessageError,
  MultifeedError,
  NotWritableError,
  StorageCorruptError,
  TimeoutError,
  VersionMismatchError
} from './errors.js'
export { formatKey, parseKey } from './keys.js'
export { type EventMap, Resource, TypedEmitter } from './lifecycle/Resource.js'
export { Multifeed } from './Multifeed.js'
export { MultifeedPeer, type PeerStats } from './protocol/MultifeedPeer.js'
export { PROTOCOL_MAJOR, PROTOCOL_MINOR, PROTOCOL_NAME } from './protocol/messages.js'
export {
  replicateCorestore,
  rootOf,
  sameCorestore
} from './replication/replicateCorestore.js'
export type {
  AcceptContext,
  DownloadedOptions,
  FeedInfo,
  KeyLike,
  KeyPair,
  MultifeedEvents,
  MultifeedLimits,
  MultifeedOptions,
  MultifeedPolicy,
  RemoteFeedsInfo,
  ShareContext,
  ValueEncoding,
  WriterOptions
} from './types.js'
