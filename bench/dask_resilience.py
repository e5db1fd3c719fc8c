"""Dask's side of bench/resilience.mjs: scheduler memory per held task, and the time from a
worker's loss to a lost result being computed again.

Run with Debian's Python (python3-distributed): /usr/bin/python3 bench/dask_resilience.py [--tasks N]
Prints one JSON object. The scheduler runs in a process of its own (`dask scheduler`), so its
resident memory is the scheduler's alone; it is read before and after N tasks are held in memory.
"""
import argparse, json, os, signal, statistics, subprocess, sys, time

from distributed import Client


def inc(x):
    return x + 1


def rss():
    import psutil
    return psutil.Process().memory_info().rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    port = 8797
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "1", "--no-nanny"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for _ in range(2)]
    try:
        client = Client(f"tcp://127.0.0.1:{port}", timeout=60)
        client.wait_for_workers(2, timeout=60)
        client.run_on_scheduler(lambda: __import__("gc").collect())
        before = client.run_on_scheduler(rss)
        t = time.perf_counter()
        futures = client.map(inc, range(args.tasks))
        client.gather(futures[-1:])
        from distributed import wait
        wait(futures)
        submit_s = time.perf_counter() - t
        client.run_on_scheduler(lambda: __import__("gc").collect())
        after = client.run_on_scheduler(rss)
        per_task = (after - before) / args.tasks
        del futures

        # Loss to recompute: a result held only by one worker; that worker process is killed; time
        # until the result, recomputed elsewhere, is back.
        recover = []
        for i in range(args.runs):
            info = client.scheduler_info()["workers"]
            addr = sorted(info)[0]
            pid = client.run(os.getpid, workers=[addr])[addr]
            f = client.submit(inc, 10_000 + i, workers=[addr], allow_other_workers=True, pure=False)
            f.result()
            t = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            f.result()
            recover.append(time.perf_counter() - t)
            del f
            workers.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "1", "--no-nanny"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
            client.wait_for_workers(2, timeout=60)
            while len(client.scheduler_info()["workers"]) < 2:
                time.sleep(0.05)
        print(json.dumps({
            "tasks": args.tasks,
            "scheduler_rss_before_mb": round(before / 1e6, 1),
            "scheduler_rss_after_mb": round(after / 1e6, 1),
            "bytes_per_held_task": round(per_task),
            "submit_and_compute_s": round(submit_s, 2),
            "loss_to_result_ms": {"median": round(1000 * statistics.median(recover), 1), "runs": [round(1000 * r, 1) for r in recover]},
        }))
        client.close()
    finally:
        for p in workers + [sched]:
            p.kill()


if __name__ == "__main__":
    main()
