// Running a script or command as a separate process, the way a user would, with a time limit.
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the process had to be killed at the time limit. */
  timedOut: boolean;
  ms: number;
}

const root = new URL("../../", import.meta.url).pathname;

/** Runs `node [...args]` from the repository root (or `cwd`); TypeScript files through tsx. */
export function runNode(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
  cwd = root,
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NODE_OPTIONS: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, ms: performance.now() - started });
    });
  });
}
