// Mirrors the README's "Real data: Zarr, NetCDF and labeled arrays" block line for line, with the
// fixtures under the names the README uses, in a directory of its own (relative paths resolve
// against the working directory, as in a user's script).

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as mw from "../../node/array.js";
import { openDataset, openMfDataset } from "../../node/xarray.js";
import { startCluster } from "../helpers/cluster.js";
import { fixture } from "../io/fixtures.js";

test("the README's real-data block runs as written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-readme-"));
  const cwd = process.cwd();
  await using _cluster = await startCluster({ workers: 2 }); // the README block computes on the default client
  try {
    cpSync(fixture("xr/climate.zarr"), join(dir, "data/air.zarr"), { recursive: true });
    cpSync(fixture("nc/y2020.nc"), join(dir, "y2020.nc"));
    cpSync(fixture("nc/y2021.nc"), join(dir, "y2021.nc"));
    process.chdir(dir);

    const x = await mw.fromZarr("data/air.zarr", { path: "air" });
    await x.mul(2).toZarr("out.zarr", { path: "air2" });
    const doubled = (await (await mw.fromZarr("out.zarr", { path: "air2" })).compute()) as mw.NDArray;
    const original = (await x.compute()) as mw.NDArray;
    assert.equal(doubled.get(10, 2, 3), Math.fround((original.get(10, 2, 3) as number) * 2));

    const ds = await openMfDataset(["y2020.nc", "y2021.nc"], { concatDim: "time", chunks: { time: 365 } });
    const air = ds.get("air");
    assert.deepEqual(air.dims, ["time", "lat", "lon"]);
    const anomaly = air.sub(air.mean({ dim: "time" }));
    const first = await anomaly.isel({ time: 0 }).compute();
    assert.deepEqual(first.dims, ["lat", "lon"]);
    assert.ok(first.values instanceof mw.NDArray);
    const clim = air.groupby("time.month").mean();
    const monthly = air.groupby("time.month").sub(clim);
    assert.deepEqual(clim.dims, ["month", "lat", "lon"]);
    assert.deepEqual(monthly.dims, ["time", "lat", "lon"]);
    await ds.sel({ lat: 52.5, method: "nearest" }).toZarr("point.zarr");
    assert.ok(existsSync(join(dir, "point.zarr/.zmetadata")));
    const point = await openDataset("point.zarr");
    assert.deepEqual(point.sizes, { time: 147, lon: 6 });
    assert.equal(point.coords.get("lat")!.values.item(), 52.5);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
