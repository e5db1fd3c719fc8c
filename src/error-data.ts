// Errors as data, the form in which they cross the wire, made and read only here: errorToData
// (name and code from the error itself) and errorFromData (the scheduler's own errors back as
// their classes, anything else as RemoteError). errors.ts re-exports both.

import {
  GraphCycleError,
  KilledWorkerError,
  LostDataError,
  type MeshworkError,
  NoWorkerError,
  PlatformError,
  RemoteError,
  TimeoutError,
  VerificationError,
} from "./errors.js";

/** An error as data, the form in which errors cross the wire. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  cause?: ErrorData | undefined;
}

/**
 * Turns anything thrown into ErrorData that can cross the wire (names, messages, stacks, causes).
 * This is the only place an error's wire form is made: name and code come from the error itself,
 * so they cannot disagree. `stack: false` leaves out the stack, for errors the scheduler raises
 * about a task (its own frames would only mislead).
 */
export function errorToData(err: unknown, options: { stack?: boolean } = {}): ErrorData {
  return toData(err, options.stack !== false, 0);
}

/** How deep a chain of causes travels. */
const MAX_CAUSE_DEPTH = 4;

function toData(err: unknown, stack: boolean, depth: number): ErrorData {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      stack: stack ? err.stack : undefined,
      code: typeof code === "string" ? code : undefined,
      cause: err.cause !== undefined && depth < MAX_CAUSE_DEPTH ? toData(err.cause, stack, depth + 1) : undefined,
    };
  }
  return { name: "Error", message: describeThrown(err), stack: undefined };
}

/**
 * The errors that come back from the wire as their own class: those the scheduler raises about a
 * task (lost data, killed workers, cycles, no worker, platform, timeouts, failed verification),
 * keyed by their classes' `code`. Anything else comes back as RemoteError. Made on first use:
 * errors.ts imports this file (RemoteError turns its cause back into an error), so its classes
 * may not be there yet while this file loads.
 */
let rebuilt: ReadonlyMap<string, new (message: string) => MeshworkError> | undefined;

function rebuiltClass(code: string): (new (message: string) => MeshworkError) | undefined {
  rebuilt ??= new Map(
    [
      LostDataError,
      KilledWorkerError,
      GraphCycleError,
      NoWorkerError,
      PlatformError,
      TimeoutError,
      VerificationError,
    ].map((C) => [C.code, C]),
  );
  return rebuilt.get(code);
}

/**
 * The local error a piece of ErrorData stands for: meshwork's own named errors (lost data, killed
 * workers) come back as their classes when both code and name match; anything a task threw (even
 * an error of its own that happens to carry one of meshwork's codes) comes back as RemoteError.
 */
export function errorFromData(data: ErrorData, key?: string): MeshworkError {
  const C = data.code === undefined ? undefined : rebuiltClass(data.code);
  if (C !== undefined) {
    const err = new C(data.message);
    if (err.name === data.name) return err;
  }
  return new RemoteError(data, key);
}

function describeThrown(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return `non-Error thrown: ${JSON.stringify(value)}`;
  } catch {
    // JSON.stringify throws on cycles and BigInt; String() never does.
    return `non-Error thrown: ${String(value)}`;
  }
}
