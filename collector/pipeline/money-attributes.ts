/**
 * Reads `_cost` / `_revenue` from span attributes (docs/contract.md §2): flat `<prefix>.amount` +
 * `<prefix>.currency`, or a kvlist `<prefix> = {amount, currency}`. Amounts are cents; an integral
 * amount may arrive as intValue (the JS SDK sends 3.0 as {"intValue":3}), so any numeric or decimal
 * string form is read. Currency defaults to usd when absent (Polar does the same); another ISO 4217 code is
 * returned as read (upper case) for the caller to convert with the price book's rates (features/prices/fx.ts).
 */
import { type Picocents, parseAmount, recordAmountProblem } from '../../src/money.ts';
import { DEFAULT_CURRENCY } from '../../src/semconv.ts';
import type { AttrMap, AttrValue } from '../decode/types.ts';

export type MoneyRead =
  | { kind: 'absent' }
  | { kind: 'ok'; picocents: Picocents; currency: string }
  | { kind: 'invalid'; reason: string };

const CURRENCY_RE = /^[A-Za-z]{3}$/;

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
    if (typeof currency !== 'string' || !CURRENCY_RE.test(currency)) {
      return {
        kind: 'invalid',
        reason: `${keys.currency} ${JSON.stringify(String(currency))} is not a currency code (usd, eur, …)`,
      };
    }
  }
  const parsed = parseAmount(amount);
  if (!parsed.ok) return { kind: 'invalid', reason: `${label}: ${parsed.reason}` };
  if (!keys.allowNegative && parsed.picocents < 0n) {
    return { kind: 'invalid', reason: `${label} must not be negative` };
  }
  const problem = recordAmountProblem(parsed.picocents);
  if (problem !== null) return { kind: 'invalid', reason: `${label} ${problem}` };
  const code = typeof currency === 'string' ? currency.toUpperCase() : DEFAULT_CURRENCY.toUpperCase();
  return { kind: 'ok', picocents: parsed.picocents, currency: code };
}
