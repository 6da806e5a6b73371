// The layers of the repository as a checked rule (`pnpm deps`, run by `pnpm test`).
// Inside core (../shared/DESIGN.md "Inside core"), from the top down:
//   index → Multifeed (the façade) → replication → set → moderation → protocol → lifecycle, keys → types → errors
// (types.ts, the public types, names the error classes its events carry; errors.ts imports nothing).
// and between packages: sim, bench, demo → testing → networker → core; cli → networker → core.
// A layer imports only the layers below it (and its own folder); no import cycle anywhere,
// type-only imports included (a cycle of types is a cycle of concepts).
// notes/layers.md says why each layer is where it is and what this rule printed.

const core = '^packages/core/src/'

/** Core's layers, bottom first: [name, path pattern]. */
const coreLayers = [
  ['errors', `${core}errors\\.ts$`],
  ['types', `${core}types\\.ts$`],
  ['lifecycle/keys', `${core}(lifecycle/|keys\\.ts$|capabilities\\.ts$)`],
  ['protocol', `${core}protocol/`],
  // Moderated sets' records and their rule (pure): used by set/ (apply) and replication/ (travel).
  ['moderation', `${core}moderation/`],
  ['set', `${core}set/`],
  ['replication', `${core}replication/`],
  ['Multifeed', `${core}(Multifeed\\.ts$|multifeed/)`],
  ['index', `${core}index\\.ts$`]
]

const names = coreLayers.map(([name]) => name)
const coreRules = coreLayers.slice(0, -1).map(([name, path], i) => ({
  name: `core-upward-from-${name.replaceAll('/', '-')}`,
  severity: 'error',
  comment:
    `core's ${name} imports only what is below it (${names.slice(0, i).join(', ') || 'nothing of core'}); ` +
    `not ${names.slice(i + 1).join(', ')} (DESIGN.md "Inside core")`,
  from: { path },
  to: { path: coreLayers.slice(i + 1).map(([, p]) => p) }
}))

/** A package of ours, resolved (packages/X/…) or not (@multifeed/X). */
const pkg = (...names) => `^(packages/|@multifeed/)(${names.join('|')})(/|$)`

/** Packages, bottom first: each may import only those before it. */
const packageRules = [
  ['core', ['networker', 'testing', 'sim', 'bench', 'demo', 'cli']],
  ['networker', ['testing', 'sim', 'bench', 'demo', 'cli']],
  ['testing', ['sim', 'bench', 'demo', 'cli']],
  ['sim', ['bench', 'demo', 'cli']],
  ['bench', ['sim', 'demo', 'cli']],
  ['demo', ['sim', 'bench', 'cli']],
  // the command line: on core and networker only (testing is for its tests)
  ['cli', ['testing', 'sim', 'bench', 'demo']]
].map(([from, above]) => ({
  name: `package-upward-from-${from}`,
  severity: 'error',
  comment: `@multifeed/${from} must not import ${above.map((p) => `@multifeed/${p}`).join(', ')} (testing → networker → core; sim, bench, demo, cli on top, apart)`,
  from: { path: `^packages/${from}/src/` },
  to: { path: pkg(...above) }
}))

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment:
        'an import cycle (type-only imports count): one of these modules must stop importing the next',
      from: {},
      to: { circular: true }
    },
    ...coreRules,
    ...packageRules
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // A package of ours is named by its folder, whether or not it is built.
    preserveSymlinks: false
  }
}
