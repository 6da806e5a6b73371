/**
 * The group a peer belongs to (`peer.group`, a networker factory's
 * `context.group`), declared here and completed by PeerGroup.ts
 * (`extends PeerGroup<T>`, merged in there): users get the whole class, while
 * TestPeer and the networker factory never import the module that builds them
 * (no import cycle; notes/layers.md).
 */
// biome-ignore lint/suspicious/noEmptyInterface: completed by PeerGroup.ts (T, the group's value type, is used there)
// biome-ignore lint/correctness/noUnusedVariables: T is used by the merge in PeerGroup.ts
export interface GroupRef<T = unknown> {}
