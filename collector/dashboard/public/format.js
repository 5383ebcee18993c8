// Display rules, one place: money is cents in the API and dollars on screen.

/** $1,234.56 for a cent or more; sub-cent amounts keep six decimals ($0.000123). */
export function money(cents) {
  if (cents === null || cents === undefined) return '—';
  const dollars = cents / 100;
  const digits = Math.abs(cents) >= 1 || cents === 0 ? 2 : 6;
  const text = Math.abs(dollars).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${dollars < 0 ? '−' : ''}$${text}`;
}

/** 0.975 → 97.5% */
export function percent(fraction) {
  if (fraction === null || fraction === undefined) return '—';
  return `${(fraction * 100).toFixed(1)}%`;
}

export function isoDate(d) {
  return d.toISOString().slice(0, 10);
}
