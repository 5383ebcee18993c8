/** What insights are computed from, read in one snapshot (every part of the answer sees the same commits). */
import type { Database } from '../../db/database.ts';
import { readSnapshot } from '../../db/transaction.ts';
import { insightInputs } from './insight-reads.ts';

export function insightInputsOf(db: Database) {
  return (fromMicros: bigint, toMicros: bigint, anomalyMultiple: number, maxTraces: number) =>
    db.read((conn) => readSnapshot(conn, () => insightInputs(conn, fromMicros, toMicros, anomalyMultiple, maxTraces)));
}
