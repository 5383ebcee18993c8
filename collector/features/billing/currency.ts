/**
 * Billing amounts arrive as integers in the currency's minor unit (Polar and Stripe alike). Revenue is stored in
 * USD cents: USD as is; another currency is first read as hundredths of its unit (zero-decimal currencies ×100,
 * three-decimal ones ÷10 — ISO 4217 exponents, as Stripe lists them) and then converted with the price book's rate
 * for that UTC day (features/prices/fx.ts), exactly; with no rate it is refused, never guessed.
 */
import type { FxRate } from '../prices/book.ts';
import { toUsd } from '../prices/fx.ts';

const PICO = 10n ** 12n;
const ZERO_DECIMAL = new Set('BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.split(' '));
const THREE_DECIMAL = new Set('BHD JOD KWD OMR TND'.split(' '));

export type Converted =
  | { readonly ok: true; readonly usdPicocents: bigint; readonly original: Record<string, string> | null }
  | { readonly ok: false; readonly reason: string };

export function minorToUsdPicocents(
  minor: bigint,
  currency: string,
  atMicros: bigint,
  fx: readonly FxRate[],
): Converted {
  const code = currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) return { ok: false, reason: `"${currency}" is not an ISO 4217 currency code` };
  if (code === 'USD') return { ok: true, usdPicocents: minor * PICO, original: null };
  const hundredths = ZERO_DECIMAL.has(code)
    ? minor * 100n * PICO
    : THREE_DECIMAL.has(code)
      ? (minor * PICO) / 10n
      : minor * PICO;
  const converted = toUsd(fx, hundredths, code, atMicros);
  if (!converted.ok) return { ok: false, reason: `${converted.reason}; add an fx rate to the price book` };
  return {
    ok: true,
    usdPicocents: converted.usdPicocents,
    original: { original_amount_minor: minor.toString(), original_currency: code },
  };
}
