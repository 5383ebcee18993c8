import { DuckDBInstance } from '@duckdb/node-api';
import { costDrivers } from './collector/reads/cost-driver-reads.ts';
import { metricsBuckets } from './collector/reads/metric-reads.ts';

const i = await DuckDBInstance.create('/work/prof/p.duckdb', { memory_limit: '512MB' });
const c = await i.connect();
await c.run("SET TimeZone = 'UTC'");
const scope = {
  fromMicros: BigInt(Date.now() - 61 * 86400e3) * 1000n,
  toMicros: BigInt(Date.now()) * 1000n,
  customerKeys: null,
};
for (let k = 0; k < 3; k++) {
  let s = performance.now();
  const a = await costDrivers(c, scope, 'model', 50);
  const t1 = performance.now() - s;
  s = performance.now();
  const b = await costDrivers(c, scope, 'model', 50, 'exact');
  console.log(
    'sketch',
    Math.round(t1),
    'exact',
    Math.round(performance.now() - s),
    a.quantiles,
    a.groups[0]?.traces,
    b.groups[0]?.traces,
  );
}
if (process.env.PROFILE) await c.run("PRAGMA enable_profiling = 'query_tree'");
