/* global module */ // CommonJS: dependency-cruiser loads it with require().
// The module boundaries of src/ (docs/architecture.md, "Module dependencies"), checked by
// `npm run lint`. Every rule is an error, and type-only imports count: a port or model imported "only
// for its type" still ties one module to the other.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-inward',
      comment:
        'The domain depends on nothing outside src/core: storage, HTTP, delivery, the runtime, the console, ' +
        'the CLI, the composition root and the configuration all depend on it (adapters implement its ports).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(store|api|delivery|functions|console|cli|server|config|telemetry|threads)/' },
    },
    {
      name: 'core-no-io-packages',
      comment:
        'The domain knows nothing of HTTP, SQL drivers or delivery protocols (this replaced the ESLint ' +
        'no-restricted-imports rule on src/core/**, so the boundaries are checked in one place).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '(^|/)node_modules/(@types/)?(fastify|@fastify/[^/]+|pg|better-sqlite3|undici|nodemailer|@opentelemetry/[^/]+)/' },
    },
    {
      name: 'api-not-store-or-console',
      comment:
        'Routes reach data only through core services (tenancy and policy checks live there), and the ' +
        'console is mounted by the composition root (src/server/herald.ts), not by the API server.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(store|console)/' },
    },
    {
      name: 'adapters-not-api',
      comment: 'Storage, delivery and the function runtime know nothing of HTTP routes or the API server.',
      severity: 'error',
      from: { path: '^src/(store|delivery|functions)/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'telemetry-is-leaf',
      comment:
        'src/telemetry (the OpenTelemetry SDK behind a small tracing facade, and event-loop readings) is used by the server, the API, ' +
        'delivery and the function runtime, and imports none of src/: spans carry plain traceparent strings.',
      severity: 'error',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/(?!telemetry/)' },
    },
    {
      name: 'threads-is-leaf',
      comment: 'src/threads (starting worker threads from Herald\'s own modules, built or under tsx) is used by the API and delivery, and imports none of src/.',
      severity: 'error',
      from: { path: '^src/threads/' },
      to: { path: '^src/(?!threads/)' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles in src/, type-only ones included (tsPreCompilationDeps below).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A module nothing imports and that imports nothing is dead code.',
      severity: 'error',
      from: { path: '^src/', orphan: true, pathNot: '\\.d\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'Shipped code may not load a devDependency at run time (`npm ci --omit=dev` leaves it out). The ' +
        'console app and its Vite config are excluded: they are built by Vite into dist/console/ at build ' +
        'time, so preact, vite and @preact/preset-vite are build tools, not run-time dependencies. Type-only ' +
        'imports (and @types/*) are erased by tsc and load nothing.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/console/app/', '^src/console/vite\\.config\\.ts$'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: 'node_modules/@types/' },
    },
    {
      name: 'no-non-package-json',
      comment: 'Every package src/ imports is declared in package.json.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing would also fail at run time (or hide a module from these rules).',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Keep `import type` and type-only re-exports in the graph: the rules above apply to them too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
