// Zarr in and out: stores written by zarr-python (v2) and tensorstore (v3), in every dtype and
// codec, read lazily one chunk per task on each scheduler; arrays written by meshwork read back by
// meshwork and by Python's zarr and xarray; and what goes wrong, said clearly.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import * as mw from "../../node/array.js";
import { DTypeError, FormatError, RemoteError, StoreError } from "../../node/index.js";
import { useCluster } from "../helpers/cluster.js";
import { assertSame, expectedArray, fixture, pattern, pythonWith } from "./fixtures.js";

const sync = { scheduler: "sync" } as const;
const DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64", "bool"] as const;

let tmp: string;
const c = useCluster({ workers: 2 });
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meshwork-zarr-"));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("reading stores written by zarr-python (v2)", () => {
  test("every dtype, with edge chunks, one task per chunk", async () => {
    for (const dt of DTYPES) {
      const x = await mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: dt });
      assert.deepEqual(x.chunks, [
        [3, 3, 1],
        [2, 2, 1],
      ]);
      assert.equal(x.taskCount, 9);
      assertSame(await x.compute(sync), pattern([7, 5], dt), `${dt} (sync)`);
      assertSame(await x.compute({ scheduler: c.client }), pattern([7, 5], dt), `${dt} (cluster)`);
    }
  });

  test("each codec: raw, zlib, gzip, zstd, lz4 and Blosc (lz4 + shuffle, zstd + bitshuffle, blosclz, zlib)", async () => {
    for (const name of [
      "raw",
      "zlib",
      "gzip",
      "zstd",
      "lz4",
      "blosc_lz4",
      "blosc_zstd_bitshuffle",
      "blosc_blosclz_noshuffle",
      "blosc_zlib",
    ]) {
      const x = await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: name });
      assertSame(await x.compute({ scheduler: c.client }), pattern([40, 30], "float32"), name);
    }
  });

  test("Blosc chunks of several blocks, split into streams, with a leftover block, for 2-, 4- and 8-byte elements", async () => {
    for (const [name, shape, dt] of [
      ["blosc_big", [128, 130], "float32"],
      ["blosc_big_f8", [40, 50], "float64"],
      ["blosc_big_i2", [64, 130], "int16"],
    ] as const) {
      const x = await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: name });
      assertSame(await x.compute(sync), pattern([...shape], dt), name);
    }
  });

  test("big-endian values and Fortran-ordered chunks", async () => {
    assertSame(
      await (await mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: "big_endian" })).compute(sync),
      pattern([6, 4], "float64"),
      "big endian",
    );
    assertSame(
      await (await mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: "order_f" })).compute({ scheduler: c.client }),
      pattern([5, 7], "int32"),
      "order F",
    );
  });

  test("chunks never written read as the fill value (an integer, and NaN)", async () => {
    const i = await (await mw.fromZarr(fixture("zarr2/fill.zarr"), { path: "int16" })).compute(sync);
    assertSame(
      i,
      expectedArray("zarr2/fill.zarr/int16").contiguous().toTypedArray() &&
        mw.NDArray.from(expectedArray("zarr2/fill.zarr/int16"), { dtype: "int16" }),
      "int16 fill -7",
    );
    const f = (await (
      await mw.fromZarr(fixture("zarr2/fill.zarr"), { path: "float32" })
    ).compute({ scheduler: c.client })) as mw.NDArray;
    assertSame(f, mw.NDArray.from(expectedArray("zarr2/fill.zarr/float32"), { dtype: "float32" }), "float32 fill NaN");
  });

  test("bigger blocks group whole storage chunks, so no chunk is read twice", async () => {
    const x = await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "raw", chunks: [30, -1] });
    // storage chunks are 20 × 16: 30 rows round up to 40, the whole axis of 30 columns to 32
    assert.deepEqual(x.chunks, [[40], [30]]);
    assertSame(await x.compute({ scheduler: c.client }), pattern([40, 30], "float32"), "grouped");
  });

  test("chunks stored without a compressor keep their values once the read buffer is reused (chunks of 2 MiB)", async () => {
    // Compressed chunks are read into the thread's scratch buffer and decoded out of it; a raw
    // chunk's values are the bytes read, so they are copied out before the buffer is reused.
    const data = mw.NDArray.from(
      Float64Array.from({ length: 3 * 262144 }, (_, i) => i * 0.5 - 7),
      { shape: [3, 262144] },
    );
    const store = join(tmp, "raw-2mib.zarr");
    await mw.fromArray(data, { chunks: [1, 262144] }).toZarr(store, { compressor: null, scheduler: "sync" });
    const x = await mw.fromZarr(store);
    assertSame(await x.compute(sync), data, "raw chunks, sync");
    assertSame(await x.compute({ scheduler: c.client }), data, "raw chunks, cluster");
  });

  test("int64 is named with the nearest dtype, and read as float64 when asked", async () => {
    await assert.rejects(
      mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: "int64" }),
      (e: Error) =>
        e instanceof DTypeError &&
        /int64/.test(e.message) &&
        /float64/.test(e.message) &&
        /dtype: "float64"/.test(e.message),
    );
    const x = await mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: "int64", dtype: "float64" });
    assertSame(await x.compute({ scheduler: c.client }), expectedArray("zarr2/dtypes.zarr/int64"), "int64 as float64");
    await assert.rejects(
      mw.fromZarr(fixture("zarr2/dtypes.zarr"), { path: "float16" }),
      (e: Error) => e instanceof DTypeError && /float16/.test(e.message) && /float32/.test(e.message),
    );
  });
});

describe("reading stores written by tensorstore (v3)", () => {
  test("every dtype", async () => {
    for (const dt of DTYPES)
      assertSame(
        await (await mw.fromZarr(fixture(`zarr3/dtype_${dt}`))).compute(sync),
        pattern([7, 5], dt),
        `v3 ${dt}`,
      );
  });

  test("codecs: bytes (little and big endian), gzip, zstd, blosc, transpose, crc32c, sharding", async () => {
    for (const [name, dt] of [
      ["raw", "float32"],
      ["big_endian", "float64"],
      ["gzip", "float32"],
      ["zstd", "float32"],
      ["blosc", "float32"],
      ["transpose", "int32"],
      ["crc32c", "float32"],
      ["sharded", "int16"],
    ] as const) {
      assertSame(
        await (await mw.fromZarr(fixture(`zarr3/${name}`))).compute({ scheduler: c.client }),
        pattern([40, 30], dt),
        `v3 ${name}`,
      );
    }
  });

  test("missing chunks read as the fill value", async () => {
    const v = (await (await mw.fromZarr(fixture("zarr3/fill"))).compute(sync)) as mw.NDArray;
    assert.deepEqual(v.toArray(), [
      [NaN, NaN, NaN, 0, 1, 2],
      [NaN, NaN, NaN, 3, 4, 5],
      [NaN, NaN, NaN, 6, 7, 8],
      [NaN, NaN, NaN, NaN, NaN, NaN],
      [NaN, NaN, NaN, NaN, NaN, NaN],
      [NaN, NaN, NaN, NaN, NaN, NaN],
    ]);
  });
});

describe("writing", () => {
  test("every dtype round-trips through each compressor, in v2 and v3, with edge chunks", async () => {
    for (const format of [2, 3] as const) {
      for (const compressor of ["blosc", "zstd", "gzip", "zlib", "lz4", null] as const) {
        for (const dt of DTYPES) {
          const data = pattern([11, 6], dt);
          const store = join(tmp, `rt-${format}-${compressor}-${dt}.zarr`);
          await mw.fromArray(data, { chunks: [4, 5] }).toZarr(store, { format, compressor, scheduler: c.client });
          const back = await mw.fromZarr(store);
          assert.deepEqual(
            back.chunks,
            [
              [4, 4, 3],
              [5, 1],
            ],
            `${format} ${compressor} ${dt}`,
          );
          assertSame(await back.compute(sync), data, `v${format} ${compressor} ${dt}`);
        }
      }
    }
  });

  test("irregular blocks are rechunked to whole Zarr chunks first; a group is made for a nested path", async () => {
    const x = mw.concatenate([mw.arange(0, 5, 1, { chunks: 5 }), mw.arange(0, 7, 1, { chunks: 3 })]);
    assert.deepEqual(x.chunks, [[5, 3, 3, 1]]);
    const store = join(tmp, "irregular.zarr");
    await x.toZarr(store, { path: "deep/a", scheduler: c.client });
    assert.ok(JSON.parse(readFileSync(join(store, ".zgroup"), "utf8")).zarr_format === 2);
    const back = await mw.fromZarr(store, { path: "deep/a" });
    assert.deepEqual(back.chunks, [[5, 5, 2]]);
    assert.deepEqual(((await back.compute(sync)) as mw.NDArray).toArray(), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6]);
  });

  test('an existing array is not overwritten unless mode is "w"', async () => {
    const store = join(tmp, "exists.zarr");
    await mw.ones([3]).toZarr(store, sync);
    await assert.rejects(
      mw.zeros([3]).toZarr(store, sync),
      (e: Error) => e instanceof StoreError && /mode: "w"/.test(e.message),
    );
    await mw.zeros([2, 2], { chunks: 1 }).toZarr(store, { mode: "w", ...sync });
    assert.deepEqual(((await (await mw.fromZarr(store)).compute(sync)) as mw.NDArray).toArray(), [
      [0, 0],
      [0, 0],
    ]);
  });

  test("bad options are named", async () => {
    await assert.rejects(
      mw.ones([3]).toZarr(join(tmp, "x.zarr"), { compresor: "zstd" } as never),
      /unknown toZarr option "compresor" \(did you mean "compressor"\?\)/,
    );
    await assert.rejects(
      mw.ones([3]).toZarr(join(tmp, "x.zarr"), { compressor: "snappy" as never }),
      /cannot write the "snappy" compressor/,
    );
    await assert.rejects(mw.ones([3]).toZarr(join(tmp, "x.zarr"), { format: 4 as never }), /format must be 2 or 3/);
    await assert.rejects(mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "../x" }), /must not contain/);
  });

  test("Python's zarr and xarray read what meshwork wrote", async (t) => {
    const py = pythonWith("zarr", "xarray", "numpy");
    if (!py) return t.skip("no Python with zarr and xarray here (install python3-xarray python3-zarr to run this)");
    const store = join(tmp, "for-python.zarr");
    for (const dt of DTYPES)
      await mw.fromArray(pattern([11, 6], dt), { chunks: [4, 5] }).toZarr(store, { path: dt, scheduler: c.client });
    const labeled = join(tmp, "labeled.zarr");
    await mw
      .fromArray(pattern([11, 6], "float32"), { chunks: [4, 5] })
      .toZarr(labeled, { path: "named", dimensionNames: ["y", "x"], attrs: { units: "K" }, scheduler: c.client });
    const script = `
import json, sys, numpy as np, zarr, xarray as xr
g = zarr.open_group(sys.argv[1], mode="r")
out = {dt: g[dt][:].tolist() for dt in ${JSON.stringify(DTYPES)}}
out["dtypes"] = {dt: str(g[dt].dtype) for dt in ${JSON.stringify(DTYPES)}}
da = xr.open_zarr(sys.argv[2], consolidated=False)["named"]
out["named"] = {"dims": list(da.dims), "units": da.attrs["units"], "sum": float(da.sum())}
print(json.dumps(out))`;
    const r = spawnSync(py, ["-c", script, store, labeled], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, unknown> & {
      dtypes: Record<string, string>;
      named: { dims: string[]; units: string; sum: number };
    };
    for (const dt of DTYPES) {
      assert.equal(got.dtypes[dt], dt, `numpy dtype of ${dt}`);
      assert.deepEqual(got[dt], pattern([11, 6], dt).toArray(), `values of ${dt}`);
    }
    assert.deepEqual(got.named.dims, ["y", "x"]);
    assert.equal(got.named.units, "K");
    const sum = (await mw
      .fromArray(pattern([11, 6], "float32"))
      .astype("float64")
      .sum()
      .compute(sync)) as number;
    assert.ok(Math.abs(got.named.sum - sum) <= 1e-6 * Math.abs(sum), `${got.named.sum} vs ${sum}`);
  });
});

describe("what goes wrong is named, and the cluster keeps working", () => {
  test("no store there, a group instead of an array, metadata that is not JSON, an unknown codec", async () => {
    await assert.rejects(
      mw.fromZarr(join(tmp, "nothing-here.zarr")),
      (e: Error) => e instanceof StoreError && /no Zarr array at file:\/\/.*nothing-here\.zarr/.test(e.message),
    );
    await assert.rejects(
      mw.fromZarr(fixture("zarr2/codecs.zarr")),
      (e: Error) => e instanceof FormatError && /is a Zarr group/.test(e.message),
    );
    const bad = join(tmp, "bad-json.zarr");
    cpSync(fixture("zarr2/codecs.zarr/raw"), bad, { recursive: true });
    writeFileSync(join(bad, ".zarray"), "{ not json");
    await assert.rejects(
      mw.fromZarr(bad),
      (e: Error) => e instanceof FormatError && /\.zarray is not valid JSON/.test(e.message),
    );
    const unknown = join(tmp, "unknown-codec.zarr");
    cpSync(fixture("zarr2/codecs.zarr/raw"), unknown, { recursive: true });
    const meta = JSON.parse(readFileSync(join(unknown, ".zarray"), "utf8"));
    writeFileSync(join(unknown, ".zarray"), JSON.stringify({ ...meta, compressor: { id: "snappy" } }));
    await assert.rejects(
      mw.fromZarr(unknown),
      (e: Error) => e instanceof FormatError && /"snappy"/.test(e.message) && /blosc/.test(e.message),
    );
  });

  test("a truncated chunk fails its task with a FormatError naming the chunk; other work is untouched", async () => {
    const store = join(tmp, "truncated.zarr");
    cpSync(fixture("zarr2/codecs.zarr/blosc_lz4"), store, { recursive: true });
    const whole = readFileSync(join(store, "1.1"));
    writeFileSync(join(store, "1.1"), whole.subarray(0, whole.length >> 1));
    const x = await mw.fromZarr(store);
    await assert.rejects(x.compute(sync), (e: Error) => e instanceof FormatError && /truncated/.test(e.message));
    const other = c.client.submit((a: number) => a * 2, 21);
    await assert.rejects(
      x.sum().compute({ scheduler: c.client }),
      (e: Error) => e instanceof RemoteError && e.remoteName === "FormatError" && /truncated/.test(e.message),
    );
    assert.equal(await other, 42);
    assertSame(
      await (await mw.fromZarr(fixture("zarr2/codecs.zarr"), { path: "raw" })).compute({ scheduler: c.client }),
      pattern([40, 30], "float32"),
      "after the failure",
    );
  });

  test("a raw chunk of the wrong size, and a store changed after it was opened", async () => {
    const store = join(tmp, "short-raw.zarr");
    cpSync(fixture("zarr2/codecs.zarr/raw"), store, { recursive: true });
    const x = await mw.fromZarr(store);
    writeFileSync(join(store, "0.0"), new Uint8Array(12));
    await assert.rejects(
      x.compute({ scheduler: c.client }),
      (e: Error) => e instanceof RemoteError && /chunk \(0, 0\) holds 3 values, not the 320/.test(e.message),
    );
    const meta = JSON.parse(readFileSync(join(store, ".zarray"), "utf8"));
    writeFileSync(join(store, ".zarray"), JSON.stringify({ ...meta, shape: [50, 30] }));
    // a fresh process would see the new metadata; this one has the array open, so a new client's plan differs
    const y = await mw.fromZarr(store);
    assert.deepEqual(y.shape, [40, 30], "the opened array is cached in this process");
  });
});
