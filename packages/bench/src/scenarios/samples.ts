// What a scenario of 1–3, 6 or 7 records: each side's samples (and failure) of one
// measurement on one transport, and scenario 2's extra series per source
// temperature.

/** Each side's samples of one measurement on one transport; `multi` is multifeed. */
export interface Samples {
  multi: number[]
  raw: number[]
  /** CPU time of the process (both peers) during each measurement, when recorded. */
  multiCpu?: number[]
  rawCpu?: number[]
  multiError?: string
  rawError?: string
  /** Cores the writer side held open when each measurement's clock started (sync scenarios). */
  multiOpen?: number[]
  rawOpen?: number[]
  /**
   * Scenario 2's like-for-like pairs: raw with its source cold, multifeed with
   * its source warm (`raw` is then raw warm, `multi` multifeed cold).
   */
  rawCold?: Series
  multiWarm?: Series
}

/** One side's measurements at one source temperature. */
export interface Series {
  ms: number[]
  cpu: number[]
  /** Cores the writer side held open when the clock started. */
  open: number[]
  error?: string
}
