/** Waits until meter `id` has measured every record stored before it was defined (its backfill, in chunks). */
export async function meterBackfilled(url: string, id: string, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${url}/v1/meters/${id}`, { headers });
    const meter = (await res.json()) as { backfill_complete?: boolean };
    if (res.status === 200 && meter.backfill_complete === true) return;
    if (Date.now() > deadline) throw new Error(`meter ${id} did not finish measuring the stored records`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
