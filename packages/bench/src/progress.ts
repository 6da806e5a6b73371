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
