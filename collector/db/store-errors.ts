/**
 * Classifies a failed write where it is born (as the Collector's consumererror does): a refusal caused by
 * the request's own data is permanent (the client's to fix, retrying cannot help); anything else — disk,
 * memory, a closed or invalidated database — is the store's trouble and retryable.
 *
 * DuckDB names the class of every error in its message ("Constraint Error: …"); a value out of a column's
 * range while appending comes from the bindings as "bigint out of uint64 range". Anything unrecognised is
 * treated as the store's (503): a client retries rather than losing data to a misclassified bug.
 */
const DATA_ERROR_RE =
  /^(Constraint|Conversion|Invalid Input|Out of Range|Mismatch Type) Error\b|^bigint out of \w+ range$/;

/** Raised by our own writers when a value cannot be stored exactly (e.g. a sum past its column). */
export class ValueRangeError extends Error {
  override readonly name = 'ValueRangeError';
}

export function isDataRefusal(err: unknown): boolean {
  if (err instanceof ValueRangeError) return true;
  return err instanceof Error && DATA_ERROR_RE.test(err.message);
}
