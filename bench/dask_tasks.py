"""The futures workloads of bench/tasks.mjs, on Dask.distributed, for a side-by-side comparison.

Run with Debian's Python (python3-distributed): /usr/bin/python3 bench/dask_tasks.py [--runs N]
Prints one JSON object. Cluster: LocalCluster(n_workers=2, threads_per_worker=1), as in
../shared/anchors/dask (the reference figures there were measured the same way).
"""
import argparse, json, statistics, sys, time

import dask
from distributed import Client, LocalCluster, as_completed


def inc(x):
    return x + 1


def median_runs(fn, runs):
    xs = [fn() for _ in range(runs)]
    return {"median": statistics.median(xs), "runs": xs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--map-n", type=int, default=10_000)
    ap.add_argument("--chain-n", type=int, default=2_000)
    ap.add_argument("--ac-total", type=int, default=5_000)
    ap.add_argument("--ac-inflight", type=int, default=100)
    args = ap.parse_args()

    def start():
        t = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        return cluster, client, time.perf_counter() - t

    startups = []
    for _ in range(args.runs):
        cluster, client, s = start()
        startups.append(s)
        client.close()
        cluster.close()

    cluster, client, _ = start()
    client.submit(inc, -1).result()  # warm up

    rt = []
    for i in range(50):
        t = time.perf_counter()
        client.submit(inc, i, pure=False).result()
        rt.append(time.perf_counter() - t)

    def map_run():
        t = time.perf_counter()
        client.gather(client.map(inc, range(args.map_n), pure=False))
        return time.perf_counter() - t

    def chain_run():
        t = time.perf_counter()
        f = client.submit(inc, 0, pure=False)
        for _ in range(args.chain_n - 1):
            f = client.submit(inc, f, pure=False)
        f.result()
        return time.perf_counter() - t

    def ac_run():
        t = time.perf_counter()
        futures = client.map(inc, range(args.ac_inflight), pure=False)
        submitted = len(futures)
        ac = as_completed(futures)
        for f in ac:
            x = f.result()
            if submitted < args.ac_total:
                ac.add(client.submit(inc, x, pure=False))
                submitted += 1
        return time.perf_counter() - t

    m = median_runs(map_run, args.runs)
    c = median_runs(chain_run, args.runs)
    a = median_runs(ac_run, args.runs)
    client.close()
    cluster.close()
    print(json.dumps({
        "dask": dask.__version__,
        "cluster": "LocalCluster(n_workers=2, threads_per_worker=1)",
        "roundtrip_ms": {"median": statistics.median(rt) * 1e3, "runs": len(rt)},
        "map_tasks_per_s": args.map_n / m["median"], "map_s": m,
        "chain_tasks_per_s": args.chain_n / c["median"], "chain_s": c,
        "as_completed_tasks_per_s": args.ac_total / a["median"], "as_completed_s": a,
        "startup_ms": {"median": statistics.median(startups) * 1e3, "runs": [s * 1e3 for s in startups]},
    }))


if __name__ == "__main__":
    sys.exit(main())
