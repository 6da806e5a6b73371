/** A command line the program cannot run: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
  /** The usage text of the command concerned. */
  readonly usage: string

  constructor(message: string, usage: string) {
    super(message)
    this.usage = usage
  }
}

/** Exit codes: 0 done, 1 failed (the error is printed), 2 the command line was wrong. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
