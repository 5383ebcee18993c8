/**
 * Shapes shared by the attribution memory (attribution-state.ts) and the writer SQL (span-writes.ts), kept
 * apart so neither imports the other.
 */
import type { Attribution } from '../../src/records.ts';
import type { ChainNode } from '../pipeline/attribution.ts';

export interface PendingSpan extends ChainNode {
  readonly traceId: string;
  readonly resourceCustomer: string | null;
  readonly tsMicros: bigint;
  /** What the span adds to the rollup, moved when its customer is resolved. */
  readonly costPicocents: bigint | null;
  readonly revenuePicocents: bigint | null;
}

export interface SettledSpan extends Attribution {
  readonly traceId: string;
  readonly spanId: string;
}

export interface AttributionUpdate {
  readonly traceId: string;
  readonly spanId: string;
  readonly chainCustomer: string | null;
  readonly pending: boolean;
  readonly customerId: string | null;
  /** The customer the span had while pending (its resource's, or none). */
  readonly previousCustomerId: string | null;
  /** Start of the span, µs: the sighting time if this makes a customer appear. */
  readonly tsMicros: bigint;
  readonly costPicocents: bigint | null;
  readonly revenuePicocents: bigint | null;
}

/** A parent to look up: its trace, its id and the earliest start (µs) known in its trace, which bounds the search. */
export interface ParentKey {
  readonly traceId: string;
  readonly spanId: string;
  readonly nearMicros: bigint;
}
