// The README examples, compiled and run from the README text itself (not from a copy).
// Every ```ts block of every README of the repository (the root's and each package's) carries a
// marker on the line right above it:
//
//   <!-- test -->                    compiled (tsc, strict) and run as it stands
//   <!-- test: prints "hello" -->    the same, and what it prints must contain `hello`
//   <!-- test: loopback -->          the same, with `new Networker(store)` given a DHT node of a
//                                    loopback testnet (a test never reaches the public DHT)
//   <!-- not-run: why -->            not a program (a summary of calls, another runner's globals)
//
// A block without a marker fails here. The examples are compiled with nothing but what a user
// writes: `import Corestore from 'corestore'` is typed by @multifeed/core's declarations. How a block runs follows from what it imports: vitest,
// its tests are registered in this file; node:test, `node --test`; tape, `node` and its TAP
// summary; anything else, `node`, which must exit 0 by itself within its bound.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, expect, test } from 'vitest'

const pkg = fileURLToPath(new URL('..', import.meta.url))
const root = fileURLToPath(new URL('../../..', import.meta.url))
/** The root README and every package's. */
const READMES = [
  'README.md',
  ...readdirSync(join(root, 'packages'))
    .filter((dir) => existsSync(join(root, 'packages', dir, 'README.md')))
    .map((dir) => `packages/${dir}/README.md`)
]
const LOOPBACK = {
  from: 'new Networker(store)',
  to: 'new Networker(store, { dht: testnet.createNode() })',
  before: [
    "import { createTestnet } from '@multifeed/testing'",
    'const testnet = await createTestnet()'
  ],
  after: ['await testnet.close()']
}
const RUN_TIMEOUT = 50_000

interface Block {
  /** `README.md:57`: the file and the line of the opening fence. */
  readonly where: string
  /** The line of the opening fence (1-based). */
  readonly line: number
  /** The marker above the fence without `<!--`/`-->`, or null. */
  readonly marker: string | null
  readonly code: string
}

interface Example extends Block {
  readonly name: string
  /** Lines put before the block's own (their line numbers do not count in messages). */
  readonly offset: number
  readonly source: string
  readonly runner: 'vitest' | 'node:test' | 'tape' | 'node'
  readonly prints: string | null
}

function blocksOf(file: string, text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue
    const end = lines.indexOf('```', i + 1)
    const marker = /^<!--\s*(.*?)\s*-->$/.exec(lines[i - 1]?.trim() ?? '')?.[1] ?? null
    blocks.push({
      where: `${file}:${i + 1}`,
      line: i + 1,
      marker,
      code: lines.slice(i + 1, end).join('\n')
    })
    i = end
  }
  return blocks
}

/** What is wrong with the READMEs' markers; the runnable examples. */
async function collect(): Promise<{ problems: string[]; examples: Example[] }> {
  const problems: string[] = []
  const examples: Example[] = []
  for (const file of READMES) {
    for (const block of blocksOf(file, await readFile(join(root, file), 'utf8'))) {
      const marker = block.marker ?? ''
      if (marker.startsWith('not-run:')) continue
      const test = /^test(?::\s*(?:(loopback)|prints "([^"]+)"))?$/.exec(marker)
      if (test === null) {
        problems.push(
          `${block.where}: a \`\`\`ts block needs <!-- test -->, <!-- test: prints "…" -->, <!-- test: loopback --> or <!-- not-run: why --> right above it (has ${block.marker === null ? 'none' : `<!-- ${marker} -->`})`
        )
        continue
      }
      let source = block.code
      let offset = 0
      if (test[1] === 'loopback') {
        if (!source.includes(LOOPBACK.from)) {
          problems.push(`${block.where}: a loopback block must contain \`${LOOPBACK.from}\``)
          continue
        }
        source = [
          ...LOOPBACK.before,
          source.replace(LOOPBACK.from, LOOPBACK.to),
          ...LOOPBACK.after
        ].join('\n')
        offset = LOOPBACK.before.length
      }
      const imports = (name: string): boolean => source.includes(`from '${name}'`)
      examples.push({
        ...block,
        name: `${file.replace(/[/.]/g, '_')}_L${block.line}`,
        offset,
        source,
        runner: imports('vitest')
          ? 'vitest'
          : imports('node:test')
            ? 'node:test'
            : imports('tape')
              ? 'tape'
              : 'node',
        prints: test[2] ?? null
      })
    }
  }
  return { problems, examples }
}

/** tsc (strict, the repository's base options) over every example; the messages, README lines. */
function compile(work: string, examples: Example[]): string[] {
  const config = ts.parseJsonConfigFileContent(
    {
      extends: join(root, 'tsconfig.base.json'),
      compilerOptions: {
        rootDir: 'src',
        outDir: 'out',
        noEmit: false,
        declaration: false,
        declarationMap: false,
        sourceMap: false
      },
      include: ['src']
    },
    ts.sys,
    work
  )
  const program = ts.createProgram(config.fileNames, config.options)
  const emitted = program.emit()
  const byFile = new Map(examples.map((e) => [join(work, 'src', `${e.name}.ts`), e]))
  return [...config.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map(
    (d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (d.file === undefined || d.start === undefined) return `TS${d.code}: ${message}`
      const { line } = d.file.getLineAndCharacterOfPosition(d.start)
      const example = byFile.get(d.file.fileName)
      const where =
        example === undefined
          ? `${d.file.fileName}:${line + 1}`
          : `${example.where.split(':')[0]}:${example.line + 1 + line - example.offset}`
      return `${where}: TS${d.code}: ${message}`
    }
  )
}

function run(
  args: string[],
  cwd: string
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Without the parent's NODE_OPTIONS (vitest's loaders): the child runs as a user's would.
  const env = { ...process.env, NODE_OPTIONS: '' }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd, env, timeout: RUN_TIMEOUT, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
        resolve({ code, stdout, stderr })
      }
    )
  })
}

/** The `# pass N` / `# fail N` lines of a TAP summary (node:test's tap reporter, tape). */
function tapSummary(stdout: string): { pass: number; fail: number } {
  const count = (what: string): number =>
    Number(new RegExp(`^# ${what}\\s+(\\d+)$`, 'm').exec(stdout)?.[1] ?? 0)
  return { pass: count('pass'), fail: count('fail') }
}

// Extracted and compiled while this file is collected, so that the vitest examples can
// register their tests here.
const { problems, examples } = await collect()
const work = await mkdtemp(join(pkg, '.readme-'))
afterAll(() => rm(work, { recursive: true, force: true }))
await mkdir(join(work, 'src'), { recursive: true })
for (const example of examples) {
  await writeFile(join(work, 'src', `${example.name}.ts`), example.source)
}
const diagnostics = compile(work, examples)
const out = (example: Example): string => join(work, 'out', `${example.name}.js`)

test('every ```ts block of the READMEs is marked: run, or why not', () => {
  expect(problems).toEqual([])
  expect(examples.length).toBeGreaterThanOrEqual(8)
})

test('the README examples compile (tsc strict, skipLibCheck false)', () => {
  expect(diagnostics).toEqual([])
})

if (diagnostics.length === 0) {
  for (const example of examples) {
    if (example.runner === 'vitest') {
      // Its test() calls register here, under the names the README gives them.
      await import(pathToFileURL(out(example)).href)
      continue
    }
    test(
      `${example.where} runs (${example.runner})`,
      async () => {
        const cwd = join(work, 'run', example.name)
        await mkdir(cwd, { recursive: true })
        const args = example.runner === 'node:test' ? ['--test', '--test-reporter=tap'] : []
        const result = await run([...args, out(example)], cwd)
        const output = `${result.stdout}\n${result.stderr}`
        expect(result.code, `exit code; output:\n${output}`).toBe(0)
        if (example.runner !== 'node') {
          const { pass, fail } = tapSummary(result.stdout)
          expect(pass, `TAP "# pass" count; output:\n${output}`).toBeGreaterThan(0)
          expect(fail, `TAP "# fail" count; output:\n${output}`).toBe(0)
        }
        if (example.prints !== null) expect(result.stdout).toContain(example.prints)
      },
      RUN_TIMEOUT + 10_000
    )
  }
}
