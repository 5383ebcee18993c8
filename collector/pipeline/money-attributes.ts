/**
 * Reads `_cost` / `_revenue` from span attributes (CONTRACT.md §2): flat `<prefix>.amount` +
 * `<prefix>.currency`, or a kvlist `<prefix> = {amount, currency}`. Amounts are cents; an integral
 * amount may arrive as intValue (the JS SDK sends 3.0 as {"intValue":3}), so any numeric or decimal
 * string form is read. Currency defaults to usd when absent (Polar does the same).
 */
import { type Picocents, parseAmount, recordAmountProblem } from '../../src/money.ts';
import { SUPPORTED_CURRENCIES } from '../../src/semconv.ts';
import type { AttrMap, AttrValue } from '../decode/types.ts';

export type MoneyRead = { kind: 'absent' } | { kind: 'ok'; picocents: Picocents } | { kind: 'invalid'; reason: string };

export interface MoneyKeys {
  readonly object: string;
  readonly amount: string;
  readonly currency: string;
  readonly allowNegative: boolean;
}

export function readMoney(attributes: AttrMap, keys: MoneyKeys): MoneyRead {
  let amount: AttrValue | undefined = attributes.get(keys.amount);
  let currency: AttrValue | undefined = attributes.get(keys.currency);
  let label = keys.amount;
  if (amount === undefined) {
    const obj = attributes.get(keys.object);
    if (obj instanceof Map) {
      amount = obj.get('amount');
      currency = obj.get('currency');
      label = `${keys.object}.amount`;
    } else if (obj !== undefined) {
      return { kind: 'invalid', reason: `${keys.object} must be a kvlist {amount, currency}` };
    }
  }
  if (amount === undefined) {
    if (currency !== undefined) return { kind: 'invalid', reason: `${keys.currency} given without an amount` };
    return { kind: 'absent' };
  }
  if (currency !== undefined && currency !== null) {
    if (typeof currency !== 'string' || !SUPPORTED_CURRENCIES.has(currency.toLowerCase())) {
      return { kind: 'invalid', reason: `${keys.currency} ${JSON.stringify(String(currency))} is not supported (usd)` };
    }
  }
  const parsed = parseAmount(amount);
  if (!parsed.ok) return { kind: 'invalid', reason: `${label}: ${parsed.reason}` };
  if (!keys.allowNegative && parsed.picocents < 0n) {
    return { kind: 'invalid', reason: `${label} must not be negative` };
  }
  const problem = recordAmountProblem(parsed.picocents);
  if (problem !== null) return { kind: 'invalid', reason: `${label} ${problem}` };
  return { kind: 'ok', picocents: parsed.picocents };
}
