import { Resource } from '@multifeed/core'

/** The events of the harness's resources: none (they are `Resource`s for the lifecycle only). */
export type NoEvents = Record<never, never>

/** A cleanup step and the phase it runs in: lower orders run first. */
interface Step {
  readonly fn: () => unknown
  readonly order: number
}

/**
 * An ordered stack of cleanup steps, modelled on brittle's `t.teardown()`.
 * Steps of the same order run last-added first; every step runs even if an
 * earlier one failed, and the failures are thrown together at the end.
 * `close()` (or `run()`, or `await using`) runs the steps once.
 *
 * Conventional orders used by this package: networkers 0, multifeeds 1,
 * swarms 2, corestores 3, directories 4, the testnet `Infinity`.
 */
export class Teardown extends Resource<NoEvents> {
  #steps: Step[] = []

  /** Registers `fn` to run on `close()`. Registering once `close()` started runs it at once. */
  add(fn: () => unknown, order = 0): void {
    if (this.closing) {
      void Promise.resolve()
        .then(fn)
        .catch(() => {})
      return
    }
    this.#steps.push({ fn, order })
  }

  /** True once `close()` (or `run()`) was called. */
  get done(): boolean {
    return this.closing
  }

  /** Runs every step once: the same as `close()`. */
  run(): Promise<void> {
    return this.close()
  }

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    // Stable sort on order; reverse first so that, within one order, the last added runs first.
    const steps = this.#steps.reverse().sort((a, b) => a.order - b.order)
    this.#steps = []
    await inOrder(
      steps.map((step) => step.fn),
      'teardown'
    )
  }
}

/**
 * Runs `steps` one after the other, each even if an earlier one failed; then
 * throws the failure, or all of them in an `AggregateError` naming `what`.
 */
export async function inOrder(steps: Iterable<() => unknown>, what: string): Promise<void> {
  const errors: unknown[] = []
  for (const step of steps) {
    try {
      await step()
    } catch (err) {
      errors.push(err)
    }
  }
  throwFailures(errors, what)
}

/** Awaits every promise (all at once); throws like `inOrder()`. */
export async function settle(work: Iterable<unknown>, what: string): Promise<void> {
  const results = await Promise.allSettled(work)
  throwFailures(
    results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
    what
  )
}

function throwFailures(errors: unknown[], what: string): void {
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, `${what}: ${errors.length} steps failed`)
}
