/**
 * The walls the build enforces (docs/architecture.md "Rules"): `npm run lint` fails on any of these.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No module imports itself through others: layers stay layers.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-is-the-shared-core',
      severity: 'error',
      comment: 'src/ is pure code both packages share: it imports nothing of the collector or the SDK.',
      from: { path: '^src/' },
      to: { path: '^(collector|instrumentations)/' },
    },
    {
      name: 'sdk-is-not-the-server',
      severity: 'error',
      comment: 'The in-app SDK never brings the collector (server, database, dashboard) into the app.',
      from: { path: '^instrumentations/' },
      to: { path: '^collector/' },
    },
    {
      name: 'routes-never-touch-the-database',
      severity: 'error',
      comment: 'Routes call services and the store facade; connections, transactions and SQL stay below them.',
      from: { path: '^collector/api/' },
      to: { path: ['^node_modules/@duckdb/', '^collector/store/(database|transaction|appender|migrations)\\.ts$'] },
    },
    {
      name: 'pure-pipeline',
      severity: 'error',
      comment: 'The pipeline is pure: no database, no HTTP.',
      from: { path: '^collector/pipeline/' },
      to: { path: ['^node_modules/@duckdb/', '^node_modules/fastify', '^collector/(store|api|http|receiver)/'] },
    },
    {
      name: 'jobs-know-no-feature',
      severity: 'error',
      comment: 'The job lifecycle (collector/jobs) is a building block: it imports nothing of the collector.',
      from: { path: '^collector/jobs/' },
      to: { path: '^(collector|src)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/|^node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs'] },
  },
};
