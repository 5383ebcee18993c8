/**
 * Re-pricing works in chunks of whole 15-minute slots holding about N records each (one transaction each): every
 * slot with records is covered exactly once, in order, and a slot bigger than N is a chunk of its own.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { recordChunks } from '../../../collector/reads/record-chunks.ts';

const SLOT = 900_000_000n;

it('covers every slot with records once, in order, in chunks of about N records', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`CREATE TABLE rollup_15m (customer_key INTEGER, slot TIMESTAMP, revenue DECIMAL(38,12),
    costs DECIMAL(38,12), records BIGINT)`);
  // slot index → records (two customers in slot 2; slot 5 has none left; slot 9 alone exceeds N)
  const rows: Array<[number, number, number]> = [
    [1, 0, 3],
    [1, 1, 2],
    [1, 2, 1],
    [2, 2, 1],
    [1, 5, 0],
    [1, 6, 4],
    [1, 9, 12],
    [1, 10, 1],
    [1, 40, 2],
  ];
  for (const [key, slot, n] of rows) {
    await conn.run(`INSERT INTO rollup_15m VALUES (${key}, make_timestamp(${BigInt(slot) * SLOT}), 0, 0, ${n})`);
  }
  const chunks = await recordChunks(conn, 0n, 100n * SLOT, 5);
  const slots = (a: number, b: number) => [BigInt(a) * SLOT, BigInt(b) * SLOT];
  expect(chunks).toEqual([slots(0, 2), slots(2, 3), slots(6, 7), slots(9, 10), slots(10, 41)]);
  // The window bounds which slots count.
  expect(await recordChunks(conn, 6n * SLOT, 10n * SLOT, 5)).toEqual([slots(6, 7), slots(9, 10)]);
  conn.closeSync();
  instance.closeSync();
});
