// Large buffers in huge pages: the environment meshwork gives the processes it starts.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { HUGE_PAGES_TUNABLE, hugePagesSettled, withHugePages } from "../../node/hosts/huge-pages.js";
import { startNode } from "../helpers/process.js";
import { runNode } from "../helpers/run.js";
import { waitFor } from "../helpers/wait-for.js";

const CHILD = "test/fixtures/huge-pages-child.mjs";
const CLI_PATH = "dist/node/cli.js";
const THP = "/sys/kernel/mm/transparent_hugepage/enabled";
/** Whether this machine can use it: Linux, glibc, transparent huge pages not off. */
const usable =
  process.platform === "linux" &&
  Boolean(
    (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
      ?.glibcVersionRuntime,
  ) &&
  existsSync(THP) &&
  !readFileSync(THP, "utf8").includes("[never]");

test("withHugePages adds the tunable to what GLIBC_TUNABLES already holds, once", () => {
  assert.equal(withHugePages({}).GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
  assert.equal(
    withHugePages({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES,
    `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`,
  );
  const already = { GLIBC_TUNABLES: HUGE_PAGES_TUNABLE };
  assert.equal(withHugePages(already), already);
});

test("no relaunch when the tunable is set or switched off with MESHWORK_HUGE_PAGES=0", () => {
  assert.equal(hugePagesSettled({ GLIBC_TUNABLES: HUGE_PAGES_TUNABLE }), true);
  assert.equal(hugePagesSettled({ MESHWORK_HUGE_PAGES: "0" }), true);
  assert.equal(hugePagesSettled({}), !usable);
});

test("a relaunched script runs again with the tunable, its arguments and its exit code", async () => {
  const env = { GLIBC_TUNABLES: "", MESHWORK_HUGE_PAGES: "" }; // as if unset
  const r = await runNode([CHILD, "7", "more"], 60_000, env);
  assert.equal(r.code, 7, r.stderr);
  const seen = JSON.parse(r.stdout.trim().split("\n").pop()!) as { tunables: string | null; args: string[] };
  assert.deepEqual(seen.args, ["7", "more"]);
  assert.equal(seen.tunables, usable ? HUGE_PAGES_TUNABLE : "");
  const off = await runNode([CHILD, "0"], 60_000, { ...env, MESHWORK_HUGE_PAGES: "0" });
  assert.equal(off.code, 0);
  assert.equal((JSON.parse(off.stdout.trim()) as { tunables: string | null }).tunables, "");
});

/** The pids of `pid`'s children (Linux). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

const alive = (pid: number): boolean =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

test("the meshwork command runs in a child with huge pages; a killed parent takes the child down gracefully", {
  skip: !usable && "needs Linux, glibc and transparent huge pages",
}, async () => {
  await using s = startNode([CLI_PATH, "scheduler", "--port", "0"]);
  await s.waitFor(/scheduler at ws:/);
  const [child] = childrenOf(s.child.pid!);
  assert.ok(child, "the command runs in a child process");
  assert.match(readFileSync(`/proc/${child}/environ`, "utf8"), /GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1/);
  s.child.kill("SIGKILL"); // no chance to relay anything
  await waitFor(() => !alive(child!) && /SIGTERM: closing/.test(s.output()), {
    timeout: 10_000,
    interval: 50,
    message: "the child to close, gracefully",
  });
  assert.equal(alive(child!), false, "the child closed");
  assert.match(s.output(), /SIGTERM: closing the scheduler/, "gracefully, as on SIGTERM");
});
