// Every error meshwork throws, in one place. Each has a stable `code` to branch on, and errors
// that cross the wire travel as plain data (ErrorData, made and read in error-data.ts, re-exported
// here) and come back as RemoteError.

import { errorFromData, type ErrorData } from "./error-data.js";

export { errorFromData, errorToData, type ErrorData } from "./error-data.js";

/** Base class: every meshwork error has a stable, machine-readable `code`. */
export class MeshworkError extends Error {
  /** The `code` of every error of this class, to compare with without a string: `err.code === LostDataError.code`. */
  static readonly code: string = "MESHWORK";
  override name = "MeshworkError";
  readonly code: string = MeshworkError.code;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A task threw on a worker. Carries the remote name, message and stack. */
export class RemoteError extends MeshworkError {
  static override readonly code = "REMOTE";
  override name = "RemoteError";
  override readonly code = RemoteError.code;
  /** `name` of the error as thrown on the worker, e.g. "TypeError". */
  readonly remoteName: string;
  /** The stack trace as it was on the worker. */
  readonly remoteStack: string | undefined;
  /** The `code` the remote error carried, if any. */
  readonly remoteCode: string | undefined;
  /** The key of the task that failed (may be a dependency of the awaited future). */
  readonly key: string | undefined;
  constructor(data: ErrorData, key?: string) {
    super(`${data.name}: ${data.message}`, data.cause ? { cause: errorFromData(data.cause) } : undefined);
    this.remoteName = data.name;
    this.remoteStack = data.stack;
    this.remoteCode = data.code;
    this.key = key;
    // The local stack says where the future was awaited; the remote one says where it failed.
    if (data.stack) this.stack = `${this.stack ?? ""}\n--- remote ---\n${data.stack}`;
  }
}

/** A value (a task argument, a result, scattered data) cannot be sent between machines. */
export class SerializationError extends MeshworkError {
  static override readonly code: string = "SERIALIZATION";
  override name = "SerializationError";
  override readonly code: string = SerializationError.code;
}

/** A submitted function uses a variable from outside its own body, which cannot travel with it. */
export class ClosureError extends SerializationError {
  static override readonly code = "CLOSURE";
  override name = "ClosureError";
  override readonly code = ClosureError.code;
  constructor(
    readonly variables: string[],
    fnName: string,
    /** Those of `variables` it calls: functions, which cannot be passed as arguments either. */
    readonly called: string[] = [],
  ) {
    const list = variables.map((v) => `\`${v}\``).join(", ");
    const values = variables.filter((v) => !called.includes(v));
    const fns = called.map((v) => `\`${v}\``).join(", ");
    super(
      `Function ${fnName || "(anonymous)"} refers to ${list} from outside its own body. ` +
        `Functions are sent to workers as source code, so their closure does not travel with them. ` +
        (called.length > 0
          ? `It calls ${fns}: functions do not travel as arguments either, so put ${called.length > 1 ? "them" : "it"} and this function in a task module ` +
            `(const mod = await client.upload(url); client.submit(mod.fn, ...)), or define ${called.length > 1 ? "them" : "it"} inside the function` +
            (values.length > 0
              ? `; pass ${values.map((v) => `\`${v}\``).join(", ")} as ${values.length > 1 ? "arguments" : "an argument"}.`
              : ".")
          : `Pass ${variables.length > 1 ? "these values" : "the value"} as ${variables.length > 1 ? "arguments" : "an argument"} ` +
            `(client.submit(fn, ...args)), or put the function in a task module (client.upload(url)).`),
    );
  }
}

/** A wrong argument to a public API. */
export class ArgumentError extends MeshworkError {
  static override readonly code = "ARGUMENT";
  override name = "ArgumentError";
  override readonly code = ArgumentError.code;
}

/** The future (or the task behind it) was cancelled. */
export class CancelledError extends MeshworkError {
  static override readonly code = "CANCELLED";
  override name = "CancelledError";
  override readonly code = CancelledError.code;
  constructor(readonly key: string) {
    super(`Future ${key} was cancelled`);
  }
}

/** The client was closed, so its futures cannot be resolved any more. */
export class ClientClosedError extends MeshworkError {
  static override readonly code = "CLIENT_CLOSED";
  override name = "ClientClosedError";
  override readonly code = ClientClosedError.code;
}

/** A wait ran out of time. Created where the wait started, so its stack points there. */
export class TimeoutError extends MeshworkError {
  static override readonly code = "TIMEOUT";
  override name = "TimeoutError";
  override readonly code = TimeoutError.code;
}

/** A result is gone: every worker holding it is gone and it cannot be recomputed. */
export class LostDataError extends MeshworkError {
  static override readonly code = "LOST_DATA";
  override name = "LostDataError";
  override readonly code = LostDataError.code;
}

/** A graph whose tasks depend on each other in a cycle was refused at submit (it would wait forever). */
export class GraphCycleError extends MeshworkError {
  static override readonly code = "GRAPH_CYCLE";
  override name = "GraphCycleError";
  override readonly code = GraphCycleError.code;
}

/**
 * No connected worker may run the task (its `workers` or `resources` match none, it needs Node and
 * the workers are tabs, or there are no workers), and it waited longer than its `noWorkerTimeout` (Dask's no-workers-timeout).
 */
export class NoWorkerError extends MeshworkError {
  static override readonly code = "NO_WORKER";
  override name = "NoWorkerError";
  override readonly code = NoWorkerError.code;
}

/**
 * Code sent to a worker of a platform it cannot run on: a task of a module that imports Node's
 * built-ins, on a browser tab (the scheduler places such tasks on Node workers only).
 */
export class PlatformError extends MeshworkError {
  static override readonly code = "PLATFORM";
  override name = "PlatformError";
  override readonly code = PlatformError.code;
}

/** A task was running on several workers that died while running it, so it is stopped (Dask's KilledWorker). */
export class KilledWorkerError extends MeshworkError {
  static override readonly code = "KILLED_WORKER";
  override name = "KilledWorkerError";
  override readonly code = KilledWorkerError.code;
}

/**
 * Workers' results for a verified task disagreed and no majority (or trusted workers that disagree
 * among themselves) could decide: the task is non-deterministic (mark it `verify: 1`) or workers
 * are broken.
 */
export class VerificationError extends MeshworkError {
  static override readonly code = "VERIFICATION_FAILED";
  override name = "VerificationError";
  override readonly code = VerificationError.code;
}

/** A connection is closed; sends fail and pending requests reject with this. */
export class CommClosedError extends MeshworkError {
  static override readonly code = "COMM_CLOSED";
  override name = "CommClosedError";
  override readonly code = CommClosedError.code;
}

/** A peer broke the protocol: a malformed, oversized or unknown message. */
export class ProtocolError extends MeshworkError {
  static override readonly code = "PROTOCOL";
  override name = "ProtocolError";
  override readonly code = ProtocolError.code;
}

/** The two ends of a connection could not agree (version, role, token). */
export class HandshakeError extends MeshworkError {
  static override readonly code = "HANDSHAKE";
  override name = "HandshakeError";
  override readonly code = HandshakeError.code;
}

/** An address whose scheme no registered transport handles. */
export class UnknownSchemeError extends MeshworkError {
  static override readonly code = "UNKNOWN_SCHEME";
  override name = "UnknownSchemeError";
  override readonly code = UnknownSchemeError.code;
  constructor(address: string, known: string[]) {
    super(
      `No transport for address "${address}". Known schemes: ${known.map((s) => `${s}://`).join(", ") || "(none)"}`,
    );
  }
}

/** Nothing listens at an address. */
export class ConnectError extends MeshworkError {
  static override readonly code = "CONNECT";
  override name = "ConnectError";
  override readonly code = ConnectError.code;
}

/** A bounded queue is full: the sender must wait and retry. */
export class BackpressureError extends MeshworkError {
  static override readonly code = "BACKPRESSURE";
  override name = "BackpressureError";
  override readonly code = BackpressureError.code;
}

/** A store (a directory, a URL) cannot give what was asked: a missing file or chunk URL, an HTTP error, no permission. */
export class StoreError extends MeshworkError {
  static override readonly code = "STORE";
  override name = "StoreError";
  override readonly code = StoreError.code;
  constructor(
    message: string,
    /** Where: the file or URL. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Data that is not what its format says: malformed metadata, a truncated chunk, an unknown codec, an unsupported feature. */
export class FormatError extends MeshworkError {
  static override readonly code = "FORMAT";
  override name = "FormatError";
  override readonly code = FormatError.code;
}

/** Values of a type meshwork's arrays lack (int64, float16, strings …); the message names the nearest one they have. */
export class DTypeError extends MeshworkError {
  static override readonly code = "DTYPE";
  override name = "DTypeError";
  override readonly code = DTypeError.code;
}

/** A label, variable, coordinate or dimension name that is not there (xarray's KeyError). */
export class LabelError extends MeshworkError {
  static override readonly code = "LABEL";
  override name = "LabelError";
  override readonly code = LabelError.code;
}

/** Arrays that do not line up: labeled arrays with different dimension sizes or coordinate labels; a model's X and y with different row counts. */
export class AlignmentError extends MeshworkError {
  static override readonly code = "ALIGNMENT";
  override name = "AlignmentError";
  override readonly code = AlignmentError.code;
}

/** A column that is not there (in an expression, a selection, a key); the message lists the columns there are. */
export class ColumnError extends MeshworkError {
  static override readonly code = "COLUMN";
  override name = "ColumnError";
  override readonly code = ColumnError.code;
  constructor(
    /** The names asked for that are missing. */
    readonly missing: string[],
    /** The columns there are. */
    readonly available: readonly string[],
    where = "",
  ) {
    super(
      `no column ${missing.map((m) => JSON.stringify(m)).join(", ")}${where ? ` ${where}` : ""}; the columns are ${available.map((a) => JSON.stringify(a)).join(", ") || "(none)"}`,
    );
  }
}

/** Tables that do not fit together: files whose columns differ, a join on columns of different types. */
export class SchemaError extends MeshworkError {
  static override readonly code = "SCHEMA";
  override name = "SchemaError";
  override readonly code = SchemaError.code;
}

/** Text that does not parse: a malformed CSV row, named by file and line. */
export class ParseError extends MeshworkError {
  static override readonly code = "PARSE";
  override name = "ParseError";
  override readonly code = ParseError.code;
  constructor(
    message: string,
    /** The file, as a URL. */
    readonly file: string,
    /** The 1-based line number in the file. */
    readonly line: number,
  ) {
    super(message);
  }
}

/**
 * Values a computation cannot use: targets a model does not take (labels other than 0 and 1 for
 * logistic regression, negative counts for Poisson). Says where the first one is.
 */
export class DataError extends MeshworkError {
  static override readonly code: string = "DATA";
  override name = "DataError";
  override readonly code: string = DataError.code;
  constructor(
    message: string,
    /** Where the first bad value is: its row block, its row in the whole array, and the column for 2-d data. */
    readonly where?: { block: number; row: number; column?: number | undefined; value: number } | undefined,
  ) {
    super(message);
  }
}

/** NaN or an infinity where only finite numbers make sense (the rows of a model's X), with where the first one is. */
export class NonFiniteError extends DataError {
  static override readonly code = "NON_FINITE";
  override name = "NonFiniteError";
  override readonly code = NonFiniteError.code;
}

/**
 * A matrix that cannot be factored: a Hessian that is singular or not positive definite (collinear
 * columns, a constant column beside the intercept, no penalty). The message says what to change.
 */
export class SingularMatrixError extends MeshworkError {
  static override readonly code = "SINGULAR";
  override name = "SingularMatrixError";
  override readonly code = SingularMatrixError.code;
}

/** Something meshwork does not do yet; the message says what to do instead. */
export class NotSupportedError extends MeshworkError {
  static override readonly code = "NOT_SUPPORTED";
  override name = "NotSupportedError";
  override readonly code = NotSupportedError.code;
}
