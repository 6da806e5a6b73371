#!/usr/bin/env node
/**
 * `pnpm sim`: runs the seeds one after the other, prints each violation as
 * it is found (stderr) and the summary with reproduction commands (stdout).
 * Exits 1 on any violation, 2 on a usage error.
 */
import { parseOptions, USAGE, UsageError } from './options.js'
import { runSeed, type SeedResult } from './run.js'
import { summary } from './summary.js'

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    if (err instanceof UsageError || err instanceof TypeError) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}`)
      return 2
    }
    throw err
  }
  const results: SeedResult[] = []
  for (const seed of options.seeds) {
    process.stderr.write(`seed ${seed}: ${options.peers} peers, ${options.seconds} s…\n`)
    results.push(await runSeed(seed, options, (line) => process.stderr.write(`  ${line}\n`)))
  }
  process.stdout.write(`${summary(results, options)}\n`)
  return results.some((r) => r.violations.length > 0) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  }
)
