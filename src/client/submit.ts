// Submission: what submit, map and compute send. A call becomes a task message (its function by
// reference, its arguments serialized, its key from both), and the tasks of one turn of the event
// loop go to the scheduler as one graph update (Submitter).

import { ArgumentError } from "../errors.js";
import type { PreparedGraph } from "../graph/collection.js";
import type { CountSource } from "../graph/computation.js";
import type { FnDef, FnRef, UpdateGraph } from "../protocol/messages.js";
import { type Serialized, TaskRef } from "../protocol/refs.js";
import { serialize } from "../protocol/serialize.js";
import { hash64, randomId } from "../util/ids.js";
import { checkOptions, describe, isPlainObject, isTaskHandle, sourceRef } from "./arguments.js";
import { graphTasks } from "./collections.js";
import { describeFunction } from "./functions.js";
import { Future, type KeyState } from "./future.js";
import type { KeyTable } from "./keys.js";
import type { TaskFn, TaskOptions } from "./options.js";

/** One call of submit, ready to send: its key, its function's reference and its serialized arguments. */
export interface Call {
  key: string;
  ref: FnRef;
  /** The function's source, when it goes as source (sent once per client). */
  def: FnDef | undefined;
  args: Serialized;
  deps: string[];
}

/**
 * `fn(...args)` as a Call. The key is `options.key`, or the function's name and a hash of the
 * function and arguments (pure, the default), or its name and `token()` (pure: false).
 * `replace` turns futures among the arguments into references (and refuses other clients').
 */
export function describeCall(
  fn: TaskFn<never, unknown>,
  args: unknown[],
  options: TaskOptions,
  replace: (v: object) => unknown,
  token: () => string,
): Call {
  let ref: FnRef;
  let name: string;
  let def: FnDef | undefined;
  if (isTaskHandle(fn)) {
    ref = { kind: "module", module: fn.module, name: fn.name };
    name = fn.name;
  } else if (typeof fn === "function") {
    def = describeFunction(fn as (...a: never[]) => unknown);
    ref = sourceRef(def);
    name = def.name || "lambda";
  } else {
    throw new ArgumentError(`submit expects a function or a task module handle, got ${describe(fn)}`);
  }
  const { payload, refs } = serialize(args, { replace });
  const key =
    options.key ??
    (options.pure === false
      ? `${name}-${token()}`
      : `${name}-${hash64(ref.kind === "source" ? ref.id : ref.kind === "module" ? `${ref.module}#${ref.name}` : `builtin#${ref.name}`, payload.header, ...payload.frames)}`);
  return { key, ref, def, args: payload, deps: refs };
}

/**
 * map's arguments as columns, one per argument of the function (the iterables, zipped), and its
 * options: trailing options (a plain object) merged over `base`.
 */
export function mapColumns(rest: unknown[], base: TaskOptions): { columns: unknown[][]; options: TaskOptions } {
  let options = base;
  if (rest.length > 0 && isPlainObject(rest[rest.length - 1])) {
    const own = rest.pop() as TaskOptions;
    checkOptions(own, "map options");
    options = { ...base, ...own };
  }
  if (options.key !== undefined) throw new ArgumentError("map cannot take a single `key` for many tasks");
  if (rest.length === 0) throw new ArgumentError("map needs at least one iterable of items: client.map(fn, items)");
  const columns = rest.map((items, i) => {
    if (
      items === null ||
      typeof items !== "object" ||
      typeof (items as Iterable<unknown>)[Symbol.iterator] !== "function"
    ) {
      const where = rest.length > 1 ? ` (argument ${i + 2})` : "";
      throw new ArgumentError(
        `map expects an iterable of items${where}, got ${describe(items)}${isPlainObject(items) ? "; options go last" : ""}`,
      );
    }
    return Array.isArray(items) ? (items as unknown[]) : [...(items as Iterable<unknown>)];
  });
  const n = columns[0]!.length;
  if (columns.some((c) => c.length !== n)) {
    throw new ArgumentError(
      `map's iterables must have the same length, got lengths ${columns.map((c) => c.length).join(", ")}`,
    );
  }
  return { columns, options };
}

/**
 * What submit, map and collections send, as the client's futures: the submissions of one turn of
 * the event loop (tasks, the functions they need, each sent once per client, and the keys wanted)
 * go as one graph update in a microtask, or before any other message (flush()).
 */
export class Submitter {
  private pending: Omit<UpdateGraph, "op"> | null = null;
  /** Counts the updates sent: a later turn's tasks come after an earlier one's at equal priority. */
  private generation = 0;
  private readonly sentFns = new Set<string>();
  private counter = 0;
  private readonly prefix = randomId(4);

  constructor(
    private readonly keys: KeyTable,
    private readonly send: (msg: UpdateGraph) => void,
    /** ClientOptions.noWorkerTimeout: for tasks that do not give their own. */
    private readonly noWorkerTimeout: number | undefined,
  ) {}

  /** Futures among a task's arguments become references; another client's (or a released one) are refused. */
  readonly replaceFuture = (v: object): unknown => {
    if (!(v instanceof Future)) return undefined;
    if (!this.keys.get(v.key)) throw new ArgumentError(`future ${v.key} belongs to another client, or was released`);
    return new TaskRef(v.key);
  };

  /** A key part unique to this client (keys of impure tasks, unhashed scatters). */
  token(): string {
    return `${this.prefix}${(this.counter++).toString(36)}`;
  }

  /** submit: `fn(...args)` with `options`; sent unless a future for its key is pending or finished. */
  call<R>(fn: TaskFn<never, R>, args: unknown[], options: TaskOptions): Future<Awaited<R>> {
    this.checkOpen();
    const call = describeCall(fn, args, options, this.replaceFuture, () => this.token());
    if (call.def) this.addFn(call.def);
    const fresh = this.keys.isFresh(call.key);
    const future = this.keys.futureFor<Awaited<R>>(call.key, fresh);
    if (fresh) this.addCall(call, options);
    this.turn().wants.push(call.key);
    return future;
  }

  /** map: splits off trailing options (merged over `base`), zips the iterables, submits. */
  map(fn: TaskFn<never, unknown>, rest: unknown[], base: TaskOptions): Future<unknown>[] {
    const { columns, options } = mapColumns(rest, base);
    const n = columns[0]!.length;
    const out: Future<unknown>[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        this.call(
          fn,
          columns.map((c) => c[i]),
          options,
        ),
      );
    return out;
  }

  /**
   * A prepared graph (collections.ts), with the submissions of this turn, and futures for its
   * outputs; `watch` counts its tasks for progress() when someone follows.
   */
  graph(g: PreparedGraph, watch: (keys: readonly string[]) => CountSource): Future[] {
    this.checkOpen();
    const { tasks, fns } = graphTasks(g, {
      known: (key) => this.keys.get(key),
      replace: this.replaceFuture,
      generation: this.generation,
      noWorkerTimeout: this.noWorkerTimeout,
    });
    for (const def of fns) this.addFn(def);
    const turn = this.turn();
    for (const t of tasks) turn.tasks.push(t);
    const futures = g.outputs.map((key) => this.keys.futureFor(key, this.keys.isFresh(key)));
    turn.wants.push(...g.outputs);
    // Counted on the scheduler only when someone follows (progress()), from this turn on.
    g.computation?.addSource(() => watch(g.outputs));
    return futures;
  }

  /** Sends this turn's submissions now, so that a message sent next comes after them. */
  flush(): void {
    const g = this.pending;
    this.pending = null;
    if (!g || this.keys.closedError) return;
    this.generation++;
    this.send({ op: "update-graph", tasks: g.tasks, fns: g.fns, wants: g.wants });
  }

  /** Forgets what was not sent (the client closed). */
  clear(): void {
    this.pending = null;
  }

  private checkOpen(): void {
    if (this.keys.closedError) throw this.keys.closedError;
  }

  /** Sends `def` with this turn's update unless it was sent before. */
  private addFn(def: FnDef): void {
    if (this.sentFns.has(def.id)) return;
    this.sentFns.add(def.id);
    this.turn().fns.push(def);
  }

  /** A task of submit or map: priority first by option, then by turn, then in submission order. */
  private addCall(call: Call, options: TaskOptions): void {
    const turn = this.turn();
    turn.tasks.push({
      key: call.key,
      fn: call.ref,
      args: call.args,
      deps: call.deps,
      priority: [-(options.priority ?? 0), this.generation, turn.tasks.length],
      retries: options.retries ?? 0,
      workers: typeof options.workers === "string" ? [options.workers] : options.workers,
      resources: options.resources,
      noWorkerTimeout: options.noWorkerTimeout ?? this.noWorkerTimeout,
      verify: options.verify,
      private: options.private || undefined,
      timeout: options.timeout,
    });
  }

  private turn(): Omit<UpdateGraph, "op"> {
    if (!this.pending) {
      this.pending = { tasks: [], fns: [], wants: [] };
      queueMicrotask(() => this.flush());
    }
    return this.pending;
  }
}

/**
 * Resolves when every key is settled, or rejects with the first failure as it happens. One
 * listener for the whole batch rather than a promise per key.
 */
export function settledOrFailed(states: KeyState[]): Promise<void> {
  let pending = 0;
  for (const ks of states) if (ks.status === "pending") pending++;
  if (pending === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const listener = (ks: KeyState) => {
      if (ks.status !== "finished") reject(ks.error ?? new Error(`${ks.key} failed`));
      else if (--pending === 0) resolve();
    };
    for (const ks of states) if (ks.status === "pending") ks.onSettled(listener);
  });
}
