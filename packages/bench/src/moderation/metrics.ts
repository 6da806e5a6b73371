// Scenario 17's names, as its rows carry them (scenarios/moderation.ts writes
// them, report/moderation.ts reads them).
export const MODERATION_SCENARIO = '17 moderation'
export const IN_SYNC_WIRE = 'all wire bytes, in-sync reconnect (both ways)'
export const IN_SYNC_PROTOCOL = 'multifeed protocol bytes, in-sync reconnect (pairing incl.)'
export const NEW_WIRE = 'all wire bytes (both ways, until downloaded)'
export const NEW_PROTOCOL = 'multifeed protocol bytes (both ways, pairing incl.)'
export const NEW_OVERHEAD = 'protocol bytes beyond the records and the in-sync reconnect'
export const BLOCK_ALL = 'block() → no member serves F'
export const BLOCK_ONE = 'block() → one member applied it'
export const MOVED_AFTER = 'blocks of F'
export const VERIFY = 'CPU to verify'
export const BLOCK_CALL = 'one block() call on the founder'
