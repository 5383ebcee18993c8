/** Types of format.js (plain browser JavaScript, also used by the dashboard tests). */
export declare function money(cents: number | null | undefined): string;
export declare function percent(fraction: number | null | undefined): string;
export declare function isoDate(d: Date): string;
