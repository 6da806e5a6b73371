import { AbortedError, TimeoutError } from '../errors.js'
import type { BoundOptions } from '../types.js'

export type { BoundOptions }

/**
 * Waits for `work`, bounded by a timeout and/or an AbortSignal; `what` names
 * the operation in the error. Leaves no timer or listener behind.
 */
export async function bounded<T>(
  work: Promise<T>,
  options: BoundOptions,
  what: string
): Promise<T> {
  const { timeout, signal } = options
  if (timeout === undefined && signal === undefined) return work
  if (signal?.aborted) throw new AbortedError(`${what} was aborted`, { cause: signal.reason })
  let timer: NodeJS.Timeout | null = null
  let onAbort: (() => void) | null = null
  const guard = new Promise<never>((_, reject) => {
    if (timeout !== undefined) {
      timer = setTimeout(
        () => reject(new TimeoutError(`${what} did not finish within ${timeout} ms`)),
        timeout
      )
    }
    if (signal !== undefined) {
      onAbort = () => reject(new AbortedError(`${what} was aborted`, { cause: signal.reason }))
      signal.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    return await Promise.race([work, guard])
  } finally {
    if (timer !== null) clearTimeout(timer)
    if (onAbort !== null) signal?.removeEventListener('abort', onAbort)
  }
}
