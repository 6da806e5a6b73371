/**
 * The puppet's roles, and what leaks from one connection to the next.
 *
 * - keyholder: knows the multifeed key, so it pairs and proves it, then
 *   follows the protocol part of the time (it answers A's coded symbols and
 *   requests) and abuses it the rest;
 * - forger: knows the pairing token and channel id (as if leaked) but not the
 *   capability: random, reflected or replayed proofs;
 * - stranger: knows nothing: random and replayed tokens, channels with random
 *   ids, garbage on them;
 * - silent: the control, a connection where the puppet sends nothing.
 */

/** `silent` is the control: a connection where the puppet sends nothing. */
export type Mode = 'keyholder' | 'forger' | 'stranger' | 'silent'

/** What earlier connections of the episode showed (for replays). */
export interface Replayable {
  tokens: Buffer[]
  ids: Buffer[]
  capabilities: Buffer[]
  messages: Array<{ type: number; raw: Buffer }>
}
