import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built bin (tests run after `pnpm build`). */
const BIN = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
/** No step of a test waits longer than this for the child. */
export const BOUND = 45_000

const running = new Set<ChildProcess>()

/** A `multifeed` process: its output so far, waits for a line, its exit. */
export class Cli {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>
  readonly #waiters = new Set<() => void>()

  /** `multifeed args`; `script` runs another script of ours instead of the bin (stdin piped). */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, script?: string) {
    this.child = spawn(process.execPath, [script ?? BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: [script === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
    })
    running.add(this.child)
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      this.#wake()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
      this.#wake()
    })
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        running.delete(this.child)
        this.#wake()
        resolve(code)
      })
    })
  }

  #wake(): void {
    for (const wake of this.#waiters) wake()
  }

  /** Resolves once stdout matches `pattern`; fails at the bound or if the child exits first. */
  untilStdout(pattern: RegExp, bound = BOUND): Promise<void> {
    return this.#until(() => this.stdout, pattern, bound)
  }

  /** The same on stderr. */
  untilStderr(pattern: RegExp, bound = BOUND): Promise<void> {
    return this.#until(() => this.stderr, pattern, bound)
  }

  async #until(output: () => string, pattern: RegExp, bound: number): Promise<void> {
    const started = Date.now()
    while (!pattern.test(output())) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`exited (${this.child.exitCode}) before ${pattern}:\n${this.stderr}`)
      }
      const left = bound - (Date.now() - started)
      if (left <= 0)
        throw new Error(
          `no ${pattern} in ${bound} ms; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`
        )
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          this.#waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, left)
        this.#waiters.add(done)
      })
    }
  }

  /** The exit code, within the bound (then the child is killed and this fails). */
  async exit(bound = BOUND): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL')
        reject(new Error(`still running after ${bound} ms; stderr:\n${this.stderr}`))
      }, bound)
    })
    try {
      return await Promise.race([this.exited, late])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Runs `multifeed args` to its end (bounded). */
export async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = new Cli(args, env)
  const code = await cli.exit()
  return { code, stdout: cli.stdout, stderr: cli.stderr }
}

/** Kills every child still running (afterEach). */
export async function killAll(): Promise<void> {
  const closing = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve())
        child.kill('SIGKILL')
      })
  )
  await Promise.all(closing)
}
