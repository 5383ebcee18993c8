/**
 * One canonical form for every string used as text or key: well-formed Unicode, each lone UTF-16
 * surrogate replaced by U+FFFD. It is what DuckDB stores and what decoding invalid UTF-8 gives (protobuf
 * strings, Buffer#toString), so an id is the same key in memory, on disk and whichever encoding sent it —
 * two ids that differ only in lone surrogates are one id everywhere, never two in memory and one on disk.
 */
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

export function canonicalText(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}
