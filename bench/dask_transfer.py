"""Worker-to-worker transfer on Dask.distributed, measured the way bench/transfer.mjs measures
meshwork, for the side-by-side comparison.

Run with Debian's Python: /usr/bin/python3 bench/dask_transfer.py [--runs N] [--sizes-mib 64,256]
For each compression setting (a fresh LocalCluster(n_workers=2, threads_per_worker=1) each, since
Dask agrees on the codec per connection) and each case: a fresh array made on worker A (not
timed), then the time of a consumer on A (no transfer) and of a consumer on B, which fetches the
array from A. e2e_MBps = payload / B's wall time (MB = 1e6 bytes), median of --runs after one
untimed warm-up. Prints one JSON object.

With --serve --compression C it keeps one cluster up (compression C) and measures one case per
line of standard input ({"mib": 64, "kind": "random", "seed": 1} → {"local_s", "remote_s"}), so
that bench/transfer.mjs can take turns with it round by round.
"""
import argparse, json, statistics, sys, time

import dask
from distributed import Client, LocalCluster


def make(nbytes, kind, seed):
    import numpy as np
    n = nbytes // 8
    if kind == "random":
        return np.random.default_rng(seed).random(n)
    return (np.arange(n) % 16).astype(np.float64)


def consume(x):
    return float(x.sum())


def measure(client, a, b, nbytes, kind, seed):
    """One round: an array made on A (not timed), then a consumer on A and one on B (timed)."""
    src = client.submit(make, nbytes, kind, seed, workers=[a], pure=False)
    client.gather([client.submit(len, src, workers=[a], pure=False)])  # made, not timed
    t = time.perf_counter(); client.submit(consume, src, workers=[a], pure=False).result(); tl = time.perf_counter() - t
    t = time.perf_counter(); client.submit(consume, src, workers=[b], pure=False).result(); tr = time.perf_counter() - t
    del src
    return tl, tr


def serve(comp):
    with dask.config.set({"distributed.comm.compression": None if comp == "none" else comp}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        a, b = list(client.scheduler_info()["workers"])
        print(json.dumps({"ready": True, "dask": dask.__version__}), flush=True)
        for line in sys.stdin:
            cmd = json.loads(line)
            tl, tr = measure(client, a, b, int(cmd["mib"] * 2**20), cmd["kind"], cmd["seed"])
            print(json.dumps({"local_s": tl, "remote_s": tr}), flush=True)
        client.close()
        cluster.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes-mib", default="64,256")
    ap.add_argument("--compressions", default="none,lz4")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--compression", default="none")
    args = ap.parse_args()
    if args.serve:
        return serve(args.compression)
    sizes = [int(s) for s in args.sizes_mib.split(",")]
    out = {"dask": dask.__version__, "cluster": "LocalCluster(n_workers=2, threads_per_worker=1)", "settings": {}}
    for comp in args.compressions.split(","):
        with dask.config.set({"distributed.comm.compression": None if comp == "none" else comp}):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            a, b = list(client.scheduler_info()["workers"])
            cases = {}
            for mib in sizes:
                for kind in ("random", "mod16"):
                    nbytes = mib * 2**20
                    local, remote = [], []
                    for r in range(args.runs + 1):
                        tl, tr = measure(client, a, b, nbytes, kind, r)
                        if r > 0:
                            local.append(tl); remote.append(tr)
                    cases[f"{mib}MiB/{kind}"] = {
                        "payload_bytes": nbytes,
                        "local_s": {"median": statistics.median(local), "runs": local},
                        "remote_s": {"median": statistics.median(remote), "runs": remote},
                        "e2e_MBps": nbytes / statistics.median(remote) / 1e6,
                    }
            out["settings"][comp] = cases
            client.close()
            cluster.close()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
