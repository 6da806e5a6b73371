// The configuration of scenarios 8–11 (issue 7): which of them run, how often
// and at which sizes (full or --quick). Scenarios 1–7: ../config.ts.

export const ISSUE7_SCENARIOS = [8, 9, 10, 11]

export interface Issue7Config {
  quick: boolean
  reps: number
  timeoutMs: number
  /** Scenario 8: feeds held by both peers, and the numbers of changes. */
  reconnect: { n: number; ds: number[] }
  /** Lockstep link: a step is delivered once both sides were quiet this long. */
  quietMs: number
  /** Scenario 9: sizes; raw corestore is measured up to `openRawMax` feeds. */
  openSizes: number[]
  openRawMax: number
  /** Scenarios 10 and 11: feeds held by both peers, reconnects, appends. */
  firstBlock: { feeds: number; reps: number }
  liveAppends: number
  /** Scenario 9: a multifeed sync over TCP not done after this is a pairing stall (re-run split). */
  stallMs: number
}

export function issue7Config(opts: { quick: boolean; reps?: number | undefined }): Issue7Config {
  const { quick } = opts
  return {
    quick,
    reps: opts.reps ?? (quick ? 1 : 3),
    timeoutMs: quick ? 60_000 : 300_000,
    reconnect: quick ? { n: 100, ds: [0, 1, 10] } : { n: 10_000, ds: [0, 1, 10, 100] },
    quietMs: quick ? 30 : 100,
    openSizes: quick ? [100, 1000] : [1000, 10_000, 100_000],
    openRawMax: 100_000,
    firstBlock: quick ? { feeds: 20, reps: 3 } : { feeds: 200, reps: 10 },
    liveAppends: quick ? 10 : 50,
    stallMs: quick ? 3_000 : 20_000
  }
}
