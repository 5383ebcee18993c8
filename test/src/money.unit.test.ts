import { describe, expect, it } from 'vitest';
import { formatPicocents, parseAmount, parseDecimalString } from '../../src/money.ts';

const ok = (text: unknown) => {
  const r = parseAmount(text);
  if (!r.ok) throw new Error(r.reason);
  return formatPicocents(r.picocents);
};
const reason = (text: unknown) => {
  const r = parseAmount(text);
  if (r.ok) throw new Error(`expected a rejection, got ${formatPicocents(r.picocents)}`);
  return r.reason;
};

describe('money: parsing cents exactly', () => {
  it.each([
    ['0', '0'],
    ['1', '1'],
    ['0.000000000001', '0.000000000001'],
    ['100000000.001', '100000000.001'],
    ['-2.50', '-2.5'],
    ['+3', '3'],
    ['.5', '0.5'],
    ['1.5e3', '1500'],
    ['25E-2', '0.25'],
    [' 7 ', '7'],
    ['99999999999999999999999999.999999999999', '99999999999999999999999999.999999999999'],
  ])('decimal string %j → %s', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });

  it.each([
    [0.25, '0.25'],
    [3, '3'],
    [0.1 + 0.2, '0.3'],
    [1e-12, '0.000000000001'],
    [1e-13, '0'],
    [2.5e-12, '0.000000000002'],
    [3.5e-12, '0.000000000004'],
    [-0.75, '-0.75'],
  ])('float %d → %s (shortest decimal, half-even at 12 places)', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });

  it('reads unsafe int64 values exactly', () => {
    expect(ok(9007199254740993n)).toBe('9007199254740993');
  });

  it.each([
    ['abc', 'is not a decimal number'],
    ['', 'is not a decimal number'],
    ['1.2.3', 'is not a decimal number'],
    ['NaN', 'is not a decimal number'],
    ['Infinity', 'is not a decimal number'],
    ['0x10', 'is not a decimal number'],
    ['0.0000000000001', 'more than 12 decimal places'],
    ['1e999', 'exponent out of range'],
    ['1e30', 'out of range'],
  ])('rejects string %j (%s)', (input, fragment) => {
    expect(reason(input)).toContain(fragment);
  });

  it.each([
    [Number.NaN, 'not a finite number'],
    [Number.POSITIVE_INFINITY, 'not a finite number'],
    [true, 'expected a number or a decimal string, got boolean'],
    [null, 'got null'],
    [[1], 'got an array'],
  ])('rejects %j', (input, fragment) => {
    expect(reason(input)).toContain(fragment);
  });

  it('sums 10^6 × 0.000000001 + 100000000 exactly', () => {
    const tiny = parseDecimalString('0.000000001');
    const big = parseDecimalString('100000000');
    if (!tiny.ok || !big.ok) throw new Error('parse failed');
    let total = big.picocents;
    for (let i = 0; i < 1_000_000; i++) total += tiny.picocents;
    expect(formatPicocents(total)).toBe('100000000.001');
  });
});
