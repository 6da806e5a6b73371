// Release 0.1.0's figures on this machine, as issue 7 states them: the
// `release010` column of scenarios 8 and 10 (and `release010Bytes` in scenario
// 8's extras, which ../../charts.ts draws as the reference line).

/** Release 0.1.0 on this machine, as issue 7 states them (KB and MB read as 10³ and 10⁶ bytes). */
export const RELEASE_010 = {
  /** Multifeed protocol bytes of a reconnect with d changes (d = 0: BENCHMARKS.md of 0.1.0). */
  protocolBytes: { 0: 138, 1: 640_000, 10: 641_000, 100: 648_000 } as Record<number, number>,
  /** All wire bytes of an in-sync reconnect at 10,000 feeds. */
  inSyncWireBytes: 2_040_000,
  /** Until downloaded() after a restart, 10,000 feeds. */
  restartDownloadedMs: 7_800,
  /** First new block after a reconnect, 200 feeds (raw corestore then: 24 ms). */
  firstBlockMs: [480, 840] as const
}

/** A 0.1.0 figure in issue 7's units (KB and MB: 10³ and 10⁶ bytes). */
export function fmtBytes010(bytes: number): string {
  return bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(2)} MB`
    : bytes >= 1e3
      ? `${bytes / 1e3} KB`
      : `${bytes} B`
}
