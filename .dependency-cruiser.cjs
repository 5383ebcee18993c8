/**
 * The walls the build enforces (docs/architecture.md "Rules"): `npm run lint` fails on any of these
 * (test/lint/walls.test.ts breaks each rule once and expects lint to fail). The folder and file size rules are
 * .ci/layout-lint.mjs.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** Pure models of the features: arithmetic and definitions, no I/O. Other features and the pipeline may use them. */
const MODELS =
  '^collector/features/(meters/definition|budgets/windows|budgets/webhook-address|insights/detect|billing/(bookings|currency|polar-event|polar-webhook|stripe-webhook)|prices/(allocate|book|book-index|book-schema|fx|price-span|pricing))\\.ts$';

/** What routes may use of a feature besides its model: its routes and service, and the files that give them types. */
const FOR_ROUTES = [
  MODELS,
  '^collector/features/[^/]+/(routes|service)\\.ts$',
  '^collector/features/(meters/meter-backfill|billing/billing-writes|prices/(price-books|reprice-runs))\\.ts$',
];

/** Where DuckDB may be touched: the engine, the writer, derived tables, reads and the feature stores. */
const DATABASE = ['^node_modules/@duckdb/', '^collector/db/'];

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
      name: 'core-is-the-base',
      severity: 'error',
      comment: 'collector/core (errors, limits, time, observability) imports nothing of the collector above it.',
      from: { path: '^collector/core/' },
      to: { path: '^collector/', pathNot: '^collector/core/' },
    },
    {
      name: 'db-is-the-engine',
      severity: 'error',
      comment: 'collector/db (database, transaction, SQL, schema, migrations) knows only core/ and src/.',
      from: { path: '^collector/db/' },
      to: { path: '^collector/', pathNot: '^collector/(db|core)/' },
    },
    {
      name: 'clickhouse-is-an-engine',
      severity: 'error',
      comment:
        'collector/clickhouse (the ClickHouse engine: DDL, schema, migrations, its SQL) knows only core/, src/ and the pure shapes both stores share (metrics/calendar.ts, metrics/customer-sorts.ts), and never chdb (the development engine lives in examples/support/clickhouse).',
      from: { path: '^collector/clickhouse/' },
      to: {
        path: ['^collector/', 'chdb', '^examples/'],
        pathNot: ['^collector/(clickhouse|core)/', '^collector/metrics/(calendar|customer-sorts)[.]ts$'],
      },
    },
    {
      name: 'writer-knows-projections-not-features',
      severity: 'error',
      comment:
        'The writer runs the Projection interface; wiring registers the features. It never imports a feature, a read, a route or HTTP.',
      from: { path: '^collector/writer/' },
      to: { path: '^collector/(features|derived|reads|api|http|receiver|dashboard)/' },
    },
    {
      name: 'derived-knows-no-feature',
      severity: 'error',
      comment: 'Derived tables (rollup, trace summaries) tell listeners through interfaces; they import no feature.',
      from: { path: '^collector/derived/' },
      to: { path: '^collector/(features|reads|api|http|receiver|dashboard)/' },
    },
    {
      name: 'reads-are-below-features',
      severity: 'error',
      comment: 'The core reads (collector/reads) answer from the database; no feature, route or HTTP in them.',
      from: { path: '^collector/reads/' },
      to: { path: '^collector/(features|api|http|receiver|writer|dashboard)/' },
    },
    {
      name: 'routes-never-touch-the-database',
      severity: 'error',
      comment:
        'Routes call the store facade and services; connections, transactions, SQL and the writer internals stay below them.',
      from: { path: '^collector/(api/|features/[^/]+/routes\\.ts$)' },
      to: {
        path: [...DATABASE, '^collector/derived/', '^collector/writer/(?!ingest-queue\\.ts$)', '^collector/features/'],
        pathNot: FOR_ROUTES,
      },
    },
    {
      name: 'features-meet-through-models',
      severity: 'error',
      comment: 'A feature imports another feature only through its pure model (definitions, windows, the price book).',
      from: { path: '^collector/features/([^/]+)/' },
      to: { path: '^collector/features/', pathNot: ['^collector/features/$1/', MODELS] },
    },
    {
      name: 'models-are-pure',
      severity: 'error',
      comment: "The features' models are pure: no database, no writer, no HTTP.",
      from: { path: MODELS },
      to: { path: [...DATABASE, '^node_modules/fastify', '^collector/(writer|derived|reads|api|http|receiver)/'] },
    },
    {
      name: 'pure-pipeline',
      severity: 'error',
      comment: 'The pipeline is pure: no database, no HTTP; of the features, only their models.',
      from: { path: '^collector/pipeline/' },
      to: {
        path: [
          ...DATABASE,
          '^node_modules/fastify',
          '^collector/(writer|derived|reads|api|http|receiver)/',
          '^collector/features/',
        ],
        pathNot: MODELS,
      },
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
