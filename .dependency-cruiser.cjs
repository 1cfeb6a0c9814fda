// The architecture boundary, checked on every `npm test` (`npm run lint:deps`):
// "Edges parse and render; the core decides" (STYLE.md; DESIGN.md "Layout").
//
//   src/core        the domain: imports no edge, no sandbox, no edge library
//   src/commands    CLI edge; reaches the server and the TUI only through their lazy entry points
//   src/server      HTTP edge (Fastify)         } edges never import each other
//   src/tui         terminal edge (Ink, React)  }
//   src/cli.ts      the entry that loads commands
//   src/sandbox     the WAHA stand-in: a library over core, like core it imports no edge
//   migrations/     kysely schema steps: import only core (today: only kysely)
//
// tests/unit/dependency-rules.test.ts proves every rule fires on a violating file.
// tests/unit/core-boundaries.test.ts keeps the checks a module graph cannot see
// (console.log, process.exit, JSX in core).

/** The edges of the application, as module paths. */
const EDGE = '^src/(commands|server|tui)/|^src/cli\\.ts$';
/** A package path pattern: `node_modules/<name>/` (or its @types), for any of the names. */
const packages = (...names) => `(^|/)node_modules/(@types/)?(${names.join('|')})/`;
/** Libraries that belong to an edge: CLI parsing and tables, HTTP, terminal UI. */
const CLI_LIBRARIES = ['commander', 'cli-table3'];
const HTTP_LIBRARIES = ['fastify', '@fastify/[^/]+'];
const TUI_LIBRARIES = ['ink', 'ink-[^/]+', 'react', 'react-dom'];
const EDGE_LIBRARIES = packages(...CLI_LIBRARIES, ...HTTP_LIBRARIES, ...TUI_LIBRARIES);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // --- core ---------------------------------------------------------------------------
    {
      name: 'core-imports-no-edge',
      comment:
        'src/core is the domain: it must not import src/commands, src/server, src/tui or src/cli.ts. ' +
        'Move the shared code into src/core and let the edge call it.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: EDGE },
    },
    {
      name: 'core-imports-no-sandbox',
      comment:
        'src/core must not import src/sandbox (the WAHA stand-in is for trying the tool and for tests). ' +
        'Core talks to WAHA through its own client in src/core/waha.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'core-imports-no-edge-library',
      comment:
        'src/core must not import commander, fastify/@fastify/*, ink, react or cli-table3: ' +
        'parsing and rendering belong to src/commands, src/server and src/tui.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: EDGE_LIBRARIES },
    },
    {
      name: 'core-no-circular',
      comment:
        'No import cycle inside src/core (type-only imports count too): split the shared part into ' +
        'its own module that both sides import.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/core/', circular: true },
    },

    // --- edges do not import each other -------------------------------------------------
    {
      name: 'commands-reach-server-only-through-build-server',
      comment:
        'src/commands and src/cli.ts may load the server only through src/server/build-server.ts (`campaign serve`, ' +
        '`campaign demo`); anything else the commands need from the server belongs in src/core.',
      severity: 'error',
      from: { path: '^src/commands/|^src/cli\\.ts$' },
      to: { path: '^src/server/', pathNot: '^src/server/build-server\\.ts$' },
    },
    {
      name: 'commands-reach-tui-only-through-its-entry',
      comment:
        'src/commands and src/cli.ts may load the TUI only through src/tui/run-tui.tsx and src/tui/wake-on-notify.ts ' +
        '(`campaign tui`); anything else the commands need from the TUI belongs in src/core.',
      severity: 'error',
      from: { path: '^src/commands/|^src/cli\\.ts$' },
      to: { path: '^src/tui/', pathNot: '^src/tui/(run-tui\\.tsx|wake-on-notify\\.ts)$' },
    },
    {
      name: 'commands-load-server-and-tui-lazily',
      comment:
        'src/commands and src/cli.ts load the server and the TUI with a dynamic import() inside the command that ' +
        'needs them, so other commands never load fastify, ink or react. Use `await import(...)`.',
      severity: 'error',
      from: { path: '^src/commands/|^src/cli\\.ts$' },
      to: { path: '^src/(server|tui)/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'commands-import-no-server-or-tui-library',
      comment:
        'src/commands and src/cli.ts must not import fastify/@fastify/* or ink/react: the server and the TUI ' +
        'own them and are loaded lazily through their entry points, so other commands start without them.',
      severity: 'error',
      from: { path: '^src/commands/|^src/cli\\.ts$' },
      to: { path: packages(...HTTP_LIBRARIES, ...TUI_LIBRARIES) },
    },
    {
      name: 'server-imports-no-other-edge-library',
      comment: 'src/server must not import commander, cli-table3, ink or react: they belong to the CLI and the TUI.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: packages(...CLI_LIBRARIES, ...TUI_LIBRARIES) },
    },
    {
      name: 'tui-imports-no-other-edge-library',
      comment: 'src/tui must not import commander, cli-table3 or fastify/@fastify/*: they belong to the CLI and the server.',
      severity: 'error',
      from: { path: '^src/tui/' },
      to: { path: packages(...CLI_LIBRARIES, ...HTTP_LIBRARIES) },
    },
    {
      name: 'server-imports-no-other-edge',
      comment:
        'src/server must not import src/commands, src/tui, src/cli.ts or src/sandbox: ' +
        'what it shares with them belongs in src/core.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(commands|tui|sandbox)/|^src/cli\\.ts$' },
    },
    {
      name: 'tui-imports-no-other-edge',
      comment:
        'src/tui must not import src/commands, src/server, src/cli.ts or src/sandbox: ' +
        'what it shares with them belongs in src/core.',
      severity: 'error',
      from: { path: '^src/tui/' },
      to: { path: '^src/(commands|server|sandbox)/|^src/cli\\.ts$' },
    },

    // --- the sandbox and the migrations sit on core only --------------------------------
    {
      name: 'sandbox-imports-only-core',
      comment:
        'src/sandbox imports only src/core, itself and node: it must not import an edge, ' +
        'src/version.ts or another src/ module outside core.',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/', pathNot: '^src/(core|sandbox)/' },
    },
    {
      name: 'sandbox-imports-no-edge-library',
      comment: 'src/sandbox must not import commander, fastify/@fastify/*, ink, react or cli-table3 (it speaks plain node:http).',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: EDGE_LIBRARIES },
    },
    {
      name: 'migrations-import-only-core',
      comment:
        'migrations/ import only src/core (and kysely, node): a migration must not depend on an edge, ' +
        'the sandbox or anything that may change under it.',
      severity: 'error',
      from: { path: '^migrations/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'migrations-import-no-edge-library',
      comment: 'migrations/ must not import commander, fastify/@fastify/*, ink, react or cli-table3.',
      severity: 'error',
      from: { path: '^migrations/' },
      to: { path: EDGE_LIBRARIES },
    },

    // --- production code ----------------------------------------------------------------
    {
      name: 'production-imports-no-dev-dependency',
      comment:
        'src/ and migrations/ run in production, where `npm ci --omit=dev` leaves devDependencies out: ' +
        'move the package to "dependencies" in package.json, or keep the code in tests/ or bench/. ' +
        '(Type-only imports and @types/* are erased at build time and allowed.)',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '(^|/)node_modules/@types/' },
    },
    {
      name: 'production-imports-only-declared-packages',
      comment:
        'src/ and migrations/ import a package that package.json does not list (it only works because ' +
        'another package brought it in): add it to "dependencies".',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], pathNot: '(^|/)node_modules/@types/' },
    },
    {
      name: 'production-imports-no-tests',
      comment: 'src/ and migrations/ must not import tests/ or bench/ (they are not built or shipped).',
      severity: 'error',
      from: { path: '^(src|migrations)/' },
      to: { path: '^(tests|bench)/' },
    },
    {
      name: 'imports-resolve',
      comment:
        'This import does not resolve to a file or an installed package: fix the path (imports end in .js, ' +
        'which resolves to the .ts source) or install the package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count (a core file importing a Fastify type is still coupled to Fastify).
    tsPreCompilationDeps: true,
    // NodeNext: './x.js' resolves to './x.ts'.
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
