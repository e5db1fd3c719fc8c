// Large buffers in transparent huge pages. A fresh 64 MiB ArrayBuffer costs its page faults when
// first written: here 37-59 ms to allocate and fill, against 16 ms for NumPy, which asks the kernel
// for huge pages (madvise) for every large array; Dask receives data into such arrays. Node cannot
// madvise, but glibc (2.35 and later) does it for every large allocation of a process started with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1: 20-22 ms. It is read when the process starts, so the
// `meshwork` command starts itself again with it (once, before doing anything), the benchmarks do
// the same, and scripts that start their own LocalCluster are told to set it (README).

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

/** Set in a relaunched process (see relaunchWithHugePages). */
const RELAUNCHED = "MESHWORK_RELAUNCHED";

/**
 * Runs this same script again in a process started with huge pages, and resolves to its exit code;
 * returns null when this process needs no relaunch. The child runs in a process group of its own,
 * so a terminal's Ctrl-C reaches this process only, which relays it (and SIGTERM, SIGHUP) exactly
 * once: the child's graceful close is not cut short by a second signal. If this process dies
 * without relaying (SIGKILL), the child sees its IPC channel close and closes as on SIGTERM
 * (`watchParent`).
 */
export function relaunchWithHugePages(): Promise<number> | null {
  if (hugePagesSettled() || process.env[RELAUNCHED] === "1") return null;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    env: { ...withHugePages(), [RELAUNCHED]: "1" },
    detached: true,
  });
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const relays = signals.map((signal) => {
    const relay = () => child.kill(signal);
    process.on(signal, relay);
    return [signal, relay] as const;
  });
  return new Promise((resolve) => {
    const done = (code: number) => {
      for (const [signal, relay] of relays) process.off(signal, relay);
      resolve(code);
    };
    child.on("error", () => done(1));
    child.on("exit", (code, signal) => done(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1)));
  });
}

/** In a relaunched process: when the parent goes away without a word, close as on SIGTERM. */
export function watchParent(): void {
  if (process.env[RELAUNCHED] !== "1" || !process.connected) return;
  process.channel?.unref(); // the channel alone does not keep this process alive
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
