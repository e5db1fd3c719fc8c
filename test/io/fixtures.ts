// The files test/fixtures/io/make_fixtures.py (and make_zarr3.py) wrote with Python's reference
// implementations, and what NumPy and xarray computed on them (expected.json).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { NDArray, type DType } from "../../src/array/index.js";

export const FIXTURES = new URL("../fixtures/io/", import.meta.url);

/** A fixture's path on disk. */
export function fixture(rel: string): string {
  return new URL(rel, FIXTURES).pathname;
}

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | boolean | null)[];
}

const expected = JSON.parse(readFileSync(new URL("expected.json", FIXTURES), "utf8")) as {
  versions: Record<string, string>;
  arrays: Record<string, Expected>;
};

/** What Python computed for `name`, as an NDArray (NaN where JSON has null), float64 unless boolean. */
export function expectedArray(name: string): NDArray {
  const e = expected.arrays[name];
  if (!e) throw new Error(`no expected values named ${name} in expected.json`);
  if (e.dtype === "bool") return NDArray.from(e.values as boolean[], { shape: e.shape, dtype: "bool" });
  return NDArray.from(
    Float64Array.from(e.values, (v) => (v === null ? NaN : Number(v))),
    { shape: e.shape },
  );
}

export function expectedDType(name: string): string {
  return expected.arrays[name]!.dtype;
}

/**
 * make_fixtures.py's `pattern`: values that use a dtype's range, computed with the same float64
 * arithmetic, then stored as the dtype (floats rounded, integers from int64 as NumPy's astype).
 */
export function pattern(shape: number[], dtype: DType): NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const f = new Float64Array(n);
  if (dtype === "bool")
    return NDArray.from(
      Array.from({ length: n }, (_, i) => i % 3 === 0),
      { shape, dtype: "bool" },
    );
  if (dtype === "float32" || dtype === "float64") {
    for (let i = 0; i < n; i++) f[i] = (i - n / 3) * 1.25 + (i % 7) * 0.001;
    return NDArray.from(f, { shape, dtype });
  }
  const range: Record<string, [number, number]> = {
    int8: [-128, 127],
    uint8: [0, 255],
    int16: [-32768, 32767],
    uint16: [0, 65535],
    int32: [-2147483648, 2147483647],
    uint32: [0, 4294967295],
  };
  const [min, max] = range[dtype]!;
  const span = max - min;
  for (let i = 0; i < n; i++) f[i] = Math.trunc(min + ((i * 2654435761) % span));
  return NDArray.from(f, { shape, dtype });
}

/** Whether Python with the reference libraries is here (tests that run it say so when it is not). */
export function pythonWith(...modules: string[]): string | null {
  for (const py of [process.env["MESHWORK_PYTHON"], "/usr/bin/python3"].filter(Boolean) as string[]) {
    const r = spawnSync(py, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return null;
}

/** Equal dtype, shape and values, bit for bit (NaN equals NaN, -0 differs from 0). */
export function assertSame(actual: unknown, expected: NDArray, what: string): void {
  assert.ok(actual instanceof NDArray, `${what}: got ${String(actual)}`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  // Bit for bit: NaN equals NaN, -0 differs from 0.
  const a = actual.contiguous().toTypedArray();
  const b = expected.contiguous().toTypedArray();
  for (let i = 0; i < a.length; i++)
    assert.ok(Object.is(a[i], b[i]), `${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}
