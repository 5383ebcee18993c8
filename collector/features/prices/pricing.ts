/**
 * The price book in force: what normalization prices spans with (on the decode workers and inline) and what
 * records remember. Version 0 is "no book" (the bundled model table alone).
 */
import { EMPTY_BOOK, type PriceBook } from './book.ts';

export interface Pricing {
  /** Consecutive from 1 per database (`price_books`); 0 = no book. */
  readonly version: number;
  readonly book: PriceBook;
}

export const NO_PRICING: Pricing = { version: 0, book: EMPTY_BOOK };
