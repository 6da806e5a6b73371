/**
 * What other workspace packages reuse of the fuzzer (`@multifeed/core/fuzz`,
 * never published): the puppet that plays a hostile member on a replication
 * stream, and the seeded generator it draws from. The mesh simulator
 * (packages/sim) puts puppets among honest peers.
 */
export { Puppet, type PuppetOptions } from './puppet.js'
export { Rng } from './rng.js'
export type { Mode, Replayable } from './roles.js'
export type { PuppetStats } from './wire.js'
