// Example 7: tables on a local cluster. It makes a month of taxi-like trips (made up, seeded, so
// nothing is downloaded), writes them as Parquet (one file per partition, as dask does), reads
// them back lazily (one task per row group, only the columns asked for), filters and derives a
// column with row expressions that run as column loops on the workers, groups by vendor, joins a
// small table of vendor names (broadcast to every task), sorts by fare (a shuffle between the
// workers), and prints the results as Arrow tables.
//
//   npx tsx examples/07-dataframe/main.ts [output directory]      (MESHWORK_EXAMPLE_ROWS=20000 for a quick run)

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, LocalCluster } from "meshwork";
import * as dd from "meshwork/dataframe";

const rows = Number(process.env["MESHWORK_EXAMPLE_ROWS"] ?? 400_000);
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "meshwork-trips-"));

const cluster = await LocalCluster.start({ workers: 2 });
const client = await Client.connect(cluster.address);

// ---- make trips: a vendor (1 has most), a zone, a distance, a fare that grows with it, a pickup time ----
let seed = 7;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const zones = ["Midtown", "Harlem", "SoHo", "Astoria", "Flushing", null];
const trips = Array.from({ length: rows }, () => {
  const distance = -Math.log(1 - random()) * 4;
  const vendor = random() < 0.6 ? 1 : random() < 0.75 ? 2 : 3;
  return {
    vendor,
    zone: zones[Math.floor(random() * zones.length)]!,
    distance: random() < 0.01 ? null : Math.round(distance * 100) / 100,
    fare: Math.round((3 + distance * (2 + vendor / 4) + random()) * 100) / 100,
    pickup: new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 31 * 86_400_000)),
  };
});
const made = dd.fromRecords(trips, { npartitions: 4, dtypes: { vendor: "int32" } });
const data = join(dir, "trips");
let t = performance.now();
await made.toParquet(data, { overwrite: true });
console.log(
  `wrote ${made.npartitions} Parquet files of ${rows} trips to ${data} in ${((performance.now() - t) / 1000).toFixed(2)} s`,
);

// ---- read them as a user would: planned from the footers, nothing read yet ----
const frame = await dd.readParquet(data, { columns: ["vendor", "zone", "distance", "fare"] });
console.log(String(frame));

const long = frame
  .filter((d, $) => d.distance > $.min, { params: { min: 10 } })
  .assign({ perMile: (d) => d.fare / d.distance });
const byVendor = long.groupby("vendor").agg({ perMile: ["mean", "max"], fare: "sum", distance: "count" });
const vendors = dd.fromRecords(
  [
    { vendor: 1, name: "Yellow Cab" },
    { vendor: 2, name: "Green Cab" },
    { vendor: 3, name: "Blue Cab" },
  ],
  { dtypes: { vendor: "int32" } },
);
const named = byVendor.merge(vendors, { on: "vendor", how: "left" });

t = performance.now();
const table = await named.compute();
console.log(`long trips (> 10 miles) by vendor, on the cluster in ${((performance.now() - t) / 1000).toFixed(2)} s:`);
for (const r of table.toArray()) {
  console.log(
    `  ${String(r.name).padEnd(10)} trips ${String(r.distance).padStart(6)}  fare ${Number(r.fare).toFixed(0).padStart(9)}  $/mile mean ${Number(r.perMile_mean).toFixed(2)} max ${Number(r.perMile_max).toFixed(2)}`,
  );
}

// A join of every trip with the vendor table: the small side is broadcast to each partition's task.
const zonesByVendor = frame.merge(vendors, { on: "vendor" }).valueCounts("name");
console.log("trips per vendor:", zonesByVendor.toString().split("\n")[0]);
for (const r of (await zonesByVendor.compute()).toArray()) console.log(`  ${r.name}: ${r.count}`);

// Sorted by fare, most expensive first: the ranges of fares each partition gets are chosen from a
// sample now, then rows move between the workers to their range (a shuffle) and each partition is
// sorted. head(3) computes only the first partition.
const byFare = await frame.sortValues("fare", { ascending: false });
const top = (await byFare.head(3)).toArray().map((r) => Number(r.fare).toFixed(2));
console.log(`sorted by fare into ${byFare.npartitions} partitions; the three highest fares: ${top.join(", ")}`);

const here = await named.compute({ scheduler: "sync" });
console.log(
  `same result on the cluster and in this thread: ${JSON.stringify(here.toArray()) === JSON.stringify(table.toArray())}`,
);

await client.close();
await cluster.close();
