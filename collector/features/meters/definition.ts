/**
 * Usage meters (docs/contract.md §11, like Polar's): which records a meter counts and how. Pure: validates a request
 * body into a definition, with every problem located. The SQL that applies a definition is features/meters/meter-sql.ts.
 *
 * Matching: a record matches when it is an event named `event_name` or a span named `span_name` (either, when both
 * are given; every event and span when neither is), and every listed attribute equals the given value (compared as
 * text: `42`, `true`, `"gpt-4o"`). Attributes are what the record was stored with: an event's metadata (nested keys
 * as `_llm.input_tokens`) and a span's kept attributes (README "Meters"). Allocated fixed costs are never metered.
 */
import { MAX_ID_LENGTH, MAX_METER_FILTER_ATTRIBUTES, MAX_NAME_LENGTH } from '../../core/limits.ts';

export const METER_FUNCS = ['count', 'sum', 'max', 'unique'] as const;
export type MeterFunc = (typeof METER_FUNCS)[number];

export interface MeterFilter {
  readonly eventName: string | null;
  readonly spanName: string | null;
  /** [key, value as text] pairs, all of which must hold. */
  readonly attributes: ReadonlyArray<readonly [string, string]>;
}

export interface Meter {
  readonly id: string;
  readonly name: string;
  readonly filter: MeterFilter;
  readonly func: MeterFunc;
  /** The attribute summed, maxed or counted distinct; null for `count`. */
  readonly property: string | null;
  readonly createdAtMicros: bigint;
  /**
   * Stored records the meter has measured so far, by start time: those before this (µs, a 15-minute boundary);
   * null once it has measured every record stored when it was defined (features/meters/meter-backfill.ts).
   */
  readonly backfillCursorMicros: bigint | null;
  /** Why the meter stopped measuring (a write could not evaluate it: features/meters/meters.ts), else null. */
  readonly disabledReason: string | null;
}

export interface MeterBody {
  name: string;
  filter?: { event_name?: string; span_name?: string; attributes?: Record<string, unknown> };
  aggregation: { func: MeterFunc; property?: string };
}

type Issue = { loc: Array<string | number>; msg: string; type: string };

/**
 * Attribute keys a meter may name: what OTel and event metadata keys look like (never SQL or JSON path syntax) —
 * dot-separated segments, none empty (`a..b` or `a.` would be a JSON path the engine refuses on every write).
 * Each segment starts after a dot, so the pattern cannot backtrack: linear in the key's length.
 */
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_\-:/]*(?:\.[A-Za-z0-9_\-:/]+)*$/;

function keyProblem(key: string): string | null {
  if (key.length === 0 || key.length > MAX_ID_LENGTH) return `must be 1 to ${MAX_ID_LENGTH} characters`;
  if (!KEY.test(key)) {
    return 'may hold letters, digits and _ . - : / only, starting with a letter, digit or _, with no empty part between dots';
  }
  return null;
}

function valueText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** The definition a body asks for, or the problems (422) with their locations. */
export function parseMeter(
  body: MeterBody,
  id: string,
  createdAtMicros: bigint,
): { ok: true; meter: Meter } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const name = body.name.trim();
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    issues.push({ loc: ['body', 'name'], msg: `must be 1 to ${MAX_NAME_LENGTH} characters`, type: 'value_error' });
  }
  const f = body.filter ?? {};
  const attributes: Array<[string, string]> = [];
  const entries = Object.entries(f.attributes ?? {});
  if (entries.length > MAX_METER_FILTER_ATTRIBUTES) {
    issues.push({
      loc: ['body', 'filter', 'attributes'],
      msg: `at most ${MAX_METER_FILTER_ATTRIBUTES} attributes; got ${entries.length}`,
      type: 'value_error',
    });
  }
  for (const [k, v] of entries.slice(0, MAX_METER_FILTER_ATTRIBUTES)) {
    const problem = keyProblem(k);
    const text = valueText(v);
    if (problem !== null)
      issues.push({ loc: ['body', 'filter', 'attributes', k], msg: `key ${problem}`, type: 'value_error' });
    else if (text === null) {
      issues.push({
        loc: ['body', 'filter', 'attributes', k],
        msg: 'must be a string, a finite number or a boolean',
        type: 'type_error',
      });
    } else attributes.push([k, text]);
  }
  for (const which of ['event_name', 'span_name'] as const) {
    const v = f[which];
    if (v !== undefined && (v === '' || v.length > MAX_NAME_LENGTH)) {
      issues.push({
        loc: ['body', 'filter', which],
        msg: `must be 1 to ${MAX_NAME_LENGTH} characters`,
        type: 'value_error',
      });
    }
  }
  const { func, property } = body.aggregation;
  if (func === 'count' && property !== undefined) {
    issues.push({
      loc: ['body', 'aggregation', 'property'],
      msg: 'count counts matching records and takes no property (use sum, max or unique)',
      type: 'value_error',
    });
  }
  if (func !== 'count') {
    const problem = property === undefined ? `${func} needs the attribute it aggregates` : keyProblem(property);
    if (problem !== null) issues.push({ loc: ['body', 'aggregation', 'property'], msg: problem, type: 'value_error' });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    meter: {
      id,
      name,
      filter: { eventName: f.event_name ?? null, spanName: f.span_name ?? null, attributes },
      func,
      property: func === 'count' ? null : (property ?? null),
      createdAtMicros,
      // A new meter has measured nothing yet.
      backfillCursorMicros: 0n,
      disabledReason: null,
    },
  };
}

/** The JSON paths that read an attribute: the flat key (span attributes), then the nested path (event metadata). */
export function attributePaths(key: string): string[] {
  const flat = `$."${key}"`;
  if (!key.includes('.')) return [flat];
  return [
    flat,
    `$.${key
      .split('.')
      .map((part) => `"${part}"`)
      .join('.')}`,
  ];
}
