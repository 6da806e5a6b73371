/**
 * An abort signal raised by the first SIGINT or SIGTERM. A second one while
 * shutting down exits at once (code 1), as a user pressing Ctrl-C twice expects.
 */
export function onSignals(): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController()
  const handler = (name: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(1)
    abort.abort(new Error(`interrupted by ${name}`))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: abort.signal,
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    }
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
