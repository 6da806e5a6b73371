import { performance } from 'node:perf_hooks'

export function now(): number {
  return performance.now()
}

/** CPU time (user + system) of this process so far, in ms: both peers of a scenario run here. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export class BenchTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms: ${what}`)
    this.name = 'BenchTimeoutError'
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | null = null
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BenchTimeoutError(what, ms)), ms)
    })
  ]).finally(() => {
    if (timer) clearTimeout(timer)
  })
}
