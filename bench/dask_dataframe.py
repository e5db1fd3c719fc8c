"""The DataFrame workloads of bench/dataframe.mjs on Dask DataFrame, for the side-by-side comparison.

Run with Debian's Python and its python3-distributed + python3-pandas, plus pyarrow to read Parquet
(Debian 12 has no python3-pyarrow; bench/dataframe.mjs makes a venv over Debian's packages that adds
only pyarrow: `/usr/bin/python3 -m venv --system-site-packages V && V/bin/pip install pyarrow`):

--make DIR ROWS [--rows-per-file N]: writes DIR/trips-ROWS/part-NNN.parquet (one row group per file)
and DIR/drivers.parquet unless they are there. A taxi-like table, made with NumPy (seeded) and
written by pyarrow with its defaults (Snappy, dictionary pages falling back to plain when large):

  vendor      string      4 values, uneven (low cardinality)
  zone        string      200,000 values "Z000000".. (high cardinality)
  driver      int64       1,000,000 values, the join key of drivers.parquet
  passengers  int32       1..6
  distance    float64     exponential, mean 3 (miles)
  fare        float64     2.5 + 2.5 per mile + noise
  pickup      timestamp[us]  uniform over 2024

drivers.parquet: 1,000,000 rows (driver 0..999,999 shuffled, rating float64, fleet string of 20
values), one row group. Prints one JSON line.

--serve: keeps a LocalCluster(n_workers=2, threads_per_worker=1) up and runs one workload per line
of standard input, {"workload": name, "trips": dir, "drivers": file}, answering one JSON line
each: {"s", "check", "peak_rss_bytes", "rss_before_bytes"}. The workloads (WORKLOADS below) read
only the columns they use, as bench/dataframe.mjs's meshwork lines do; peak memory is this process
(client and scheduler) and its children (nannies and worker processes), sampled every 20 ms.
"""
import argparse, contextlib, gc, json, os, subprocess, sys, threading, time

import numpy as np

ZONES = 200_000
DRIVERS = 1_000_000
VENDORS = ["CMT", "VTS", "DDS", "NYC"]
VENDOR_P = [0.45, 0.4, 0.1, 0.05]
FLEETS = 20


def make(d, rows, per_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    trips = os.path.join(d, f"trips-{rows}")
    drivers = os.path.join(d, "drivers.parquet")
    done = os.path.join(trips, "_done")
    t = time.perf_counter()
    made = False
    if not os.path.exists(done):
        os.makedirs(trips, exist_ok=True)
        zones = pa.array([f"Z{i:06d}" for i in range(ZONES)], pa.string())
        vendors = pa.array(VENDORS, pa.string())
        start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
        year_us = 366 * 86400 * 1_000_000
        files = (rows + per_file - 1) // per_file
        for f in range(files):
            n = min(per_file, rows - f * per_file)
            rng = np.random.default_rng(1000 + f)
            distance = rng.exponential(3.0, n)
            table = pa.table({
                # Plain strings (not dictionary arrays): pandas reads them as object columns, as a CSV-born dataset would be.
                "vendor": vendors.take(pa.array(rng.choice(len(VENDORS), n, p=VENDOR_P).astype(np.int32))),
                "zone": zones.take(pa.array(rng.integers(0, ZONES, n, dtype=np.int32))),
                "driver": pa.array(rng.integers(0, DRIVERS, n, dtype=np.int64)),
                "passengers": pa.array(rng.integers(1, 7, n, dtype=np.int32)),
                "distance": pa.array(distance),
                "fare": pa.array(2.5 + 2.5 * distance + rng.normal(0, 1, n)),
                "pickup": pa.array(start + rng.integers(0, year_us, n, dtype=np.int64), pa.timestamp("us")),
            })
            pq.write_table(table, os.path.join(trips, f"part-{f:03d}.parquet"), row_group_size=per_file)
        open(done, "w").close()
        made = True
    if not os.path.exists(drivers):
        rng = np.random.default_rng(7)
        table = pa.table({
            "driver": pa.array(rng.permutation(DRIVERS).astype(np.int64)),
            "rating": pa.array(np.round(rng.uniform(3.0, 5.0, DRIVERS), 2)),
            "fleet": pa.array([f"fleet-{i:02d}" for i in rng.integers(0, FLEETS, DRIVERS)], pa.string()),
        })
        pq.write_table(table, drivers, row_group_size=DRIVERS)
        made = True
    size = sum(os.path.getsize(os.path.join(trips, f)) for f in os.listdir(trips) if f.endswith(".parquet"))
    return {"trips": trips, "drivers": drivers, "made": made, "s": round(time.perf_counter() - t, 1), "bytes": size, "pyarrow": pa.__version__}


class PeakRss:
    """The largest resident memory of this process and its children, sampled every 20 ms."""

    def __init__(self):
        import psutil
        self.peak = 0
        self._psutil = psutil
        self._stop = threading.Event()
        self._me = psutil.Process(os.getpid())
        self._t = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        total = 0
        for p in [self._me] + self._me.children(recursive=True):
            with contextlib.suppress(self._psutil.Error):
                total += p.memory_info().rss
        self.peak = max(self.peak, total)

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(self._psutil.Error):
                self.sample()
            time.sleep(0.02)

    def __enter__(self):
        self.sample()
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.sample()


def filter_count(dd, trips, drivers):
    df = dd.read_parquet(trips, columns=["distance"])
    n = len(df[df.distance > 10])
    return {"rows": n}


def groupby_low(dd, trips, drivers):
    df = dd.read_parquet(trips, columns=["vendor", "fare"])
    r = df.groupby("vendor").agg({"fare": "mean"}).compute()
    return {"groups": len(r), "sum": float(r.fare.sum())}


def groupby_high(dd, trips, drivers):
    df = dd.read_parquet(trips, columns=["zone", "fare"])
    r = df.groupby("zone").agg({"fare": "sum"}).compute()
    return {"groups": len(r), "sum": float(r.fare.sum())}


def join(dd, trips, drivers):
    df = dd.read_parquet(trips, columns=["driver", "fare"])
    dr = dd.read_parquet(drivers, columns=["driver", "rating"])
    m = df.merge(dr, on="driver", how="inner")
    r = m[["fare", "rating"]].sum().compute()
    return {"sum": float(r.fare), "sum_rating": float(r.rating)}


def sort(dd, trips, drivers):
    from distributed import wait
    df = dd.read_parquet(trips, columns=["pickup", "fare", "distance"])
    held = df.sort_values("pickup").persist()
    wait(held)
    n = len(held)
    first = held.partitions[0].head(1, compute=True).pickup.iloc[0]
    del held
    return {"rows": n, "first_us": int(first.value // 1000)}


WORKLOADS = {"filter_count": filter_count, "groupby_low": groupby_low, "groupby_high": groupby_high, "join": join, "sort": sort}


def run(workload, trips, drivers):
    import dask.dataframe as dd
    before = PeakRss()
    before.sample()
    with PeakRss() as peak:
        t = time.perf_counter()
        check = WORKLOADS[workload](dd, trips, drivers)
        s = time.perf_counter() - t
    return {"s": s, "check": check, "peak_rss_bytes": peak.peak, "rss_before_bytes": before.peak}


def debian_version(package):
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return r.stdout.strip() or None


def serve():
    import dask, distributed, pandas, pyarrow
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)  # the default scheduler from here on
    client.submit(lambda: 1).result()
    print(json.dumps({"ready": True, "python": sys.executable, "dask": dask.__version__, "distributed": distributed.__version__, "distributed_package": debian_version("python3-distributed"),
                      "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "numpy": np.__version__,
                      "memory_limit_per_worker_bytes": [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            out = run(cmd["workload"], cmd["trips"], cmd["drivers"])
        except Exception as e:  # answered as data: the benchmark reports it and goes on
            out = {"error": f"{type(e).__name__}: {e}"}
        gc.collect()
        client.run(gc.collect)
        print(json.dumps(out), flush=True)
    client.close()
    cluster.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make", nargs=2, metavar=("DIR", "ROWS"))
    ap.add_argument("--rows-per-file", type=int, default=2_000_000)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    if args.make:
        print(json.dumps(make(args.make[0], int(float(args.make[1])), args.rows_per_file)), flush=True)
    if args.serve:
        serve()


if __name__ == "__main__":
    main()
