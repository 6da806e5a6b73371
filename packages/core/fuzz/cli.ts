/**
 * `pnpm fuzz [--messages N] [--seed S] [--timeout SECONDS] [--episode E] [--json FILE]
 *            [--control] [--skip-known] [--quiet]`
 *
 * --control: the puppet stays silent (a baseline: stalls there are not abuse);
 * --skip-known: leave out the triggers of findings already reported, to look past them.
 *
 * Runs the seeded protocol fuzzer and prints its summary; exits 1 on any
 * crash, unhandled error, stall, hang, unproven peer or failed re-open.
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { runFuzz } from './driver.js'
import { failed, formatSummary } from './report.js'

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    messages: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    timeout: { type: 'string' },
    episode: { type: 'string' },
    json: { type: 'string' },
    control: { type: 'boolean', default: false },
    'skip-known': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false }
  }
})

function integer(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`)
    process.exit(2)
  }
  return n
}

const messages = integer('messages', values.messages)!
const seed = integer('seed', values.seed) ?? (Date.now() % 2 ** 32) >>> 0
// Default bound: generous for this 2-core machine (about 1,000 messages/s).
const timeout = integer('timeout', values.timeout) ?? Math.max(120, Math.ceil(messages / 100))
const episode = integer('episode', values.episode)

console.error(
  `fuzzing multifeed/2: seed ${seed}, ${messages} messages, at most ${timeout} s${episode === undefined ? '' : `, episode ${episode} only`}`
)
const summary = await runFuzz({
  seed,
  messages,
  timeoutMs: timeout * 1000,
  ...(episode === undefined ? {} : { episode }),
  control: values.control,
  skipKnown: values['skip-known'],
  ...(values.quiet ? {} : { progress: (line: string) => console.error(line) })
})
console.log(formatSummary(summary))
if (values.json) await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`)
const bad = failed(summary)
console.log(bad ? '\nFAIL' : '\nOK: no crash, no unhandled error, no stall')
process.exit(bad ? 1 : 0)
