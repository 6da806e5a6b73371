/** A cleanup step and the phase it runs in: lower orders run first. */
interface Step {
  readonly fn: () => unknown
  readonly order: number
}

/**
 * An ordered stack of cleanup steps, modelled on brittle's `t.teardown()`.
 * Steps of the same order run last-added first; every step runs even if an
 * earlier one failed, and the failures are thrown together at the end.
 *
 * Conventional orders used by this package: networkers 0, multifeeds 1,
 * swarms 2, corestores 3, directories 4, the testnet `Infinity`.
 */
export class Teardown implements AsyncDisposable {
  #steps: Step[] = []
  #running: Promise<void> | null = null

  /** Registers `fn` to run on `run()`. Registering after `run()` started runs it at once. */
  add(fn: () => unknown, order = 0): void {
    if (this.#running !== null) {
      void Promise.resolve()
        .then(fn)
        .catch(() => {})
      return
    }
    this.#steps.push({ fn, order })
  }

  /** True once `run()` was called. */
  get done(): boolean {
    return this.#running !== null
  }

  /** Runs every step once; later calls return the same promise. */
  run(): Promise<void> {
    if (this.#running === null) this.#running = this.#run()
    return this.#running
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run()
  }

  async #run(): Promise<void> {
    // Stable sort on order; reverse first so that, within one order, the last added runs first.
    const steps = this.#steps.reverse().sort((a, b) => a.order - b.order)
    this.#steps = []
    const errors: unknown[] = []
    for (const step of steps) {
      try {
        await step.fn()
      } catch (err) {
        errors.push(err)
      }
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1)
      throw new AggregateError(errors, `${errors.length} teardown steps failed`)
  }
}
