// Pieces shared by the CLI's commands.

import { existsSync, readFileSync } from "node:fs";

/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/** meshwork's version, from its package.json (found upward from here: the sources and dist/ sit at different depths). */
export function version(): string {
  for (let up = "../"; up.length < 16; up += "../") {
    const file = new URL(`${up}package.json`, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version: string };
    if (pkg.name === "meshwork") return pkg.version;
  }
  return "unknown";
}

export function ms(since: number): string {
  return `${(performance.now() - since).toFixed(0)} ms`;
}

/** Resolves on the first SIGINT or SIGTERM (and stops listening for them). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** A whole number ≥ min from a flag's text, or a UsageError naming the flag. */
export function wholeNumber(flag: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}
