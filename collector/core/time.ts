/**
 * Time in the collector, in one place: instants are µs since the Unix epoch (bigint), days and 15-minute slots are
 * UTC. SQL helpers convert a day number (days since 1970-01-01) to and from DuckDB DATEs.
 */

export const DAY_MICROS = 86_400_000_000n;
/** The rollup's and the summaries' time grain: 15 minutes. */
export const SLOT_MICROS = 900_000_000n;

/** SQL for the DATE of a day number (days since 1970-01-01, UTC). */
export const dayDate = (day: number): string => `(DATE '1970-01-01' + ${day})`;

/** SQL for a DATE column as a day number. */
export const dayNumber = (column: string): string => `(${column} - DATE '1970-01-01')::INTEGER`;
