#!/usr/bin/env node
import { runMirrorDemo } from './mirrorRun.js'
import { type DemoOptions, parseOptions, USAGE, UsageError } from './options.js'
import { formatSummary, liveReporter, plainReporter, silentReporter } from './progress.js'
import { type Reporter, runDemo, SyncTimeoutError } from './run.js'

async function main(argv: string[]): Promise<number> {
  let options: DemoOptions | null
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`)
      return 2
    }
    throw err
  }
  if (options === null) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }

  const mode =
    options.progress === 'auto' ? (process.stdout.isTTY ? 'live' : 'plain') : options.progress
  const reporter: Reporter =
    mode === 'live'
      ? liveReporter(process.stdout, {
          multifeeds: options.multifeeds,
          perCell: options.peers * options.feeds,
          entries: options.entries
        })
      : mode === 'plain'
        ? plainReporter(process.stdout)
        : silentReporter()

  // A last resort: never outlive the bound by more than a minute, even if teardown hangs.
  setTimeout(
    () => {
      process.stderr.write('error: the demo did not shut down in time\n')
      process.exit(1)
    },
    (options.timeout + 60) * 1000
  ).unref()

  const abort = new AbortController()
  const onSignal = (): void => abort.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const run = options.mirror ? runMirrorDemo : runDemo
    const summary = await run(options, reporter, abort.signal)
    process.stdout.write(formatSummary(summary))
    return 0
  } catch (err) {
    if (err instanceof SyncTimeoutError) {
      const shown = err.missing.slice(0, 20)
      process.stderr.write(
        `error: ${err.message}: ${err.snapshot.blocksHeld}/${err.snapshot.blocksTarget} blocks, ${err.snapshot.feedsHeld}/${err.snapshot.feedsTarget} feeds held\n` +
          shown.map((line) => `  ${line}\n`).join('') +
          (err.missing.length > shown.length
            ? `  … and ${err.missing.length - shown.length} more\n`
            : '')
      )
      return 1
    }
    process.stderr.write(
      `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
    )
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

const code = await main(process.argv.slice(2))
// Everything was closed; exit explicitly so that a straggling handle in a
// dependency cannot keep the demo alive past its result.
process.exit(code)
