/**
 * No unhandled rejection or process warning: listens on the process while a
 * run lasts and reports what it saw.
 */
import type { Finding } from './Violation.js'

export const PROCESS_HEALTH = 'no unhandled rejection or process warning'

export class ProcessWatch {
  readonly #seen: string[] = []
  readonly #onRejection = (reason: unknown): void => {
    this.#seen.push(`unhandled rejection: ${describe(reason)}`)
  }
  readonly #onWarning = (warning: Error): void => {
    this.#seen.push(`process warning ${warning.name}: ${warning.message}`)
  }
  readonly #onException = (err: Error): void => {
    this.#seen.push(`uncaught exception: ${describe(err)}`)
  }

  start(): void {
    process.on('unhandledRejection', this.#onRejection)
    process.on('warning', this.#onWarning)
    process.on('uncaughtException', this.#onException)
  }

  stop(): void {
    process.off('unhandledRejection', this.#onRejection)
    process.off('warning', this.#onWarning)
    process.off('uncaughtException', this.#onException)
  }

  /** What was seen since the last call (each reported once). */
  take(): Finding[] {
    return this.#seen.splice(0).map((detail) => ({ invariant: PROCESS_HEALTH, peer: -1, detail }))
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return String(value)
}
