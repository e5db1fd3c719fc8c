// Pieces shared by the CLI's commands.

import { existsSync, readFileSync } from "node:fs";
import { consoleLogger, MeshworkError, nearestName, setLogger, type LogLevel } from "../../src/internal.js";

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
  if (text === undefined || !Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
let level: LogLevel = "info";

/** The log level the command runs at (--log-level; default info): for this process and its worker threads. */
export function cliLogLevel(): LogLevel {
  return level;
}

/**
 * Takes the flags every command shares out of `argv`: `--log-level LEVEL` (sets this process's
 * logger), `--debug` (stacks on failure; debug logging unless a level is given), and `-h` as
 * `--help`. Returns the rest for the command's own parser.
 */
export function takeGlobalFlags(argv: string[]): { rest: string[]; debug: boolean } {
  const rest: string[] = [];
  let debug = false;
  let given: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--debug") debug = true;
    else if (a === "--log-level") {
      given = argv[++i];
      if (given === undefined) throw new UsageError(`--log-level needs a level: ${LEVELS.join(", ")}`);
    } else if (a.startsWith("--log-level=")) given = a.slice("--log-level=".length);
    else rest.push(a === "-h" ? "--help" : a);
  }
  if (given !== undefined && !LEVELS.includes(given as LogLevel))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, got "${given}"`);
  level = (given as LogLevel | undefined) ?? (debug ? "debug" : "info");
  setLogger(consoleLogger(level));
  return { rest, debug };
}

/** Errors of the network and the system that say what is wrong in their message: one line, no stack. */
const SYSTEM_CODES: Record<string, string> = {
  EADDRINUSE: "the address is in use (another scheduler?): choose another with --port, or 0 for a free one",
  EADDRNOTAVAIL: "no such address on this machine: check --host",
  EACCES: "permission denied (ports below 1024 need privileges)",
  ECONNREFUSED: "nothing listens there: is the scheduler running?",
  ENOTFOUND: "no such host",
  EHOSTUNREACH: "the host cannot be reached",
  ETIMEDOUT: "the connection timed out",
  ECONNRESET: "the connection was reset",
};

/**
 * How a failure is told to the user: one line and an exit code for a usage mistake (2), a named
 * meshwork error (a refused token, an unreachable scheduler) or a system error such as EADDRINUSE
 * (1); undefined for anything else, which is a bug and keeps its stack. `help`: the command's help,
 * whose flags are listed when an unknown one was given.
 */
export function describeFailure(err: unknown, help?: string): { message: string; exitCode: number } | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (err instanceof UsageError) return { message: err.message, exitCode: 2 };
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    let message = err.message.split(". To specify")[0]!;
    const flag = /'(-{1,2}[^' ]+)'/.exec(err.message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag && help) {
      const flags = [...new Set([...help.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1]!))];
      const near = nearestName(
        flag.replace(/^-+/, ""),
        flags.map((f) => f.slice(2)),
      );
      message = `unknown option ${flag}${near ? ` (did you mean --${near}?)` : ""}; the options are ${flags.join(", ")}`;
    }
    return { message, exitCode: 2 };
  }
  // A system error, alone or inside one of ours ("cannot listen at …: listen EADDRINUSE …"), gets a hint.
  const system = [
    code,
    (err.cause as { code?: unknown } | undefined)?.code,
    ...(err.message.match(/\bE[A-Z]{4,}\b/g) ?? []),
  ].find((c): c is string => typeof c === "string" && c in SYSTEM_CODES);
  const hint = system ? ` (${SYSTEM_CODES[system]})` : "";
  if (typeof code === "string" && code in SYSTEM_CODES) return { message: `${err.message}${hint}`, exitCode: 1 };
  // meshwork's named errors (HandshakeError, ConnectError, ArgumentError …) say what is wrong.
  if (
    err instanceof MeshworkError ||
    (/^[A-Z]\w+Error$/.test(err.name) && typeof code === "string" && /^[A-Z_]+$/.test(code))
  ) {
    return { message: `${err.name}: ${err.message}${hint}`, exitCode: 1 };
  }
  return undefined;
}

/** Milliseconds from a flag's text: "1500ms", "30s", "2m", or a plain number of seconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a duration such as 30s, 2m or 500ms, got "${text}"`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}
