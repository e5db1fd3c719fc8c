// The public API of meshwork, shared by every platform. Each export is named on purpose;
// internals for node/, browser/ and tests come from internal.ts.

import { registerTransport } from "./comm/registry.js";
import { inprocTransport } from "./comm/inproc.js";

registerTransport(inprocTransport);

import "./client/local.js"; // the single-machine scheduler ("sync")

export { Client } from "./client/client.js";
export type { ClientOptions, ScatterOptions, TaskSubmitter, MapIterables } from "./client/options.js";
export type { ClientEventMap, ClientEventType } from "./client/events.js";
export { Future } from "./client/future.js";
export type { FutureStatus } from "./client/future.js";
export { asCompleted, AsCompleted } from "./client/as-completed.js";
export type { AsCompletedOptions } from "./client/as-completed.js";
export { wait } from "./client/wait.js";
export type { WaitOptions, WaitResult } from "./client/wait.js";
export { progress } from "./client/progress.js";
export type { ProgressOptions, ProgressStream } from "./client/progress.js";
export type { TaskOptions, TaskHandle, TaskModule, TaskFn, Arg, Args } from "./client/options.js";
export type { RetireResult, WorkerInfo, WorkerStoryEntry } from "./protocol/messages.js";
export type { StoryEntry } from "./scheduler/story.js";
export { delayed, Delayed } from "./graph/delayed.js";
export type { DelayedOptions, DelayedArg, DelayedArgs } from "./graph/delayed.js";
export { compute, persist, computeWith, persistWith, release } from "./graph/collection.js";
export type { Collection, ComputeOptions, SchedulerChoice, Computed } from "./graph/collection.js";
export { Scheduler } from "./scheduler/server.js";
export type { SchedulerOptions } from "./scheduler/server.js";
export type { BanList, BanStore } from "./scheduler/bans.js";
export { Worker } from "./worker/server.js";
export type { WorkerOptions } from "./worker/server.js";
export {
  MeshworkError,
  RemoteError,
  SerializationError,
  ClosureError,
  ArgumentError,
  CancelledError,
  ClientClosedError,
  TimeoutError,
  LostDataError,
  KilledWorkerError,
  GraphCycleError,
  NoWorkerError,
  PlatformError,
  VerificationError,
  CommClosedError,
  ProtocolError,
  HandshakeError,
  UnknownSchemeError,
  ConnectError,
  BackpressureError,
  StoreError,
  FormatError,
  DTypeError,
  LabelError,
  AlignmentError,
  ColumnError,
  SchemaError,
  ParseError,
  NotSupportedError,
  DataError,
  NonFiniteError,
  SingularMatrixError,
} from "./errors.js";
export type { ErrorData } from "./errors.js";
export { setLogger, consoleLogger } from "./log.js";
export { createRuntime, defaultRuntime, type Runtime, type RuntimeParts } from "./runtime.js";
export { createStores, Stores, type Store, type StoreOpener } from "./io/store.js";
export type { StoresSource, TaskContext } from "./task-context.js";
export { Transports } from "./comm/registry.js";
export type { Logger, LogLevel } from "./log.js";
export { registerWireClass } from "./protocol/wire-classes.js";
export type { WireClass } from "./protocol/wire-classes.js";
