import { now } from './clock.js'

let quiet = false
export function setQuiet(value: boolean): void {
  quiet = value
}

const started = now()
/** A progress line on stderr, prefixed with the elapsed time of the run. */
export function progress(message: string): void {
  if (quiet) return
  const s = ((now() - started) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[${s}s] ${message}\n`)
}

/** A duration for a progress line: ms below a second, s above. */
export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`
}
