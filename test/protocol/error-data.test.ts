// Errors on the wire: every error class of src/errors.ts goes through its wire form (errorToData,
// errorFromData) and comes back as itself or as RemoteError naming it; a name or code that does
// not match its class cannot turn into another class.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as errors from "../../src/errors.js";
import { type ErrorData, errorFromData, errorToData, MeshworkError, RemoteError } from "../../src/errors.js";

type ErrorClass = (new (...args: never[]) => MeshworkError) & { code: string };

/** One instance of each class; a class missing here fails the first test. */
const samples: Record<string, () => MeshworkError> = {
  MeshworkError: () => new errors.MeshworkError("base"),
  RemoteError: () => new errors.RemoteError({ name: "TypeError", message: "bad", code: undefined }, "k"),
  SerializationError: () => new errors.SerializationError("cannot send a function"),
  ClosureError: () => new errors.ClosureError(["x"], "f"),
  ArgumentError: () => new errors.ArgumentError("bad argument"),
  CancelledError: () => new errors.CancelledError("k-1"),
  ClientClosedError: () => new errors.ClientClosedError("closed"),
  TimeoutError: () => new errors.TimeoutError("ran past 5 ms"),
  LostDataError: () => new errors.LostDataError("x is gone"),
  GraphCycleError: () => new errors.GraphCycleError("a depends on b depends on a"),
  NoWorkerError: () => new errors.NoWorkerError("no worker has a GPU"),
  PlatformError: () => new errors.PlatformError("imports node:fs"),
  KilledWorkerError: () => new errors.KilledWorkerError("killed three workers"),
  VerificationError: () => new errors.VerificationError("results disagree"),
  CommClosedError: () => new errors.CommClosedError("closed"),
  ProtocolError: () => new errors.ProtocolError("unknown op"),
  HandshakeError: () => new errors.HandshakeError("bad token"),
  UnknownSchemeError: () => new errors.UnknownSchemeError("foo://x", ["ws"]),
  ConnectError: () => new errors.ConnectError("refused"),
  BackpressureError: () => new errors.BackpressureError("queue full"),
  StoreError: () => new errors.StoreError("missing", "file:///x"),
  FormatError: () => new errors.FormatError("truncated"),
  DTypeError: () => new errors.DTypeError("int64"),
  LabelError: () => new errors.LabelError("no label t"),
  AlignmentError: () => new errors.AlignmentError("sizes differ"),
  ColumnError: () => new errors.ColumnError(["z"], ["a", "b"]),
  SchemaError: () => new errors.SchemaError("columns differ"),
  ParseError: () => new errors.ParseError("bad row", "file:///x.csv", 3),
  DataError: () => new errors.DataError("label 2"),
  NonFiniteError: () => new errors.NonFiniteError("NaN in X"),
  SingularMatrixError: () => new errors.SingularMatrixError("singular"),
  NotSupportedError: () => new errors.NotSupportedError("not yet"),
};

/** The errors the scheduler raises about a task: they come back from the wire as their own class. */
const rebuilt = new Set([
  "LostDataError",
  "KilledWorkerError",
  "GraphCycleError",
  "NoWorkerError",
  "PlatformError",
  "TimeoutError",
  "VerificationError",
]);

const classes = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === "function" && (entry[1] === MeshworkError || entry[1].prototype instanceof MeshworkError),
);

/** Through the wire as the scheduler sends it: msgpack keeps what JSON keeps here. */
const overTheWire = (data: ErrorData): ErrorData => JSON.parse(JSON.stringify(data));

describe("errors on the wire", () => {
  test("every error class has a sample here, its own name and a code no other class has", () => {
    assert.ok(classes.length >= 30, `found ${classes.length} error classes`);
    assert.deepEqual(classes.map(([name]) => name).sort(), Object.keys(samples).sort());
    const codes = new Map<string, string>();
    for (const [exported, C] of classes) {
      const err = samples[exported]!();
      assert.ok(err instanceof C);
      assert.equal(err.name, exported, "the name an error travels by is the class's exported name");
      assert.equal(err.code, C.code, `${exported}: the instance's code is the class's constant`);
      assert.equal(codes.get(C.code), undefined, `${exported} and ${codes.get(C.code)} share the code ${C.code}`);
      codes.set(C.code, exported);
    }
  });

  test("every class round-trips: the scheduler's own come back as themselves, the rest as RemoteError naming them", () => {
    for (const [exported, C] of classes) {
      const err = samples[exported]!();
      const data = overTheWire(errorToData(err));
      assert.deepEqual([data.name, data.code, data.message], [exported, C.code, err.message]);
      const back = errorFromData(data, "key-1");
      if (rebuilt.has(exported)) {
        assert.ok(back instanceof C, `${exported} comes back as itself`);
        assert.equal(back.constructor, C, `${exported} comes back as itself, not a subclass`);
        assert.equal(back.message, err.message);
      } else {
        assert.ok(back instanceof RemoteError, `${exported} comes back as RemoteError`);
        assert.equal(back.remoteName, exported);
        assert.equal(back.remoteCode, C.code);
        assert.equal(back.key, "key-1");
        assert.equal(back.message, `${exported}: ${err.message}`);
      }
    }
  });

  test("a misspelt name, or a name and code of two classes, comes back as RemoteError, never as another class", () => {
    const cases: ErrorData[] = [
      { name: "LostDataEror", code: errors.LostDataError.code, message: "typo in the name" },
      { name: "LostDataError", code: "LOST_DATTA", message: "typo in the code" },
      { name: "LostDataError", code: errors.KilledWorkerError.code, message: "one class's name, another's code" },
      { name: "KilledWorkerError", code: errors.LostDataError.code, message: "and the other way round" },
      { name: "Error", code: errors.TimeoutError.code, message: "a task's own error that carries a meshwork code" },
    ];
    for (const data of cases) {
      const back = errorFromData(data);
      assert.equal(back.constructor, RemoteError, data.message);
      assert.equal((back as RemoteError).remoteName, data.name);
      assert.equal((back as RemoteError).remoteCode, data.code);
    }
  });

  test("the wire form keeps the stack and causes (four deep), or leaves the stack out when asked", () => {
    const inner = new TypeError("innermost");
    let err: Error = inner;
    for (let i = 0; i < 6; i++) err = new errors.StoreError(`level ${i}`, "file:///x", { cause: err });
    const data = errorToData(err);
    assert.match(data.stack ?? "", /StoreError: level 5/);
    let depth = 0;
    for (let d: ErrorData | undefined = data.cause; d !== undefined; d = d.cause) depth++;
    assert.equal(depth, 4, "causes travel four deep");
    const back = errorFromData(data);
    assert.ok(back instanceof RemoteError && back.cause instanceof RemoteError, "the cause comes back as an error");
    assert.match(back.stack ?? "", /--- remote ---/);

    const bare = errorToData(new errors.LostDataError("gone"), { stack: false });
    assert.deepEqual(bare, {
      name: "LostDataError",
      code: "LOST_DATA",
      message: "gone",
      stack: undefined,
      cause: undefined,
    });
    assert.deepEqual(errorToData("a string"), { name: "Error", message: "a string", stack: undefined });
  });
});
