// The Client: submits functions and data to a scheduler and hands back futures. Submissions made
// in one turn of the event loop go to the scheduler as one graph update; results come straight
// from the workers that hold them (data.ts).

import type { Comm } from "../comm/comm.js";
import { dispatch } from "../comm/dispatch.js";
import { greet } from "../comm/handshake.js";
import { PeerPool } from "../comm/peers.js";
import { connect } from "../comm/registry.js";
import { Requests } from "../comm/requests.js";
import type { TransportOptions } from "../comm/types.js";
import { ArgumentError, CancelledError, ClientClosedError, errorFromData, LostDataError } from "../errors.js";
import { useSchedulerCredentials } from "../io/store.js";
import type {
  ClientToScheduler,
  FnDef,
  FnRef,
  Handlers,
  ModuleDef,
  RequestWhat,
  SchedulerToClient,
  TaskMsg,
} from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { TaskRef } from "../protocol/refs.js";
import { deserialize, serialize } from "../protocol/serialize.js";
import type { StoryEntry } from "../scheduler/story.js";
import type { RetireResult, ScatterPlacement, WorkerInfo } from "../protocol/messages.js";
import { hash64, randomId } from "../util/ids.js";
import { describeFunction } from "./functions.js";
import { Future, KeyState, type FutureHost } from "./future.js";
import {
  checkKnownOptions,
  checkOptions,
  describe,
  isPlainObject,
  isTaskHandle,
  makeTaskHandle,
  sourceRef,
  typeTag,
} from "./arguments.js";
import { ClientDataPlane, type Locations } from "./data.js";
import { ClientEvents, type ClientEventMap, type ClientEventType } from "./events.js";
import type { Arg, Args, TaskFn, TaskHandle, TaskModule, TaskOptions } from "./options.js";
import { clientPlatform } from "./platform.js";
import { SchedulerWatch } from "./progress-watch.js";
import {
  clearDefaultClient,
  COLLECTION,
  isCollection,
  persistWith,
  prepare,
  setDefaultClient,
  type Collection,
  type GraphScheduler,
  type PreparedGraph,
} from "../graph/collection.js";
import { FutureNode, Literal, Task, type GraphNode } from "../graph/task.js";

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

/** What Client.connect accepts. */
const CLIENT_OPTION_NAMES = ["token", "name", "transport", "setAsDefault", "noWorkerTimeout"];

/**
 * While a client waits for something it holds one timer of this period, which keeps a Node
 * process alive (its connections do not). Long: it never fires in practice.
 */
const KEEP_ALIVE_INTERVAL_MS = 1 << 30;
const noop = () => {};

export class Client implements FutureHost, GraphScheduler {
  /** The id the scheduler gave this client. */
  readonly id: string;
  /** What the scheduler's welcome said of its dashboard. */
  private dashboard: string | undefined = undefined;
  closedError: ClientClosedError | null = null;
  private readonly keys = new Map<string, KeyState>();
  private readonly requests: Requests;
  private readonly peers: PeerPool;
  private readonly data: ClientDataPlane;
  private readonly sentFns = new Set<string>();
  /** Things this client waits for (pending keys, requests, fetches); see hold(). */
  private holds = 0;
  private holdTimer: ReturnType<typeof setInterval> | undefined;
  private readonly events: ClientEvents;
  /** ClientOptions.noWorkerTimeout: for tasks that do not give their own. */
  private readonly noWorkerTimeout: number | undefined;
  private graph: { tasks: TaskMsg[]; fns: FnDef[]; wants: string[] } | null = null;
  /** Keys whose last future went away this turn; released in one message. */
  private releases = new Set<string>();
  private generation = 0;
  private counter = 0;
  private readonly prefix = randomId(4);
  private readonly replaceFuture = (v: object): unknown => {
    if (!(v instanceof Future)) return undefined;
    if (!this.keys.has(v.key)) throw new ArgumentError(`future ${v.key} belongs to another client, or was released`);
    return new TaskRef(v.key);
  };

  private constructor(
    private readonly comm: Comm,
    id: string,
    dataToken: string | undefined,
    options: ClientOptions,
  ) {
    this.id = id;
    this.requests = new Requests(comm);
    // The connections never keep the process alive by themselves; waiting does (hold()).
    comm.keepAlive(false);
    this.events = new ClientEvents(id);
    this.noWorkerTimeout = options.noWorkerTimeout;
    this.peers = new PeerPool("client", `client-${id}`, dataToken, options.transport);
    this.peers.keepAlive = false;
    this.data = new ClientDataPlane(
      this.peers,
      (keys) => this.request<Locations>({ kind: "locate", keys }),
      (key, from) => !comm.isClosed && comm.send({ op: "bad-data", key, from }),
    );
    const handlers: Handlers<SchedulerToClient> = {
      "key-in-memory": (m) => {
        const ks = this.keys.get(m.key);
        if (!ks) return;
        this.data.learn(m.key, m.who, m.tickets, m.digest);
        ks.finish(m.who, m.nbytes, m.value);
      },
      "key-erred": (m) => this.keys.get(m.key)?.fail("error", errorFromData(m.error, m.blame)),
      "key-cancelled": (m) => this.keys.get(m.key)?.fail("cancelled", new CancelledError(m.key)),
      "key-lost": (m) => {
        const ks = this.keys.get(m.key);
        if (!ks || ks.inline) return; // an inline value is still good
        ks.reset();
        this.data.drop(m.key, new LostDataError(`${m.key} was lost (${m.reason})`));
        this.events.emit("recomputing", { key: m.key, reason: m.reason });
      },
      "key-waiting": (m) => this.events.emit(m.why, { key: m.key, reason: m.reason }),
      reply: (m) => this.requests.settle(m.id, m.value, m.error),
    };
    comm.setHandler((msg) => dispatch(handlers, msg));
    void comm.closed.then((info) => this.shutDown(`connection to the scheduler closed: ${info.reason}`));
  }

  /** Connects to the scheduler at `address` (e.g. `cluster.address`, or "ws://host:8786"). */
  static async connect(address: string, options: ClientOptions = {}): Promise<Client> {
    if (typeof address !== "string")
      throw new ArgumentError(`Client.connect expects an address string, got ${typeof address}`);
    checkKnownOptions("Client.connect options", options, CLIENT_OPTION_NAMES);
    if (options.noWorkerTimeout !== undefined) checkOptions({ noWorkerTimeout: options.noWorkerTimeout });
    const comm = await connect(address, options.transport);
    const w = await greet(comm, { role: "client", token: options.token, name: options.name });
    comm.name = `${w.id}→scheduler`;
    // Planning reads metadata here: from the scheduler's /data/, with the token this client joined with.
    useSchedulerCredentials(address, options.token);
    // A network scheduler relays data for clients that cannot reach workers themselves (a page: browser/index.ts).
    const relayVia = /^wss?:\/\/[^/]+$/.test(address) ? address : undefined;
    const client = new Client(
      comm,
      w.id,
      w.dataToken,
      relayVia === undefined ? options : { ...options, transport: { ...options.transport, relayVia } },
    );
    client.dashboard = w.dashboard;
    // As in Dask, the newest client is where collections compute unless told otherwise.
    if (options.setAsDefault !== false) setDefaultClient(client);
    return client;
  }

  /**
   * The scheduler's dashboard (`http://host:port/dashboard#token=…`: it carries the client token,
   * so share it as you would the token), or undefined when the scheduler serves none.
   */
  get dashboardLink(): string | undefined {
    return this.dashboard;
  }

  /** Runs `fn(...args)` on a worker. Futures among the arguments (also nested) are dependencies. */
  submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: Args<A>): Future<Awaited<R>> {
    return this.submitOne(fn, args, {});
  }

  /**
   * Runs `fn` once per position of the iterables, as Dask's map: `map(fn, xs)` calls `fn(x)` for
   * each item, `map(fn, xs, ys)` calls `fn(x, y)` for each pair (the iterables must have the same
   * length). Task options, if any, come last as a plain object: `map(fn, xs, ys, { retries: 2 })`.
   * One future per position, in order.
   */
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: [...MapIterables<A>, TaskOptions]): Future<Awaited<R>>[];
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: MapIterables<A>): Future<Awaited<R>>[];
  map(fn: TaskFn<never, unknown>, ...rest: unknown[]): Future<unknown>[] {
    return this.mapWith(fn, rest, {});
  }

  /** submit and map with these options, e.g. `client.with({ retries: 2, priority: 10 }).submit(fn, x)`. */
  with(options: TaskOptions): TaskSubmitter {
    checkOptions(options, "with options");
    const fixed = { ...options };
    return {
      submit: (fn, ...args) => this.submitOne(fn, args, fixed),
      map: ((fn: TaskFn<never, unknown>, ...rest: unknown[]) => this.mapWith(fn, rest, fixed)) as TaskSubmitter["map"],
    };
  }

  /** map's work: splits off trailing options (merged over `base`), zips the iterables, submits. */
  private mapWith(fn: TaskFn<never, unknown>, rest: unknown[], base: TaskOptions): Future<unknown>[] {
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
    const out: Future<unknown>[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        this.submitOne(
          fn,
          columns.map((c) => c[i]),
          options,
        ),
      );
    return out;
  }

  /** The results of `futures`, in order. Rejects with the first task error. */
  gather<T>(futures: Future<T>[]): Promise<T[]>;
  gather<T>(future: Future<T>): Promise<T>;
  async gather<T>(futures: Future<T> | Future<T>[]): Promise<T | T[]> {
    if (futures instanceof Future) return futures.result();
    if (!Array.isArray(futures))
      throw new ArgumentError(`gather expects a future or an array of futures, got ${describe(futures)}`);
    for (const f of futures)
      if (!(f instanceof Future)) throw new ArgumentError(`gather expects futures, got ${describe(f)}`);
    if (this.closedError) throw this.closedError;
    await settledOrFailed(futures.map((f) => this.keys.get(f.key)).filter((ks): ks is KeyState => ks !== undefined));
    return Promise.all(futures.map((f) => f.result()));
  }

  /**
   * Sends data to workers and gives one future per element of `data`, usable as task arguments.
   * Always an array (Dask's scatter takes a list too): a promise cannot resolve to a single future,
   * since a future is itself awaitable. `const [f] = await client.scatter([value])`.
   */
  async scatter<T>(data: T[], options: ScatterOptions = {}): Promise<Future<T>[]> {
    this.checkOpen();
    if (!Array.isArray(data)) {
      throw new ArgumentError(
        `scatter takes an array of values and gives one future per element: const [f] = await client.scatter([value]); got ${describe(data)}`,
      );
    }
    const values: unknown[] = data;
    const noFutures = (v: object): unknown => {
      if (v instanceof Future) throw new ArgumentError("futures cannot be scattered; pass them to submit instead");
      return undefined;
    };
    const encoded = values.map((v) => serialize(v, { replace: noFutures }));
    const keys = encoded.map((e, i) => {
      const tag = typeTag(values[i]);
      return options.hash === false
        ? `${tag}-${this.nextToken()}`
        : `${tag}-${hash64(e.payload.header, ...e.payload.frames)}`;
    });
    // The scheduler places the values (and grants the puts: grants.ts); update-data counts only those.
    const placement = await this.request<ScatterPlacement>({
      kind: "scatter",
      keys,
      workers: options.workers,
      broadcast: options.broadcast === true,
      private: options.private === true || undefined,
    });
    const perWorker = new Map<
      string,
      { values: Record<string, Serialized>; tickets: Record<string, string> | undefined }
    >();
    keys.forEach((key, i) => {
      for (const { address, ticket, read } of placement[key] ?? []) {
        let batch = perWorker.get(address);
        if (!batch) perWorker.set(address, (batch = { values: {}, tickets: ticket === undefined ? undefined : {} }));
        batch.values[key] = encoded[i]!.payload;
        if (batch.tickets && ticket !== undefined) batch.tickets[key] = ticket;
        if (read !== undefined) this.data.learn(key, [address], [read]);
      }
    });
    const entries: { key: string; worker: string; nbytes: number; private?: boolean }[] = [];
    await Promise.all(
      [...perWorker].map(async ([address, { values: batch, tickets }]) => {
        const nbytes = await this.held(this.data.put(address, batch, tickets));
        for (const key of Object.keys(batch))
          entries.push({ key, worker: address, nbytes: nbytes[key] ?? 0, private: options.private || undefined });
      }),
    );
    this.checkOpen();
    const futures = keys.map((key) => this.futureFor<T>(key));
    for (const e of entries) {
      const ks = this.keys.get(e.key)!;
      ks.finish([...new Set([...ks.who, e.worker])], e.nbytes);
    }
    this.sendScheduler({ op: "update-data", entries });
    return futures;
  }

  /** Cancels the tasks behind `futures` (and this client's tasks depending on them). */
  async cancel(futures: Future | Future[]): Promise<void> {
    const list = Array.isArray(futures) ? futures : [futures];
    for (const f of list)
      if (!(f instanceof Future)) throw new ArgumentError(`cancel expects futures, got ${describe(f)}`);
    return this.cancelKeys(list.map((f) => f.key));
  }

  /** The workers in the cluster: id, kind, tasks and memory. */
  workers(): Promise<WorkerInfo[]> {
    return this.request<WorkerInfo[]>({ kind: "workers" });
  }

  /**
   * Retires workers (ids, names or addresses, as `workers()` reports them) gracefully: they take
   * no new tasks, hand back the ones queued on them, finish the one running, and the results only
   * they hold are copied to other workers before they close, so nothing is computed again.
   * Resolves once each has left, or was kept (`kept`, with the reason: e.g. no other worker to
   * hold its results).
   */
  retireWorkers(workers: string | string[]): Promise<RetireResult> {
    const list = typeof workers === "string" ? [workers] : workers;
    if (!Array.isArray(list) || !list.every((w) => typeof w === "string")) {
      return Promise.reject(new ArgumentError(`retireWorkers expects worker ids (strings), got ${describe(workers)}`));
    }
    return this.request<RetireResult>({ kind: "retire", workers: list });
  }

  /**
   * Bundles a module (a path or URL of a .ts/.js file), stores it on the scheduler by content
   * hash, makes it importable on every worker (present and future), and returns handles for its
   * exported functions to pass to submit, map, delayed and mapBlocks; other exports are their values.
   * It is built for Node and for browsers; a module that imports Node's built-ins (node:fs …) has
   * no browser build, and its tasks run on Node workers only (never on tabs).
   */
  async upload<M = Record<string, (...args: never[]) => unknown>>(module: string | URL): Promise<TaskModule<M>> {
    this.checkOpen();
    const platform = clientPlatform();
    if (!platform) throw new ArgumentError("upload needs a bundler; it is available when meshwork is imported in Node");
    const { source, exports, values, browser, nodeOnly } = await platform.bundle(module);
    // Content-hashed: each build by its text, the module by both (or by its Node build and why it has no other).
    const def: ModuleDef =
      browser !== undefined
        ? { hash: hash64(source, browser), source, exports, browser: { hash: hash64(browser), source: browser } }
        : { hash: hash64(source, "node-only"), source, exports, nodeOnly: nodeOnly ?? "it was built for Node only" };
    const hash = def.hash;
    await this.request({ kind: "upload", module: def });
    const handles: Record<string, TaskHandle | unknown> = {};
    for (const name of exports)
      handles[name] = values && Object.hasOwn(values, name) ? values[name] : makeTaskHandle(hash, name);
    return Object.freeze(handles) as unknown as TaskModule<M>;
  }

  // ------------------------------------------------------------ collections (delayed, arrays)

  /**
   * Starts computing collections on the cluster and gives a future for each one's value (the
   * value is assembled on a worker, as Dask's client.compute does). `await client.compute(x)`
   * gives the value; `x.compute()` fetches the pieces and assembles them here instead.
   */
  compute<T>(collection: Collection<T>): Future<T>;
  compute<T>(collections: Collection<T>[]): Future<T>[];
  compute(target: Collection | Collection[]): Future | Future[] {
    const list = Array.isArray(target) ? target : [target];
    const parts = list.map((c, i) => {
      if (typeof (c as Partial<Collection>)?.[COLLECTION] !== "function")
        throw new ArgumentError(`compute takes collections (delayed values, arrays); item ${i} is ${describe(c)}`);
      return c[COLLECTION]();
    });
    const prepared = prepare(parts);
    const outputs: string[] = [];
    let last = Math.max(-1, ...prepared.order.values());
    for (const p of parts) {
      const task = p.finalizeTask?.();
      if (!task) {
        outputs.push(p.keys[0]!);
        continue;
      }
      const key = `finalize-${hash64(...p.keys)}`;
      prepared.graph.set(key, task);
      prepared.order.set(key, ++last);
      outputs.push(key);
    }
    const futures = this.submitGraph({ ...prepared, outputs });
    return Array.isArray(target) ? futures : futures[0]!;
  }

  /** Computes collections on the cluster and gives them back backed by the results held there. */
  async persist<C extends Collection>(collection: C): Promise<C> {
    // persistWith passes anything else through unchanged; here that would hide a mistake.
    if (!isCollection(collection))
      throw new ArgumentError(`persist takes a collection (a delayed value, an array); got ${describe(collection)}`);
    const [out] = await persistWith({ scheduler: this }, [collection] as const);
    return out as C;
  }

  /** @internal GraphScheduler: the values of a prepared graph's outputs. */
  async computeGraph(g: PreparedGraph): Promise<unknown[]> {
    const futures = this.submitGraph(g);
    try {
      return await this.gather(futures);
    } catch (err) {
      g.computation?.finish(false); // its last count before the releases below drop its tasks
      throw err;
    } finally {
      for (const f of futures) f.release();
    }
  }

  /** @internal GraphScheduler: runs a prepared graph and keeps its outputs on the workers. */
  async persistGraph(g: PreparedGraph): Promise<GraphNode[]> {
    const futures = this.submitGraph(g);
    try {
      await settledOrFailed(futures.map((f) => this.keys.get(f.key)).filter((ks): ks is KeyState => ks !== undefined));
    } catch (err) {
      g.computation?.finish(false); // its last count before the releases below drop its tasks
      for (const f of futures) f.release();
      throw err;
    }
    return futures.map((f) => new FutureNode(f));
  }

  /**
   * Submits a prepared graph (one update, with the submissions of this turn) and gives futures
   * for its outputs. Keys already held as futures are not sent again; functions compiled into
   * meshwork go by name, the user's as source.
   */
  private submitGraph(g: PreparedGraph): Future[] {
    this.checkOpen();
    // Nothing is queued until every node is known to be sendable: a closure or an unsendable
    // value halfway through would otherwise leave the tasks before it to run for nobody.
    const tasks: TaskMsg[] = [];
    const fns: FnDef[] = [];
    for (const [key, node] of g.graph) {
      if (node instanceof FutureNode) {
        if (!this.keys.has(key))
          throw new ArgumentError(`${key} is held by a future of another client, or one already released`);
        continue;
      }
      const known = this.keys.get(key);
      if (known && (known.status === "pending" || known.status === "finished")) continue;
      let ref: FnRef;
      let args: readonly unknown[];
      if (node instanceof Literal) {
        ref = { kind: "builtin", name: "identity" };
        args = [node.value];
      } else if (node instanceof Task) {
        args = node.args;
        if (typeof node.fn === "string") {
          ref = { kind: "builtin", name: node.fn };
        } else if (isTaskHandle(node.fn)) {
          ref = { kind: "module", module: node.fn.module, name: node.fn.name };
        } else {
          const def = describeFunction(node.fn);
          ref = sourceRef(def);
          fns.push(def);
        }
        // A kernel calling the user's function (Task.calling): the worker runs via(fn, ...args).
        if (node.via !== undefined && ref.kind !== "builtin") ref = { ...ref, via: node.via };
      } else {
        throw new ArgumentError(`cannot submit graph node ${String(node)}`);
      }
      const { payload, refs } = serialize(args, { replace: this.replaceFuture });
      tasks.push({
        key,
        fn: ref,
        args: payload,
        deps: refs,
        priority: [0, this.generation, g.order.get(key) ?? 0],
        retries: 0,
        noWorkerTimeout: this.noWorkerTimeout,
      });
    }
    for (const def of fns) this.queueFn(def);
    const pending = this.pendingGraph();
    for (const t of tasks) pending.tasks.push(t);
    const futures = g.outputs.map((key) => {
      const known = this.keys.get(key);
      const fresh = !known || known.status === "cancelled" || known.status === "lost";
      return this.futureFor(key, fresh);
    });
    pending.wants.push(...g.outputs);
    // Counted on the scheduler only when someone follows (progress()), from this turn on.
    g.computation?.addSource(() => this.watchProgress(g.outputs));
    return futures;
  }

  /**
   * Listens for news about work this client waits for: `"no-worker"` (no connected worker may run
   * a task; it stays pending) and `"recomputing"` (work was lost with a worker and is computed
   * again). Each is also a warning in the log. Returns a function that stops listening.
   */
  on<T extends ClientEventType>(type: T, listener: (event: ClientEventMap[T]) => void): () => void {
    if (type !== "no-worker" && type !== "recomputing")
      throw new ArgumentError(`unknown client event ${describe(type)}; the events are "no-worker" and "recomputing"`);
    return this.events.on(type, listener);
  }

  /** The transitions the scheduler recorded for `key`, oldest first, with notes saying why where there are any. */
  story(key: string): Promise<StoryEntry[]> {
    return this.request<StoryEntry[]>({ kind: "story", key });
  }

  /**
   * @internal A watch on the scheduler counting the tasks behind `keys` (with everything they
   * need): what progress() polls. Sent after this turn's submissions.
   */
  watchProgress(keys: readonly string[]): SchedulerWatch {
    return new SchedulerWatch(<T>(what: RequestWhat) => this.request<T>(what), keys);
  }

  /** Closes the connection; every pending future rejects with ClientClosedError. Idempotent. */
  async close(): Promise<void> {
    this.shutDown("client closed");
    this.comm.close("client closed");
    await this.held(this.comm.closed.then(noop));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------ FutureHost

  /** @internal FutureHost: see hold there. */
  hold(delta: 1 | -1): void {
    this.holds += delta;
    if (this.holds > 0 && this.holdTimer === undefined) this.holdTimer = setInterval(noop, KEEP_ALIVE_INTERVAL_MS);
    else if (this.holds === 0 && this.holdTimer !== undefined) {
      clearInterval(this.holdTimer);
      this.holdTimer = undefined;
    }
  }

  /** `p`, with the process kept alive until it settles. */
  private held<T>(p: Promise<T>): Promise<T> {
    this.hold(1);
    return p.finally(() => this.hold(-1));
  }

  /** @internal */
  fetch(key: string): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const ks = this.keys.get(key);
    if (!ks) return Promise.reject(new LostDataError(`${key} was released by this client`));
    if (ks.inline) {
      try {
        return Promise.resolve(deserialize(ks.inline));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.held(this.data.fetch(key, ks.who));
  }

  /** @internal */
  async cancelKeys(keys: string[]): Promise<void> {
    for (const key of keys) this.keys.get(key)?.fail("cancelled", new CancelledError(key));
    if (this.closedError || keys.length === 0) return;
    this.sendScheduler({ op: "cancel", keys });
  }

  /** @internal */
  drop(ks: KeyState): void {
    if (--ks.refs > 0 || this.keys.get(ks.key) !== ks) return;
    this.keys.delete(ks.key);
    this.data.forget(ks.key);
    // Whoever still awaits a released future (the released object itself) gets an answer.
    if (ks.status === "pending")
      ks.fail("lost", new LostDataError(`${ks.key} was released by this client before it finished`));
    if (this.closedError) return;
    if (this.releases.size === 0) queueMicrotask(() => this.flushReleases());
    this.releases.add(ks.key);
  }

  private flushReleases(): void {
    const keys = [...this.releases];
    this.releases.clear();
    if (keys.length > 0 && !this.closedError) this.sendScheduler({ op: "release-keys", keys });
  }

  // ------------------------------------------------------------ internals

  private submitOne<R>(fn: TaskFn<never, R>, args: unknown[], options: TaskOptions): Future<Awaited<R>> {
    this.checkOpen();
    let ref: FnRef;
    let name: string;
    if (isTaskHandle(fn)) {
      ref = { kind: "module", module: fn.module, name: fn.name };
      name = fn.name;
    } else if (typeof fn === "function") {
      const def = describeFunction(fn as (...a: never[]) => unknown);
      ref = sourceRef(def);
      name = def.name || "lambda";
      this.queueFn(def);
    } else {
      throw new ArgumentError(`submit expects a function or a task module handle, got ${describe(fn)}`);
    }
    const { payload, refs } = serialize(args, { replace: this.replaceFuture });
    const key =
      options.key ??
      (options.pure === false
        ? `${name}-${this.nextToken()}`
        : `${name}-${hash64(ref.kind === "source" ? ref.id : ref.kind === "module" ? `${ref.module}#${ref.name}` : `builtin#${ref.name}`, payload.header, ...payload.frames)}`);
    const known = this.keys.get(key);
    const fresh = !known || known.status === "cancelled" || known.status === "lost";
    const future = this.futureFor<Awaited<R>>(key, fresh);
    const graph = this.pendingGraph();
    if (fresh) {
      graph.tasks.push({
        key,
        fn: ref,
        args: payload,
        deps: refs,
        priority: [-(options.priority ?? 0), this.generation, graph.tasks.length],
        retries: options.retries ?? 0,
        workers: typeof options.workers === "string" ? [options.workers] : options.workers,
        resources: options.resources,
        noWorkerTimeout: options.noWorkerTimeout ?? this.noWorkerTimeout,
        verify: options.verify,
        private: options.private || undefined,
        timeout: options.timeout,
      });
    }
    graph.wants.push(key);
    return future;
  }

  /** A new Future for `key`, sharing (or, when `fresh`, replacing) the key's record. */
  private futureFor<T>(key: string, fresh = false): Future<T> {
    this.releases.delete(key); // wanted again before its release went out
    let ks = this.keys.get(key);
    if (!ks || fresh) {
      ks = new KeyState(key, this);
      this.keys.set(key, ks);
    }
    return new Future<T>(key, this, ks);
  }

  private queueFn(def: FnDef): void {
    if (this.sentFns.has(def.id)) return;
    this.sentFns.add(def.id);
    this.pendingGraph().fns.push(def);
  }

  private pendingGraph(): { tasks: TaskMsg[]; fns: FnDef[]; wants: string[] } {
    if (!this.graph) {
      this.graph = { tasks: [], fns: [], wants: [] };
      queueMicrotask(() => this.flushGraph());
    }
    return this.graph;
  }

  /** Sends the submissions of this turn as one graph update. */
  private flushGraph(): void {
    const g = this.graph;
    this.graph = null;
    if (!g || this.closedError) return;
    this.generation++;
    this.comm.send({ op: "update-graph", tasks: g.tasks, fns: g.fns, wants: g.wants });
  }

  /** Sends to the scheduler after any submissions of this turn, so the scheduler sees them in order. */
  private sendScheduler(msg: ClientToScheduler): void {
    this.flushGraph();
    if (!this.comm.isClosed) this.comm.send(msg);
  }

  private request<T>(what: RequestWhat): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.flushGraph();
    return this.held(this.requests.request<T>((id) => ({ op: "request", id, what })));
  }

  private nextToken(): string {
    return `${this.prefix}${(this.counter++).toString(36)}`;
  }

  private checkOpen(): void {
    if (this.closedError) throw this.closedError;
  }

  private shutDown(reason: string): void {
    if (this.closedError) return;
    clearDefaultClient(this);
    this.closedError = new ClientClosedError(`client ${this.id} is closed (${reason})`);
    this.graph = null;
    for (const ks of this.keys.values()) ks.fail("cancelled", this.closedError);
    this.peers.close(reason);
  }
}

/**
 * Resolves when every key is settled, or rejects with the first failure as it happens. One
 * listener for the whole batch rather than a promise per key.
 */
function settledOrFailed(states: KeyState[]): Promise<void> {
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
