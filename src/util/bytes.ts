// Byte sizes as people write them ("2GB", "512 MiB", 1e9) and as we print them.

import { ArgumentError } from "../errors.js";

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes in a size given as a number or a string like "2GB" or "512 MiB" (decimal and binary units). */
export function parseBytes(size: number | string): number {
  if (typeof size === "number") {
    if (!Number.isFinite(size) || size < 0)
      throw new ArgumentError(`a size must be a number of bytes ≥ 0, got ${size}`);
    return Math.floor(size);
  }
  const m = /^\s*([\d.]+(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(size);
  const unit = (m?.[2] || "b").toLowerCase();
  const factor = UNITS[unit];
  const n = Number(m?.[1]);
  if (!m || factor === undefined || !Number.isFinite(n)) {
    throw new ArgumentError(`cannot read "${size}" as a size; write e.g. "2GB", "512MiB" or a number of bytes`);
  }
  return Math.floor(n * factor);
}

/** "1.5 GB", "320 kB" … for messages and reports. */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1e3 && u < units.length - 1) {
    v /= 1e3;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}
