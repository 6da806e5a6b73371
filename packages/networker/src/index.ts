/**
 * @multifeed/networker — one swarm, many multifeeds: each multifeed joins its
 * own topic, and two peers hold one connection however many they share.
 */

export { ConnectedPeer } from './ConnectedPeer.js'
export { isBenignConnectionError } from './connectionErrors.js'
export type {
  HubEndpoint,
  HubLink,
  HubMember,
  HubMembership,
  TopicOptions
} from './InProcessHub.js'
export { InProcessHub } from './InProcessHub.js'
export type { InProcessNetworkerOptions } from './InProcessNetworker.js'
export { InProcessNetworker } from './InProcessNetworker.js'
export type { NetworkerOptions, SwarmKeyPair } from './Networker.js'
export { Networker } from './Networker.js'
export type { SwarmedMultifeed } from './NetworkerBase.js'
export { NetworkerBase } from './NetworkerBase.js'
export type {
  AnyMultifeed,
  NetworkerEvents,
  NetworkerInterface,
  NetworkPeer,
  SwarmOptions
} from './NetworkerInterface.js'
