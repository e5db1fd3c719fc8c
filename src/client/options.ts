// Per-task options and the types that make submit/map read well in TypeScript.

import type { TransportOptions } from "../comm/types.js";
import type { Future } from "./future.js";
import type { Runtime } from "../runtime.js";

/** Options for one submitted task (or each task of a map). All optional. */
export interface TaskOptions {
  /** Use this key instead of a generated one (submit only). */
  key?: string;
  /**
   * Whether the function is pure: the same function and arguments give the same result, so the key
   * is derived from them and a repeat submission reuses the first. Default true, as in Dask; pass
   * false for functions with side effects or randomness.
   */
  pure?: boolean;
  /** Times to re-run the task if it throws. Default 0. */
  retries?: number;
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Only run on these workers (ids, names or addresses). */
  workers?: string | string[];
  /** Only run on workers offering these resources, e.g. { gpu: 1 }. */
  resources?: Record<string, number>;
  /**
   * Milliseconds a task may wait while no connected worker may run it (its `workers` or
   * `resources` match none, or there are no workers) before it fails with NoWorkerError, as Dask's
   * `no-workers-timeout`. Default: wait for such a worker as long as it takes (the client's log
   * says at once that the task is waiting, and why).
   */
  noWorkerTimeout?: number;
  /**
   * Agreeing results to get before the result counts: 2 runs the task on two workers (a trusted one
   * when there is one) and compares the SHA-256 of their serialized results; a worker whose result
   * differs from the accepted one is banned. 1 takes one worker's word, and so keeps the task off
   * untrusted workers: use it for tasks whose result legitimately varies (random, time). Default:
   * 2 when an untrusted worker computed it, 1 when a trusted one did.
   */
  verify?: 1 | 2;
  /**
   * The task and everything computed from it are never sent to an untrusted worker (a tab). Default
   * false. Scattered data takes the same option.
   */
  private?: boolean;
  /**
   * Milliseconds the task may take on a worker, from being sent there (its wait in that worker's
   * queue included), before the scheduler takes it back and runs it elsewhere; after 3 workers it
   * fails with TimeoutError. Default: none on trusted workers, the scheduler's
   * `untrustedTaskTimeoutMs` (10 minutes) on untrusted ones.
   */
  timeout?: number;
}

declare const handleTypes: unique symbol;

/**
 * An exported function of an uploaded task module. It is a function, so it goes wherever one is
 * taken (submit, map, delayed, mapBlocks …), and runs on the workers, where the module is loaded;
 * calling it directly in the client throws (compute on a cluster instead).
 */
export interface TaskHandle<A extends unknown[] = unknown[], R = unknown> {
  (...args: A): R;
  readonly module: string;
  readonly name: string;
  /** Phantom: carries the function's argument and result types. */
  readonly [handleTypes]?: (...args: A) => R;
}

/** An uploaded module, typed after it: its exported functions as handles, its other exports as their values. */
export type TaskModule<M> = {
  readonly [K in keyof M]: M[K] extends (...args: infer A) => infer R ? TaskHandle<A, R> : M[K];
};

/** A function (or module handle) that can run as a task. */
export type TaskFn<A extends unknown[], R> = ((...args: A) => R) | TaskHandle<A, R>;

/**
 * An argument as it may be given: the value, a future of it, or (for arrays and plain objects)
 * the same shape with futures inside. Futures become dependencies; the task sees their values.
 */
export type Arg<T> =
  | T
  | Future<T>
  | (T extends readonly (infer U)[]
      ? readonly Arg<U>[]
      : T extends Record<string, unknown>
        ? { [K in keyof T]: Arg<T[K]> }
        : never);

/** The arguments of a task function, each as an Arg. */
export type Args<A extends unknown[]> = { [I in keyof A]: Arg<A[I]> };

export interface ClientOptions {
  /** The scheduler's client token, if it requires one. */
  token?: string;
  /** Shown in the scheduler's logs. */
  name?: string;
  /** Passed to the transport (timeouts, size limits …). */
  transport?: TransportOptions;
  /**
   * Milliseconds any task of this client (submit, map, compute, persist) may wait while no worker
   * may run it before it fails with NoWorkerError; a task's own `noWorkerTimeout` wins. Default:
   * wait as long as it takes (the log says at once why a task waits).
   */
  noWorkerTimeout?: number;
  /**
   * Become the default scheduler for collections (`x.compute()` without a scheduler option), as
   * Dask's `set_as_default`. Default true: the most recently connected client is the default.
   */
  setAsDefault?: boolean;
  /** The platform's pieces (transports, logger, bundler …). Default: the realm's (defaultRuntime()). */
  runtime?: Runtime | undefined;
}

export interface ScatterOptions {
  /** Only place data on these workers (ids, names or addresses). */
  workers?: string[];
  /** Put a copy on every worker. Default false. */
  broadcast?: boolean;
  /** Key from the content, so scattering the same value twice reuses it. Default true. */
  hash?: boolean;
  /** Only trusted workers receive it, and tasks using it run only on trusted workers. Default false. */
  private?: boolean;
}

/** submit and map with a fixed set of TaskOptions; from client.with(options). */
export interface TaskSubmitter {
  submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: Args<A>): Future<Awaited<R>>;
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: [...MapIterables<A>, TaskOptions]): Future<Awaited<R>>[];
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: MapIterables<A>): Future<Awaited<R>>[];
}

/** What map takes for a task function's arguments: one iterable per argument. */
export type MapIterables<A extends unknown[]> = { [I in keyof A]: Iterable<Arg<A[I]>> };
