import { DuckDBInstance } from '@duckdb/node-api';
import { costDrivers } from './collector/reads/cost-driver-reads.ts';

const i = await DuckDBInstance.create('/work/prof/p.duckdb', { memory_limit: '512MB' });
const c = await i.connect();
await c.run("SET TimeZone = 'UTC'");
const scope = {
  fromMicros: BigInt(Date.now() - 61 * 86400e3) * 1000n,
  toMicros: BigInt(Date.now()) * 1000n,
  customerKeys: null,
};
await costDrivers(c, scope, 'model', 50);
for (const m of ['run', 'runAndReadAll'] as const) {
  const orig = (c as any)[m].bind(c);
  (c as any)[m] = async (sql: string, p?: unknown) => {
    const s = performance.now();
    const r = await orig(sql, p);
    console.log(Math.round(performance.now() - s), 'ms', sql.replace(/\s+/g, ' ').slice(0, 110));
    return r;
  };
}
const s = performance.now();
await costDrivers(c, scope, 'model', 50);
console.log('total', Math.round(performance.now() - s));
