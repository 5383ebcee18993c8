import { DuckDBInstance } from '@duckdb/node-api';
import { costDrivers } from './collector/reads/cost-driver-reads.ts';

const i = await DuckDBInstance.create('/work/prof/p.duckdb', { memory_limit: '512MB' });
const c = await i.connect();
await c.run("SET TimeZone = 'UTC'");
const r = (await c.runAndReadAll('SELECT epoch_us(max(slot)) FROM driver_slots')).getRows()[0][0];
const last = BigInt(r as bigint);
const day = 86_400_000_000n;
const d0 = (last / day) * day;
for (const [label, from, to] of [
  ['last day', d0, d0 + day],
  ['day before', d0 - day, d0],
] as const) {
  for (let k = 0; k < 2; k++) {
    const s = performance.now();
    const a = await costDrivers(c, { fromMicros: from, toMicros: to, customerKeys: null }, 'model', 50, 'exact');
    console.log(label, Math.round(performance.now() - s), 'ms', a.groups[0]?.traces);
  }
}
const s = performance.now();
await c.runAndReadAll(
  `SELECT count(*) FROM (SELECT trace_id, llm_model, sum(cost), sum(records) FROM driver_slots WHERE slot >= make_timestamp(${d0 - day}::BIGINT) AND slot < make_timestamp(${d0}::BIGINT) GROUP BY ALL)`,
);
console.log('group only', Math.round(performance.now() - s));
