// The Client: submits functions and data to a scheduler and hands back futures. Submissions made
// in one turn of the event loop go to the scheduler as one graph update (submit.ts; collections'
// graphs: collections.ts); futures are kept in keys.ts; results come straight from the workers that
// hold them, and scattered data goes straight to them (data.ts, scatter.ts).

import type { Comm } from "../comm/comm.js";
import { dispatch } from "../comm/dispatch.js";
import { greet } from "../comm/handshake.js";
import { PeerPool } from "../comm/peers.js";
import { connect } from "../comm/registry.js";
import { Requests } from "../comm/requests.js";
import { ArgumentError, CancelledError, ClientClosedError, errorFromData, LostDataError } from "../errors.js";
import {
  type Collection,
  clearDefaultClient,
  type GraphScheduler,
  isCollection,
  type PreparedGraph,
  persistWith,
  setDefaultClient,
} from "../graph/collection.js";
import { FutureNode, type GraphNode } from "../graph/task.js";
import type { Logger } from "../log.js";
import type {
  ClientToScheduler,
  Handlers,
  RequestWhat,
  RetireResult,
  SchedulerToClient,
  WorkerInfo,
  WorkerStoryEntry,
} from "../protocol/messages.js";
import type { StoryEntry } from "../scheduler/story.js";
import { checkKnownOptions, checkOptions, describe } from "./arguments.js";
import { computeGraph } from "./collections.js";
import { ClientDataPlane, type Locations } from "./data.js";
import { type ClientEventMap, ClientEvents, type ClientEventType } from "./events.js";
import { Future } from "./future.js";
import { KeyTable } from "./keys.js";
import type {
  Args,
  ClientOptions,
  MapIterables,
  ScatterOptions,
  TaskFn,
  TaskModule,
  TaskOptions,
  TaskSubmitter,
} from "./options.js";
import type { Stores } from "../io/store.js";
import { defaultRuntime, type Runtime } from "../runtime.js";
import { ReceiveBuffers } from "../util/receive-buffers.js";
import { SchedulerWatch } from "./progress-watch.js";
import { scatterValues } from "./scatter.js";
import { Submitter, settledOrFailed } from "./submit.js";
import { uploadModule } from "./upload.js";

/** What Client.connect accepts. */
const CLIENT_OPTION_NAMES = ["token", "name", "transport", "setAsDefault", "noWorkerTimeout", "runtime"];

export class Client implements GraphScheduler {
  /** The id the scheduler gave this client. */
  readonly id: string;
  /** What the scheduler's welcome said of its dashboard. */
  private dashboard: string | undefined = undefined;
  /** The keys this client holds futures for, and what its futures ask of it (keys.ts). */
  private readonly keys: KeyTable;
  private readonly requests: Requests;
  private readonly peers: PeerPool;
  private readonly data: ClientDataPlane;
  private readonly events: ClientEvents;
  /** What submit, map and compute send (submit.ts). */
  private readonly submitter: Submitter;

  private readonly runtime: Runtime;
  /** Takes this client's token back off its runtime's stores (Stores.useSchedulerCredentials). */
  private dropStoreToken: () => void = () => {};
  /** This client's buffers for large incoming frames (its links', not the realm's). */
  private readonly receiveBuffers: ReceiveBuffers | undefined;

  private constructor(
    private readonly comm: Comm,
    id: string,
    dataToken: string | undefined,
    options: ClientOptions,
  ) {
    this.id = id;
    this.runtime = options.runtime ?? defaultRuntime();
    this.receiveBuffers = options.transport?.receiveBuffers;
    this.requests = new Requests(comm);
    // The connections never keep the process alive by themselves; waiting does (KeyTable.hold).
    comm.keepAlive(false);
    this.events = new ClientEvents(id, this.runtime.logger);
    this.peers = new PeerPool("client", `client-${id}`, dataToken, options.transport);
    this.peers.keepAlive = false;
    this.data = new ClientDataPlane(
      this.peers,
      (keys) => this.request<Locations>({ kind: "locate", keys }),
      (key, from) => !comm.isClosed && comm.send({ op: "bad-data", key, from }),
    );
    this.data.log = this.runtime.logger;
    this.keys = new KeyTable({
      data: this.data,
      send: (msg) => this.sendScheduler(msg),
      watchProgress: (keys) => this.watchProgress(keys),
    });
    this.submitter = new Submitter(this.keys, (msg) => comm.send(msg), options.noWorkerTimeout);
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
    const runtime = options.runtime ?? defaultRuntime();
    const receiveBuffers = new ReceiveBuffers({ ahead: runtime.receiveAhead, timers: runtime.timers });
    // Every link of this client picks its transport from the runtime and reads into its own buffers.
    options = {
      ...options,
      runtime,
      transport: { ...options.transport, transports: runtime.transports, receiveBuffers, logger: runtime.logger },
    };
    const comm = await connect(address, options.transport);
    const w = await greet(comm, { role: "client", token: options.token, name: options.name });
    comm.name = `${w.id}→scheduler`;
    // Planning reads metadata here: from the scheduler's /data/, with the token this client joined with.
    const dropStoreToken = runtime.stores.useSchedulerCredentials(address, options.token);
    // A network scheduler relays data for clients that cannot reach workers themselves (a page: browser/index.ts).
    const relayVia = /^wss?:\/\/[^/]+$/.test(address) ? address : undefined;
    const client = new Client(
      comm,
      w.id,
      w.dataToken,
      relayVia === undefined ? options : { ...options, transport: { ...options.transport, relayVia } },
    );
    client.dashboard = w.dashboard;
    client.dropStoreToken = dropStoreToken;
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

  /** Set once the client is closed: what its futures and calls reject with. */
  get closedError(): ClientClosedError | null {
    return this.keys.closedError;
  }

  /** Runs `fn(...args)` on a worker. Futures among the arguments (also nested) are dependencies. */
  submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: Args<A>): Future<Awaited<R>> {
    return this.submitter.call(fn, args, {});
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
    return this.submitter.map(fn, rest, {});
  }

  /** submit and map with these options, e.g. `client.with({ retries: 2, priority: 10 }).submit(fn, x)`. */
  with(options: TaskOptions): TaskSubmitter {
    checkOptions(options, "with options");
    const fixed = { ...options };
    return {
      submit: (fn, ...args) => this.submitter.call(fn, args, fixed),
      map: ((fn: TaskFn<never, unknown>, ...rest: unknown[]) =>
        this.submitter.map(fn, rest, fixed)) as TaskSubmitter["map"],
    };
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
    await settledOrFailed(this.keys.statesOf(futures));
    return Promise.all(futures.map((f) => f.result()));
  }

  /**
   * Sends data to workers and gives one future per element of `data`, usable as task arguments.
   * Always an array (Dask's scatter takes a list too): a promise cannot resolve to a single future,
   * since a future is itself awaitable. `const [f] = await client.scatter([value])`.
   */
  async scatter<T>(data: T[], options: ScatterOptions = {}): Promise<Future<T>[]> {
    return scatterValues(
      {
        keys: this.keys,
        data: this.data,
        token: () => this.submitter.token(),
        request: (what) => this.request(what),
        checkOpen: () => this.checkOpen(),
        send: (msg) => this.sendScheduler(msg),
      },
      data,
      options,
    );
  }

  /** Cancels the tasks behind `futures` (and this client's tasks depending on them). */
  async cancel(futures: Future | Future[]): Promise<void> {
    const list = Array.isArray(futures) ? futures : [futures];
    for (const f of list)
      if (!(f instanceof Future)) throw new ArgumentError(`cancel expects futures, got ${describe(f)}`);
    return this.keys.cancelKeys(list.map((f) => f.key));
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
    return uploadModule<M>(this.runtime.client, module, (def) => this.request({ kind: "upload", module: def }));
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
    const futures = this.submitter.graph(computeGraph(Array.isArray(target) ? target : [target]), (keys) =>
      this.watchProgress(keys),
    );
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
    const futures = this.submitter.graph(g, (keys) => this.watchProgress(keys));
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
    const futures = this.submitter.graph(g, (keys) => this.watchProgress(keys));
    try {
      await settledOrFailed(this.keys.statesOf(futures));
    } catch (err) {
      g.computation?.finish(false); // its last count before the releases below drop its tasks
      for (const f of futures) f.release();
      throw err;
    }
    return futures.map((f) => new FutureNode(f));
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
   * The transitions each worker recorded for `key` (Dask's `worker.story`): computing it (waiting,
   * ready, executing, memory …) and fetching it as an input (fetch, flight, memory), each with the
   * worker's name, the event that caused it and the time on that worker's clock (ms since the
   * epoch); per worker oldest first, the last 1,000 at most. Workers that do not answer within 5 s
   * are left out.
   */
  workerStory(key: string): Promise<WorkerStoryEntry[]> {
    return this.request<WorkerStoryEntry[]>({ kind: "worker-story", key });
  }

  /**
   * @internal A watch on the scheduler counting the tasks behind `keys` (with everything they
   * need): what progress() polls. Sent after this turn's submissions.
   */
  watchProgress(keys: readonly string[]): SchedulerWatch {
    return new SchedulerWatch(<T>(what: RequestWhat) => this.request<T>(what), keys, this.runtime.logger);
  }

  /** Where this client's diagnostics go: its runtime's logger (computations on it log there too). */
  get logger(): Logger {
    return this.runtime.logger;
  }

  /**
   * What this client reads data through when it plans (its runtime's stores, io/store.ts): pass the
   * client as the `stores` option of fromZarr or inspectZarr.
   */
  get stores(): Stores {
    return this.runtime.stores;
  }

  /** Closes the connection; every pending future rejects with ClientClosedError. Idempotent. */
  async close(): Promise<void> {
    this.shutDown("client closed");
    this.comm.close("client closed");
    await this.keys.held(this.comm.closed.then(() => {}));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------ internals

  /** Sends to the scheduler after any submissions of this turn, so the scheduler sees them in order. */
  private sendScheduler(msg: ClientToScheduler): void {
    this.submitter.flush();
    if (!this.comm.isClosed) this.comm.send(msg);
  }

  private request<T>(what: RequestWhat): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.submitter.flush();
    return this.keys.held(this.requests.request<T>((id) => ({ op: "request", id, what })));
  }

  private checkOpen(): void {
    if (this.closedError) throw this.closedError;
  }

  private shutDown(reason: string): void {
    if (this.closedError) return;
    clearDefaultClient(this);
    this.dropStoreToken();
    const closed = new ClientClosedError(`client ${this.id} is closed (${reason})`);
    this.submitter.clear();
    this.keys.close(closed);
    this.peers.close(reason);
    this.receiveBuffers?.clear();
  }
}
