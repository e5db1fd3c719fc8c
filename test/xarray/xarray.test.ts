// Labeled arrays against xarray: the climate fixture (written by xarray with CF times, packed
// values and missing values) opened from Zarr, decoded, selected, reduced, grouped by month and
// written back, compared with what xarray computed on the same data (test/fixtures/io/expected.json).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { AlignmentError, LabelError, StoreError, FormatError, ArgumentError } from "../../node/index.js";
import { DataArray, type Dataset, openDataset, openMfDataset } from "../../node/xarray.js";
import { startCluster, useCluster } from "../helpers/cluster.js";
import { expectedArray, expectedDType, fixture, pythonWith } from "../io/fixtures.js";

const sync = { scheduler: "sync" } as const;

/** Equal to what xarray computed: bit for bit, or within `rtol` where the arithmetic differs (sums in another order). */
function assertClose(actual: DataArray, name: string, rtol = 0, atol = 0): void {
  const e = expectedArray(name);
  assert.equal(actual.dtype, expectedDType(name), `${name}: dtype`);
  assert.deepEqual(actual.shape, e.shape, `${name}: shape`);
  const a = actual.values.contiguous().toTypedArray();
  const b = e.contiguous().toTypedArray();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = actual.dtype === "float32" ? Math.fround(b[i]!) : b[i]!;
    if (rtol === 0 && atol === 0) assert.ok(Object.is(x, y), `${name}[${i}]: ${x} vs xarray's ${y}`);
    else
      assert.ok(
        (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= rtol * Math.abs(y) + atol,
        `${name}[${i}]: ${x} vs xarray's ${y}`,
      );
  }
}

const F32 = 2e-6; // float32 sums accumulated in float64 here, pairwise in float32 by NumPy

let tmp: string;
const c = useCluster({ workers: 2 });
let ds: Dataset;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meshwork-xarray-"));
  ds = await openDataset(fixture("xr/climate.zarr"));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("opening a Zarr store written by xarray", () => {
  test("names, sizes, coordinates, attributes; CF times become dates", () => {
    assert.deepEqual(ds.sizes, { time: 147, lat: 5, lon: 6 });
    assert.deepEqual(ds.keys(), ["air", "precip"]);
    assert.deepEqual(ds.attrs, { source: "make_fixtures.py", title: "meshwork test climate" });
    const time = ds.coords.get("time")!;
    assert.equal(time.kind, "datetime");
    assert.deepEqual(Array.from(time.values.toTypedArray()), Array.from(expectedArray("xr/time_ms").toTypedArray()));
    assert.equal(time.encoding["units"], "days since 2020-01-01");
    assert.deepEqual(Array.from(ds.coords.get("lat")!.values.toTypedArray()), [60, 52.5, 45, 37.5, 30]);
    assert.deepEqual(ds.coords.get("lat")!.attrs, { units: "degrees_north" });
    const air = ds.get("air");
    assert.deepEqual(air.dims, ["time", "lat", "lon"]);
    assert.deepEqual(air.attrs, { long_name: "air temperature", units: "K" });
    assert.deepEqual(air.chunks, { time: [40, 40, 40, 27], lat: [5], lon: [6] });
  });

  test("values are xarray's to the bit: float32 with NaN, and int16 packed with scale, offset and a fill value", async () => {
    assertClose(await ds.get("air").compute(sync), "xr/air");
    const precip = ds.get("precip");
    assert.equal(precip.encoding["scale_factor"], 0.01);
    assert.equal(precip.encoding["_FillValue"], -32767);
    assert.ok(!("scale_factor" in precip.attrs));
    assertClose(await precip.compute({ scheduler: c.client }), "xr/precip");
  });

  test("printing shows dims, sizes, coordinates, chunks and attributes", () => {
    const text = String(ds.get("air"));
    assert.match(text, /<meshwork\.DataArray 'air' \(time: 147, lat: 5, lon: 6\)>/);
    assert.match(text, /chunksize=\(40, 5, 6\), blocks=4, dtype=float32/);
    assert.match(text, /\* time\s+\(time\) datetime 2020-01-01 2020-01-06 .*\.\.\. 2021-12-31/);
    assert.match(text, /units: K/);
    assert.match(String(ds), /Data variables:\n\s+air\s+\(time, lat, lon\) float32/);
  });
});

describe("over HTTP", () => {
  test("a Zarr store and a NetCDF-3 file served by the scheduler (--serve-data) open and compute on the workers as from disk", async () => {
    await using served = await startCluster({ workers: 2, page: { serveData: fixture(".") } });
    const zarr = await openDataset(`${served.cluster.dataUrl}xr/climate.zarr`);
    assert.deepEqual(zarr.sizes, { time: 147, lat: 5, lon: 6 });
    assertClose(await zarr.get("precip").compute({ scheduler: served.client }), "xr/precip");
    const nc = await openDataset(`${served.cluster.dataUrl}nc/climate3_64bit.nc`);
    assertClose(
      await nc.get("air").groupby("time.month").mean().compute({ scheduler: served.client }),
      "xr/air_clim",
      F32,
    );
  });
});

describe("opening NetCDF files written by xarray", () => {
  for (const file of ["climate4.nc", "climate4_contiguous.nc", "climate3_64bit.nc", "climate3_classic.nc"]) {
    test(`${file}: the same dataset as the Zarr store, values to the bit`, async () => {
      const nc = await openDataset(fixture(`nc/${file}`));
      assert.deepEqual(nc.sizes, { time: 147, lat: 5, lon: 6 });
      assert.deepEqual(nc.keys(), ["air", "precip"]);
      assert.deepEqual(
        Array.from(nc.coords.get("time")!.values.toTypedArray()),
        Array.from(expectedArray("xr/time_ms").toTypedArray()),
      );
      assert.equal(nc.get("air").attrs["units"], "K");
      assert.equal(nc.attrs["title"], "meshwork test climate");
      assertClose(await nc.get("air").compute({ scheduler: c.client }), "xr/air");
      assertClose(await nc.get("precip").compute(sync), "xr/precip");
      assertClose(
        await nc.get("air").groupby("time.month").mean().compute({ scheduler: c.client }),
        "xr/air_clim",
        F32,
      );
    });
  }

  test("a chunked NetCDF-4 file gives one block per stored chunk; chunks by dimension name group whole chunks", async () => {
    const nc = await openDataset(fixture("nc/climate4.nc"));
    assert.deepEqual(nc.get("air").chunks, { time: [40, 40, 40, 27], lat: [5], lon: [3, 3] });
    const big = await openDataset(fixture("nc/climate4.nc"), { chunks: { time: 80 } });
    assert.deepEqual(big.get("air").chunks, { time: [80, 67], lat: [5], lon: [3, 3] });
  });
});

describe("openMfDataset", () => {
  test("two files joined along time in the order of their dates, whatever order they are given in", async () => {
    const both = await openMfDataset([fixture("nc/y2021.nc"), fixture("nc/y2020.nc")], { concatDim: "time" });
    assert.deepEqual(both.sizes, { time: 147, lat: 5, lon: 6 });
    assert.deepEqual(
      Array.from(both.coords.get("time")!.values.toTypedArray()),
      Array.from(expectedArray("xr/time_ms").toTypedArray()),
    );
    assertClose(await both.get("air").compute({ scheduler: c.client }), "xr/air");
    const anomaly = both.get("air").sub(both.get("air").mean({ dim: "time" }));
    assert.deepEqual((await anomaly.isel({ time: 0 }).compute(sync)).dims, ["lat", "lon"]);
  });

  test("a glob, and the dimension inferred when only one differs between files", async () => {
    const both = await openMfDataset(fixture("nc/y202*.nc"));
    assert.deepEqual(both.sizes, { time: 147, lat: 5, lon: 6 });
  });

  test("files whose other dimensions disagree are an AlignmentError naming the file and the coordinate", async () => {
    await assert.rejects(
      openMfDataset([fixture("nc/y2020.nc"), fixture("nc/bad_lat.nc")], { concatDim: "time" }),
      (e: Error) => e instanceof AlignmentError && /"lat"/.test(e.message) && /bad_lat\.nc/.test(e.message),
    );
    await assert.rejects(
      openMfDataset([fixture("nc/y2020.nc"), fixture("nc/y2020.nc")], { concatDim: "time" }),
      (e: Error) => e instanceof AlignmentError && /overlap/.test(e.message),
    );
    await assert.rejects(openMfDataset([]), ArgumentError);
  });
});

describe("reductions by dimension name skip missing values, as xarray", () => {
  test("mean, max and std over time; mean over lat and lon; a sum of packed values", async () => {
    const air = ds.get("air");
    assertClose(await air.mean({ dim: "time" }).compute({ scheduler: c.client }), "xr/air_mean_time", F32);
    assertClose(await air.mean({ dim: ["lat", "lon"] }).compute(sync), "xr/air_mean_lat_lon", F32);
    assertClose(await air.max({ dim: "time" }).compute(sync), "xr/air_max_time");
    assertClose(await air.std({ dim: "time" }).compute({ scheduler: c.client }), "xr/air_std_time", 1e-5);
    assertClose(await ds.get("precip").sum({ dim: "time" }).compute(sync), "xr/precip_sum_time", F32);
  });

  test("skipna: false lets a NaN through", async () => {
    const m = await ds.get("air").mean({ dim: "time", skipna: false }).compute(sync);
    assert.ok(Number.isNaN(m.values.get(1, 2) as number));
    assert.ok(!Number.isNaN(m.values.get(0, 0) as number));
  });
});

describe("selection", () => {
  test("sel nearest, a label slice of dates (both ends included), isel", async () => {
    assertClose(
      await ds.get("air").sel({ lat: 50, method: "nearest" }).isel({ time: 0 }).compute(sync),
      "xr/air_sel_nearest_lat",
    );
    const spring = ds.get("air").sel({ time: { start: "2020-03-01", stop: "2020-06-30" } });
    assert.equal(spring.sizes["time"], 25);
    assertClose(await spring.mean({ dim: "time" }).compute({ scheduler: c.client }), "xr/air_time_slice_mean", F32);
    const corner = ds.get("air").isel({ lat: { start: 0, stop: 2 }, lon: [0, 5] });
    assert.deepEqual(corner.sizes, { time: 147, lat: 2, lon: 2 });
    assert.deepEqual(Array.from(corner.coords.get("lon")!.values.toTypedArray()), [0, 37.5]);
    const v = (await corner.isel({ time: 0 }).compute(sync)).values;
    const all = (await ds.get("air").isel({ time: 0 }).compute(sync)).values;
    assert.equal(v.get(1, 1), all.get(1, 5));
  });

  test("a label that is not there is a LabelError naming the labels; a dimension that is not there too", () => {
    assert.throws(
      () => ds.get("air").sel({ lat: 50 }),
      (e: Error) =>
        e instanceof LabelError && /50 is not a label of "lat".*from 60\.0 to 30\.0.*nearest/.test(e.message),
    );
    assert.throws(
      () => ds.get("air").sel({ level: 850 }),
      (e: Error) => e instanceof LabelError && /no dimension "level"/.test(e.message),
    );
    assert.throws(() => ds.get("air").sel({ time: "not a date" }), LabelError);
    assert.throws(
      () => ds.get("humidity"),
      (e: Error) => e instanceof LabelError && /"air", "precip"/.test(e.message),
    );
    assert.throws(() => ds.get("air").mean({ dim: "level" }), LabelError);
  });
});

describe("arithmetic lines arrays up by dimension name", () => {
  test("an anomaly from the time mean broadcasts over time", async () => {
    const air = ds.get("air");
    const anom = air.sub(air.mean({ dim: "time" }));
    assert.deepEqual(anom.dims, ["time", "lat", "lon"]);
    const v = (await anom.compute({ scheduler: c.client })).values;
    const a = (await air.compute(sync)).values;
    const m = (await air.mean({ dim: "time" }).compute(sync)).values;
    assert.equal(v.get(10, 2, 3), Math.fround((a.get(10, 2, 3) as number) - (m.get(2, 3) as number)));
  });

  test("operands in another dimension order, and different labels (the common ones are kept)", async () => {
    const air = ds.get("air");
    const t = air.transpose("lon", "time", "lat");
    assert.deepEqual(t.dims, ["lon", "time", "lat"]);
    const zero = (
      await air
        .sub(t)
        .max({ dim: ["time", "lat", "lon"] })
        .compute(sync)
    ).values.item();
    assert.equal(zero, 0);
    const north = air.isel({ lat: { start: 0, stop: 3 } });
    const mid = air.isel({ lat: { start: 1, stop: 5 } });
    const sum = north.add(mid);
    assert.deepEqual(Array.from(sum.coords.get("lat")!.values.toTypedArray()), [52.5, 45]);
    const got = (await sum.isel({ time: 0 }).compute(sync)).values;
    const a = (await air.isel({ time: 0 }).compute(sync)).values;
    assert.equal(got.get(0, 0), Math.fround((a.get(1, 0) as number) * 2));
  });

  test("sizes that differ with nothing to line them up by are an AlignmentError", () => {
    const a = new DataArray({ data: mw.ones([3, 2]), dims: ["x", "y"] });
    const b = new DataArray({ data: mw.ones([4]), dims: ["x"] });
    assert.throws(
      () => a.add(b),
      (e: Error) => e instanceof AlignmentError && /"x" has 3 positions on one side and 4/.test(e.message),
    );
  });

  test("rename, assignCoords, transpose with ...", () => {
    const air = ds
      .get("air")
      .rename({ lat: "latitude" })
      .assignCoords({ lon: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(air.dims, ["time", "latitude", "lon"]);
    assert.ok(air.coords.has("latitude"));
    assert.deepEqual(Array.from(air.coords.get("lon")!.values.toTypedArray()), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(air.transpose("lon", "...").dims, ["lon", "time", "latitude"]);
    assert.throws(() => air.assignCoords({ lon: [1, 2] }), ArgumentError);
  });
});

describe("groupby", () => {
  test("a monthly climatology and the anomaly from it", async () => {
    const air = ds.get("air");
    const clim = air.groupby("time.month").mean();
    assert.deepEqual(clim.dims, ["month", "lat", "lon"]);
    assert.deepEqual(
      Array.from(clim.coords.get("month")!.values.toTypedArray()),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    assertClose(await clim.compute({ scheduler: c.client }), "xr/air_clim", F32);
    const anom = air.groupby("time.month").sub(clim);
    assert.deepEqual(anom.dims, ["time", "lat", "lon"]);
    // Anomalies are small differences of values near 280 K: float32 rounding of the terms (~2e-5 K) is the tolerance.
    assertClose(
      await anom.mean({ dim: ["lat", "lon"] }).compute({ scheduler: c.client }),
      "xr/air_anom_mean_lat_lon",
      0,
      5e-5,
    );
  });

  test("the same on the sync scheduler, bit for bit with the cluster; by season and by a coordinate's values", async () => {
    const clim = ds.get("air").groupby("time.month").mean();
    const a = (await clim.compute(sync)).values.toTypedArray();
    const b = (await clim.compute({ scheduler: c.client })).values.toTypedArray();
    assert.deepEqual(Array.from(a), Array.from(b));
    const seasons = ds.get("air").groupby("time.season").max();
    assert.deepEqual(seasons.coords.get("season")!.strings, ["DJF", "JJA", "MAM", "SON"]);
    const byLat = ds.get("air").groupby("lat").count();
    assert.deepEqual(byLat.dims, ["time", "lat", "lon"]);
    assert.throws(() => ds.get("air").groupby("time.fortnight"), /no part "fortnight"/);
    assert.throws(() => ds.get("air").groupby("level"), LabelError);
  });
});

describe("writing Zarr", () => {
  test("a Dataset round-trips through toZarr and openDataset: names, coordinates, dates, attributes, values", async () => {
    const out = join(tmp, "roundtrip.zarr");
    const sub = ds.isel({ time: { start: 0, stop: 50 } });
    await sub.toZarr(out, { scheduler: c.client });
    const back = await openDataset(out);
    assert.deepEqual(back.sizes, { time: 50, lat: 5, lon: 6 });
    assert.deepEqual(back.attrs, ds.attrs);
    assert.ok(back.coords.get("time")!.equals(sub.coords.get("time")!));
    assert.equal(back.coords.get("time")!.encoding["units"], "days since 2020-01-01");
    for (const v of ["air", "precip"]) {
      const x = (await back.get(v).compute(sync)).values.toTypedArray();
      const y = (await sub.get(v).compute(sync)).values.toTypedArray();
      assert.deepEqual(Array.from(x), Array.from(y), v);
    }
    await assert.rejects(sub.toZarr(out), (e: Error) => e instanceof StoreError && /mode: "w"/.test(e.message));
  });

  test("xarray's open_zarr reads what meshwork wrote, with names, coordinates, dates and attributes", async (t) => {
    const py = pythonWith("xarray", "zarr");
    if (!py)
      return t.skip("no Python with xarray and zarr here (apt-get install python3-xarray python3-zarr to run this)");
    const out = join(tmp, "for-xarray.zarr");
    const point = ds.sel({ lat: 52.5, method: "nearest" });
    await point.toZarr(out, { scheduler: c.client });
    const script = `
import json, sys, xarray as xr
ds = xr.open_zarr(sys.argv[1])
print(json.dumps({"vars": sorted(ds.data_vars), "dims": dict(ds.sizes), "coords": sorted(ds.coords),
  "time0": str(ds.time.values[0])[:10], "lat": float(ds.lat), "units": ds.air.attrs.get("units"), "title": ds.attrs.get("title"),
  "air_sum": float(ds.air.sum()), "precip_dtype": str(ds.precip.dtype)}))`;
    const r = spawnSync(py, ["-c", script, out], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got.vars, ["air", "precip"]);
    assert.deepEqual(got.dims, { time: 147, lon: 6 });
    assert.deepEqual(got.coords, ["lat", "lon", "time"]);
    assert.equal(got.time0, "2020-01-01");
    assert.equal(got.lat, 52.5);
    assert.equal(got.units, "K");
    assert.equal(got.title, "meshwork test climate");
    const mine = (await point.get("air").sum().compute(sync)).values.item() as number;
    assert.ok(Math.abs(got.air_sum - mine) <= 1e-5 * Math.abs(mine), `${got.air_sum} vs ${mine}`);
  });
});

describe("what goes wrong", () => {
  test("nothing at the path, and a file that is neither NetCDF nor Zarr", async () => {
    await assert.rejects(
      openDataset(join(tmp, "absent.nc")),
      (e: Error) => e instanceof StoreError && /absent\.nc/.test(e.message),
    );
    const junk = join(tmp, "junk.nc");
    writeFileSync(junk, "this is not a netCDF file");
    await assert.rejects(
      openDataset(junk),
      (e: Error) => e instanceof FormatError && /neither a NetCDF file/.test(e.message),
    );
    await assert.rejects(
      openDataset(fixture("xr/climate.zarr"), { chunk: 3 } as never),
      /unknown openDataset option "chunk" \(did you mean "chunks"\?\)/,
    );
  });
});

describe("computing", () => {
  test("persist keeps blocks on the workers; compute of a Dataset gives values for every variable", async () => {
    const p = await ds.get("air").persist({ scheduler: c.client });
    assert.ok(p.data instanceof mw.ChunkedArray);
    assertClose(await p.compute({ scheduler: c.client }), "xr/air");
    const small = await ds.isel({ time: 0 }).compute({ scheduler: c.client });
    assert.ok(small.get("air").values instanceof mw.NDArray);
    assert.ok(small.get("precip").values instanceof mw.NDArray);
    assert.match(String(small.get("air")), /NDArray<float32>\[5, 6\]/);
  });
});
