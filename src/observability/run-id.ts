/**
 * UUIDv7 run ids, the format LangChain and LangSmith use for run ids (time-ordered), for runs whose id the caller
 * did not choose but the kit needs to know in advance.
 */
import { randomFillSync } from "node:crypto";

const POOL_SIZE = 16 * 256;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const h = (n: number): string => HEX[n & 0xff] as string;

/** A new UUIDv7 string (48-bit millisecond timestamp, 74 random bits). */
export function uuidv7(nowMs: number = Date.now()): string {
  if (offset + 10 > POOL_SIZE) {
    // One system call per 400 ids instead of one per id.
    randomFillSync(pool);
    offset = 0;
  }
  const r = pool;
  const o = offset;
  offset += 10;
  const ms = Math.floor(nowMs);
  const hi = Math.floor(ms / 0x10000);
  const lo = ms % 0x10000;
  return (
    h(hi >>> 24) +
    h(hi >>> 16) +
    h(hi >>> 8) +
    h(hi) +
    "-" +
    h(lo >>> 8) +
    h(lo) +
    "-" +
    h(0x70 | ((r[o] as number) & 0x0f)) +
    h(r[o + 1] as number) +
    "-" +
    h(0x80 | ((r[o + 2] as number) & 0x3f)) +
    h(r[o + 3] as number) +
    "-" +
    h(r[o + 4] as number) +
    h(r[o + 5] as number) +
    h(r[o + 6] as number) +
    h(r[o + 7] as number) +
    h(r[o + 8] as number) +
    h(r[o + 9] as number)
  );
}
