// The details part of the report: a title and a few lines per scenario, said
// once here (how each is measured in full: packages/bench/README.md).

export interface Section {
  title: string
  text: string
}

export const SECTIONS: Record<number, Section> = {
  1: {
    title: 'Bulk transfer',
    text: 'Feeds of many 1 KiB blocks, from connect until the reader holds every block. Raw corestore: the keys handed over, every core opened by its key.'
  },
  2: {
    title: 'First sync of many feeds',
    text: 'Many small feeds. Rows without a suffix pair raw corestore holding every core of its serving side open with multifeed opening them on demand (each as it is used); "cold source": both serving sides re-opened before the rep, so both open cores during the sync; "warm source": both hold every core open.'
  },
  3: {
    title: 'Discovery of a new feed',
    text: "`writer()` resolved on A until B's `feed` event, on a live connection. Raw: the key handed over in process, from B opening the core to its `peer-add`."
  },
  4: {
    title: 'Reconnect in sync (removed: scenario 8 measures it, d = 0)',
    text: 'Kept in this report only because the run it comes from measured it.'
  },
  5: {
    title: 'Open (removed: scenario 9 measures it at three sizes)',
    text: 'Kept in this report only because the run it comes from measured it.'
  },
  6: {
    title: 'Many multifeeds on one connection',
    text: 'Many multifeeds of a few feeds each between two peers, against one multifeed holding as many feeds.'
  },
  7: {
    title: 'Scaling: time per feed',
    text: 'Feeds of one block: time per feed as the number of feeds grows.'
  },
  8: {
    title: 'Reconnect after d changes',
    text: 'Two peers in sync, then d changes made while apart (feeds added or grown), reconnect. Protocol bytes: every multifeed message and the pairing channel, both ways; wire bytes: all both sides wrote, Noise handshake included, until both downloaded; round trips on a lockstep link. Raw corestore: every core open, `store.replicate()`.'
  },
  9: {
    title: 'Open cost against the number of feeds',
    text: 'Child processes (`--expose-gc`): `Multifeed.open()` against `get()` + `ready()` of every raw core; RSS of the whole process; the first sync is an in-sync reconnect with a second process over TCP.'
  },
  10: {
    title: 'First block after a reconnect',
    text: 'One block appended on A right after reconnecting, until B has it.'
  },
  11: {
    title: 'Live append latency',
    text: "On a connection in sync: a local append until the peer's `append` event."
  },
  12: {
    title: 'Meshes',
    text: 'Every peer connected to every other, each writing its own feeds in every multifeed, until every peer holds every block. Raw corestore replicates the same cores over the same kind of connections.'
  },
  13: {
    title: 'Mirrors',
    text: "An encrypted set, and a mirror of it (opened with the mirror key: it stores and serves ciphertext). Each sync into a fresh reader: the mirror's first sync from the writer, a member served by the mirror alone, a member served by the writer, each against raw corestore syncing the same shape (keys handed over; a blind store holds the same cores). Open: the mirror's store re-opened (`Multifeed.open` opens no feed core) against raw corestore opening every core."
  },
  17: {
    title: 'Moderated sets',
    text: "A moderated set's members over pipes in one process. Block: a 10-peer mesh; each round a spammer writes a new feed F, the founder blocks it as soon as it lists F (the others still downloading it); the time from `block()` until each member's `moderation` event naming F (emitted once F is removed, purged and refused there), p50 / p99 over the rounds for the last member and for each; the blocks of F a member uploaded or downloaded after its event. Reconnect in sync: two members holding n feeds (each writer bound: n bind records) and the records the case names, beside a plain set of the same feeds (`extra.toPlainSet`). New records: d block records made by the founder while apart. Verification: core's `verifyRecord` (decode, Ed25519, id) over n records, the raw column n bare Ed25519 verifications (sodium-universal) of messages of the same length."
  }
}
