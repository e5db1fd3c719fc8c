// Where the CLI's tokens come from: a flag, a file (--token-file) or an environment variable
// (MESHWORK_TOKEN, MESHWORK_WORKER_TOKEN, MESHWORK_TAB_TOKEN), else made up here. Tokens made up
// here are printed for the person starting the scheduler but never put in any process's arguments
// (a command line is visible to every user of the machine in `ps`, and to tasks through /proc).

import { readFileSync } from "node:fs";
import { randomId } from "../../src/util/ids.js";
import { UsageError } from "./common.js";

/** Environment variables the CLI reads tokens from. */
export const TOKEN_ENV = {
  client: "MESHWORK_TOKEN",
  worker: "MESHWORK_WORKER_TOKEN",
  tab: "MESHWORK_TAB_TOKEN",
} as const;

/** A token file's first line, trimmed; a missing, empty or multi-token file is a UsageError naming the flag. */
export function readTokenFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (lines.length !== 1)
    throw new UsageError(`${flag}: ${path} must hold one token on one line (it has ${lines.length} non-empty lines)`);
  return lines[0]!;
}

/**
 * The token for one role: the flag's value, else the file's, else the environment's, else a fresh
 * random one (`generated` true). Given in two places at once is a UsageError.
 */
export function resolveToken(
  role: "client" | "worker",
  flag: string,
  value: string | undefined,
  fileFlag: string,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { token: string; generated: boolean } {
  if (value !== undefined && file !== undefined) throw new UsageError(`give ${flag} or ${fileFlag}, not both`);
  if (value !== undefined) return { token: nonEmpty(flag, value), generated: false };
  if (file !== undefined) return { token: readTokenFile(fileFlag, file), generated: false };
  const fromEnv = env[TOKEN_ENV[role]];
  if (fromEnv !== undefined && fromEnv !== "") return { token: fromEnv, generated: false };
  return { token: randomId(16), generated: true };
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === "") throw new UsageError(`${flag} must not be empty`);
  return value;
}

/**
 * Removes the token variables from this process's environment once read, so that task code
 * reading process.env (or child processes it starts) does not find them.
 */
export function forgetTokenEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.values(TOKEN_ENV)) delete env[name];
}
