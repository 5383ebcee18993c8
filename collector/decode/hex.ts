const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes → lower-case hex (OTLP ids). */
export function bytesToHex(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += BYTE_TO_HEX[bytes[i] as number];
  return out;
}
