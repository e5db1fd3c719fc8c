// Where meshwork's own diagnostics go. The default writes warnings and errors to the console;
// entry points (CLI, LocalCluster) may set a different level or sink.

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** A logger writing to the console at `level` and above, each line prefixed with `[meshwork name]`. */
export function consoleLogger(level: LogLevel = "warn", name = "meshwork"): Logger {
  const at = RANK[level];
  const prefix = `[${name}]`;
  return {
    debug: (m, ...d) => void (at <= 0 && console.debug(prefix, m, ...d)),
    info: (m, ...d) => void (at <= 1 && console.info(prefix, m, ...d)),
    warn: (m, ...d) => void (at <= 2 && console.warn(prefix, m, ...d)),
    error: (m, ...d) => void (at <= 3 && console.error(prefix, m, ...d)),
  };
}

let current: Logger = consoleLogger();

/** The logger in use. */
export function log(): Logger {
  return current;
}

/**
 * A logger that forwards to the realm's current one (setLogger) at each call: the default runtime's,
 * and what code handed no logger (a link opened without TransportOptions.logger) writes to.
 */
export const realmLogger: Logger = {
  debug: (m, ...d) => current.debug(m, ...d),
  info: (m, ...d) => current.info(m, ...d),
  warn: (m, ...d) => current.warn(m, ...d),
  error: (m, ...d) => current.error(m, ...d),
};

/**
 * Replaces the logger for this thread (the default runtime's: members given a `runtime` of their own
 * log to its logger instead, see createRuntime); returns the previous one. Kept for compatibility;
 * code running more than one cluster in a thread passes runtimes.
 */
export function setLogger(logger: Logger): Logger {
  const prev = current;
  current = logger;
  return prev;
}
