// DuckDB's side of bench/dataframe.mjs, in a process of its own so that its memory is counted apart:
// the same workloads as SQL straight over the same Parquet files (@duckdb/node-api, an in-memory
// database with 2 threads). Reads one JSON line per workload on standard input,
// {"workload", "trips", "drivers"}, answers one JSON line {"s", "check", "peak_rss_bytes",
// "rss_before_bytes"}; its first line says it is ready, with DuckDB's version.

import { createInterface } from "node:readline";
import { DuckDBInstance } from "@duckdb/node-api";

const db = await DuckDBInstance.create(":memory:", { threads: "2" });
const con = await db.connect();
const version = (await con.runAndReadAll("select version() as v")).getRowObjects()[0].v;

const files = (dir) => `read_parquet('${dir}/*.parquet')`;
/** Each workload's SQL and how its answer becomes the check the other sides give too. */
const WORKLOADS = {
  filter_count: async (t) => ({
    rows: Number((await one(`select count(*) as n from ${files(t)} where distance > 10`)).n),
  }),
  groupby_low: async (t) => {
    const r = await one(
      `select count(*) as groups, sum(m) as s from (select vendor, avg(fare) as m from ${files(t)} group by vendor)`,
    );
    return { groups: Number(r.groups), sum: r.s };
  },
  groupby_high: async (t) => {
    const r = await one(
      `select count(*) as groups, sum(s) as s from (select zone, sum(fare) as s from ${files(t)} group by zone)`,
    );
    return { groups: Number(r.groups), sum: r.s };
  },
  join: async (t, d) => {
    const r = await one(
      `select sum(fare) as f, sum(rating) as r from (select driver, fare from ${files(t)}) join (select driver, rating from read_parquet('${d}')) using (driver)`,
    );
    return { sum: r.f, sum_rating: r.r };
  },
  // The sorted rows materialized (a table in memory), as the others hold theirs on their workers.
  sort: async (t) => {
    await con.run(
      `create or replace temp table sorted as select pickup, fare, distance from ${files(t)} order by pickup`,
    );
    const r = await one("select count(*) as n, epoch_us(min(pickup)) as first from sorted");
    await con.run("drop table sorted");
    return { rows: Number(r.n), first_us: Number(r.first) };
  },
};

async function one(sql) {
  return (await con.runAndReadAll(sql)).getRowObjects()[0];
}

console.log(JSON.stringify({ ready: true, duckdb: version, threads: 2 }));
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  let out;
  try {
    const t = performance.now();
    const check = await WORKLOADS[cmd.workload](cmd.trips, cmd.drivers);
    out = { s: (performance.now() - t) / 1000, check };
  } catch (err) {
    out = { error: `${err.name}: ${err.message}` };
  } finally {
    clearInterval(timer);
  }
  console.log(
    JSON.stringify({ ...out, peak_rss_bytes: Math.max(peak, process.memoryUsage.rss()), rss_before_bytes: before }),
  );
}
con.closeSync();
