// Large buffers in transparent huge pages. A fresh 64 MiB ArrayBuffer costs its page faults when
// first written: here 37-59 ms to allocate and fill, against 16 ms for NumPy, which asks the kernel
// for huge pages (madvise) for every large array; Dask receives data into such arrays. Node cannot
// madvise, but glibc (2.35 and later) does it for every large allocation of a process started with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1: 20-22 ms. It is read when the process starts, so it is
// set for processes meshwork starts (the `meshwork` command's shebang, `meshwork demo`, the
// benchmarks), and documented for scripts that start their own LocalCluster.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** Whether this process was started with the tunable (or cannot use it: not Linux with glibc and THP). */
export function hugePagesSettled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env["GLIBC_TUNABLES"]?.includes("glibc.malloc.hugetlb")) return true;
  if (env["MESHWORK_HUGE_PAGES"] === "0" || process.platform !== "linux") return true;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (!header?.glibcVersionRuntime) return true; // musl and others: the tunable means nothing
  try {
    return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8").includes("[never]");
  } catch {
    return true;
  }
}

/** `env` with the tunable added to any GLIBC_TUNABLES already there. */
export function withHugePages(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env["GLIBC_TUNABLES"]?.includes("glibc.malloc.hugetlb")) return env;
  const tunables = env["GLIBC_TUNABLES"] ? `${env["GLIBC_TUNABLES"]}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE;
  return { ...env, GLIBC_TUNABLES: tunables };
}

/**
 * Runs this same script again in a process started with huge pages, and resolves to its exit code;
 * resolves to null when this process needs no relaunch. For commands that run to their end (the
 * demo, benchmarks): signals from a terminal reach both processes, and the parent only waits.
 */
export function relaunchWithHugePages(): Promise<number> | null {
  if (hugePagesSettled()) return null;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: withHugePages() });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGINT", () => undefined); // the terminal sent it to the child too; wait for it to end
  return new Promise((resolve) => {
    child.on("error", () => resolve(1));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signal === "SIGINT" ? 2 : 15) : 1)));
  });
}
