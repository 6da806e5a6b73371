/**
 * A stand-in for the set's session of a core, as PeerCores sees it: open,
 * with no peer on the stream (settled: nothing to move), which is what
 * hypercore's replicator shows for a core whose blocks all moved.
 */
export function fakeCore(): unknown {
  return {
    closing: null,
    opened: true,
    peers: [],
    core: { replicator: { attached: () => true, detachFrom: () => {}, peers: [] } },
    on() {},
    off() {}
  }
}
