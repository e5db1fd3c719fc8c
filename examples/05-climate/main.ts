// Example 5: a climate dataset in Zarr, end to end on a local cluster. It makes two years of daily
// air temperature on a 2.5° grid (made up, so nothing is downloaded: a seasonal cycle that depends
// on latitude, plus noise), writes it as a Zarr store that xarray could open, opens it again
// lazily (one task per stored chunk), computes the monthly climatology and the anomaly from it,
// and writes the anomaly's monthly spread back as Zarr.
//
//   npx tsx examples/05-climate/main.ts [output directory]      (MESHWORK_EXAMPLE_DAYS=90 for a quick run)

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, LocalCluster } from "meshwork";
import * as mw from "meshwork/array";
import { Coordinate, DataArray, Dataset, openDataset } from "meshwork/xarray";

const days = Number(process.env["MESHWORK_EXAMPLE_DAYS"] ?? 730);
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "meshwork-climate-"));

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);

// ---- make a dataset: dims time × lat × lon, with coordinates ----
const lat = Array.from({ length: 73 }, (_, i) => 90 - 2.5 * i);
const lon = Array.from({ length: 144 }, (_, i) => 2.5 * i);
const time = Array.from({ length: days }, (_, i) => new Date(Date.UTC(2020, 0, 1 + i)));
const coords = {
  time: new Coordinate({
    dims: ["time"],
    kind: "datetime",
    values: mw.NDArray.from(Float64Array.from(time, (d) => d.getTime())),
  }),
  lat: new Coordinate({ dims: ["lat"], values: mw.NDArray.from(lat), attrs: { units: "degrees_north" } }),
  lon: new Coordinate({ dims: ["lon"], values: mw.NDArray.from(lon), attrs: { units: "degrees_east" } }),
};
const coslat = new DataArray({
  data: mw.fromArray(lat.map((l) => Math.cos((l * Math.PI) / 180))),
  dims: ["lat"],
  coords,
});
const season = new DataArray({
  data: mw.fromArray(time.map((_, i) => Math.cos((2 * Math.PI * (i - 15)) / 365.25))),
  dims: ["time"],
  coords,
});
const hemisphere = new DataArray({ data: mw.fromArray(lat.map((l) => Math.sign(l))), dims: ["lat"], coords });
const noise = new DataArray({
  data: mw.normal([days, lat.length, lon.length], { chunks: [90, -1, -1], seed: 42 }),
  dims: ["time", "lat", "lon"],
  coords,
});
// Arithmetic lines arrays up by dimension name: a (time) series times a (lat) profile is (time, lat).
const air = noise
  .mul(2)
  .add(coslat.mul(30).add(250))
  .sub(season.mul(hemisphere).mul(12))
  .astype("float32")
  .rename("air")
  .assignAttrs({ units: "K", long_name: "air temperature (made up)" });
const made = new Dataset({ dataVars: { air }, attrs: { title: "meshwork example 05-climate" } });
const store = join(dir, "air.zarr");
let t = performance.now();
await made.toZarr(store, { mode: "w" });
console.log(
  `wrote ${store} (${days} days × ${lat.length} × ${lon.length}) in ${((performance.now() - t) / 1000).toFixed(2)} s`,
);

// ---- open it as a user would: lazy, one task per stored chunk ----
const ds = await openDataset(store);
console.log(String(ds));
const a = ds.get("air");

t = performance.now();
const clim = a.groupby("time.month").mean();
const anomaly = a.groupby("time.month").sub(clim);
const [climValues, spread] = await mw.compute(clim, anomaly.std({ dim: ["lat", "lon"] }));
console.log(
  `monthly climatology ${climValues.dims.join(" × ")} = ${climValues.shape.join(" × ")} in ${((performance.now() - t) / 1000).toFixed(2)} s`,
);
const jan = climValues.sel({ month: 1, lat: 60 }).mean({ dim: "lon" });
const jul = climValues.sel({ month: 7, lat: 60 }).mean({ dim: "lon" });
console.log(
  `at 60°N: January ${Number((await jan.compute()).values.item()).toFixed(1)} K, July ${Number((await jul.compute()).values.item()).toFixed(1)} K`,
);
const s = spread.values.toTypedArray();
console.log(
  `anomaly spread over the globe: ${Math.min(...s).toFixed(2)} … ${Math.max(...s).toFixed(2)} K (the noise was 2 K)`,
);

// ---- write a result back as Zarr, and read it again ----
const out = join(dir, "anomaly-spread.zarr");
await anomaly.groupby("time.month").std().rename("air_anomaly_std").toZarr(out, { mode: "w" });
const back = await openDataset(out);
console.log(
  `wrote ${out}: ${Object.entries(back.sizes)
    .map(([d, n]) => `${d}: ${n}`)
    .join(", ")}; variables ${back.keys().join(", ")}`,
);

await client.close();
await cluster.close();
