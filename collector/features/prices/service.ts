/**
 * The price book in force and its replacement. At start-up a `--prices FILE` is authoritative: when its content
 * differs from the latest stored version it becomes a new version (`file`); without a file the latest stored
 * book (from an earlier PUT) stays in force. `replace` (PUT /v1/prices) validates, stores a new version (`api`)
 * and hands it to the decoders; a refused book changes nothing.
 */
import { readFileSync } from 'node:fs';
import type { Database } from '../../db/database.ts';
import type { AttrMap, AttrValue } from '../../decode/types.ts';
import { collectorCost } from '../../pipeline/normalize.ts';
import { recordChunks } from '../../reads/record-chunks.ts';
import type { DecodePool } from '../../receiver/decode-pool.ts';
import type { IngestQueue } from '../../writer/ingest-queue.ts';
import { type AllocationTally, Allocator } from './allocator.ts';
import { type BookProblem, parsePriceBook } from './book.ts';
import { type BookOrigin, latestBook, type StoredBook, saveBook } from './price-books.ts';
import { NO_PRICING, type Pricing } from './pricing.ts';
import { type RepriceTally, repriceChunk, type StoredSpanToPrice } from './reprice.ts';
import { finishRun, lastRun, type RepriceRun, startRun } from './reprice-runs.ts';

/** A price book file that cannot be used: the collector does not start (every problem listed). */
export class PriceBookFileError extends Error {
  override readonly name = 'PriceBookFileError';
}

/** Stored attributes (JSON) back into the decoder's shape: objects become maps, as OTLP kvlists decode. */
function attributesFromJson(json: string): AttrMap {
  const toValue = (v: unknown): AttrValue => {
    if (Array.isArray(v)) return v.map(toValue);
    if (v !== null && typeof v === 'object') {
      return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toValue(x)]));
    }
    return v as AttrValue;
  };
  return toValue(JSON.parse(json)) as AttrMap;
}

export interface RepriceResult extends RepriceTally {
  readonly allocations: AllocationTally;
}

export type Replaced = { ok: true; stored: StoredBook } | { ok: false; problems: BookProblem[] };

export class Prices {
  private inForce: Pricing = NO_PRICING;
  /** Fixed bills: allocated per closed UTC day (allocator.ts). */
  readonly allocator: Allocator;

  /** Re-pricing runs this process is running (an unfinished run not among them was interrupted). */
  private readonly running = new Set<number>();

  private constructor(
    private readonly db: Database,
    private readonly queue: IngestQueue,
    private readonly decoder: DecodePool,
    private readonly nowMicros: () => bigint,
    private stored: StoredBook | null,
    retainSpansDays: number,
  ) {
    this.allocator = new Allocator(queue, () => this.inForce, nowMicros, retainSpansDays);
  }

  static async open(
    db: Database,
    queue: IngestQueue,
    decoder: DecodePool,
    nowMicros: () => bigint,
    file: string | undefined,
    retainSpansDays = 0,
  ): Promise<Prices> {
    const latest = await db.read((conn) => latestBook(conn));
    const prices = new Prices(db, queue, decoder, nowMicros, latest, retainSpansDays);
    if (file !== undefined) {
      let input: unknown;
      try {
        input = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new PriceBookFileError(`cannot read the price book ${file}: ${(err as Error).message}`);
      }
      const r = await prices.replace(input, 'file');
      if (!r.ok) {
        const listed = r.problems.map((p) => `  ${p.loc.join('.') || '(book)'}: ${p.msg}`).join('\n');
        throw new PriceBookFileError(`the price book ${file} has ${r.problems.length} problem(s):\n${listed}`);
      }
    } else if (latest !== null) {
      const parsed = parsePriceBook(JSON.parse(latest.json));
      if (!parsed.ok) throw new PriceBookFileError(`stored price book version ${latest.version} no longer parses`);
      prices.use({ version: latest.version, book: parsed.book });
    }
    return prices;
  }

  /** The latest stored version, or null when there has never been a book. */
  current(): StoredBook | null {
    return this.stored;
  }

  /** The book in force, parsed (for the main thread: events' FX rates). */
  pricing(): Pricing {
    return this.inForce;
  }

  private use(pricing: Pricing): void {
    this.inForce = pricing;
    this.decoder.setPricing(pricing);
  }

  /**
   * Re-prices collector-priced spans that started in [fromMicros, toMicros) with the book in force, about 10,000
   * records per transaction on the writer (ingest goes on between them), then re-allocates the window's closed days.
   */
  async reprice(fromMicros: bigint, toMicros: bigint): Promise<RepriceResult> {
    const spans = await this.repriceSpans(fromMicros, toMicros);
    return { ...spans, allocations: await this.allocator.reallocate(fromMicros, toMicros) };
  }

  /** The latest re-pricing run (reprice-runs.ts), and whether this process is still running it. */
  async lastReprice(): Promise<{ run: RepriceRun; running: boolean } | null> {
    const run = await this.db.read(lastRun);
    return run === null ? null : { run, running: this.running.has(run.id) };
  }

  private async repriceSpans(fromMicros: bigint, toMicros: bigint): Promise<RepriceTally> {
    const pricing = this.inForce;
    const tally: RepriceTally = { records: 0, changed: 0, deltaPicocents: 0n };
    const runId = await this.queue.exclusive((conn) =>
      startRun(conn, fromMicros, toMicros, pricing.version, this.nowMicros()),
    );
    this.running.add(runId);
    try {
      await this.repriceInChunks(fromMicros, toMicros, pricing, tally, runId);
      await this.queue.exclusive((conn) => finishRun(conn, runId, this.nowMicros()));
    } finally {
      this.running.delete(runId);
    }
    return tally;
  }

  private async repriceInChunks(
    fromMicros: bigint,
    toMicros: bigint,
    pricing: Pricing,
    tally: RepriceTally,
    runId: number,
  ): Promise<void> {
    const chunks = await this.queue.exclusive((conn) => recordChunks(conn, fromMicros, toMicros));
    const price = (s: StoredSpanToPrice) =>
      collectorCost(
        {
          name: s.name,
          scopeName: s.scopeName,
          startTimeUnixNano: s.startTimeUnixNano,
          endTimeUnixNano: s.endTimeUnixNano,
          attributes: attributesFromJson(s.attributesJson),
        },
        pricing,
      );
    for (const [from, to] of chunks) {
      await this.queue.exclusive((conn, _customers, projections) =>
        repriceChunk(conn, projections, from, to, price, tally, this.nowMicros(), runId),
      );
    }
  }

  async replace(input: unknown, origin: BookOrigin): Promise<Replaced> {
    const parsed = parsePriceBook(input);
    if (!parsed.ok) return parsed;
    const json = JSON.stringify(input);
    if (this.stored !== null && this.stored.json === json) {
      // The same book again (a restart with the same file, a repeated PUT): no new version.
      this.use({ version: this.stored.version, book: parsed.book });
      return { ok: true, stored: this.stored };
    }
    const stored = await this.queue.exclusive((conn) => saveBook(conn, json, origin, this.nowMicros()));
    this.stored = stored;
    this.use({ version: stored.version, book: parsed.book });
    return { ok: true, stored };
  }
}
