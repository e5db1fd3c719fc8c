// What the dashboard shows, gathered beside the scheduler without slowing it: task events are kept
// only while a dashboard watches (else each hook is one comparison), in a fixed ring of parallel
// arrays; everything else (workers, links, progress, the graph) is read from the state once per frame.

import type { TaskState } from "./model.js";
import type { SchedulerState } from "./state.js";

/** Task events kept between two frames; past it the oldest are overwritten (and counted as dropped). */
export const EVENT_RING_CAPACITY = 32_768;
/**
 * Task-stream bars sent per frame at most: past it the frame carries an even sample of them and
 * says how many it left out. 4,000 bars of ~70 bytes is ~280 kB a second, and a page draws them
 * in a few ms (bench/dashboard.mjs).
 */
export const MAX_BARS_PER_FRAME = 4_000;
/** A computation with at most this many tasks is sent as a graph (nodes, edges); a summary beyond. */
export const GRAPH_MAX_TASKS = 3_000;
/** Prefixes in the progress panel at most (the most live tasks first). */
export const MAX_PREFIXES = 60;
/** A prefix with no live task stays in the progress panel this long (ms) after its last change. */
export const PREFIX_LINGER_MS = 30_000;
/** Workers listed per frame at most; the rest are counted (the scheduler admits up to 10,000). */
export const MAX_WORKERS_LISTED = 1_000;

/** Kinds of task-stream bar: a task ran, a result was fetched by a worker, bytes were spilled, a task failed. */
export type BarKind = "task" | "transfer" | "spill" | "error";
const KINDS: BarKind[] = ["task", "transfer", "spill", "error"];

/** One bar: [worker id, start ms, end ms, kind, key, prefix, bytes]. Times on the scheduler's clock. */
export type Bar = [string, number, number, BarKind, string, string, number];

export interface WorkerRow {
  id: string;
  name: string;
  kind: string;
  address: string;
  trusted: boolean;
  nthreads: number;
  /** Tasks assigned and not finished; of them `executing` the worker says are running. */
  processing: number;
  executing: number;
  done: number;
  /** Results held, and their bytes. */
  held: number;
  memory: number;
  memoryLimit: number;
  spilled: number;
  paused: boolean;
  status: string;
  /** Milliseconds since the scheduler last heard from it. */
  lastSeenMs: number;
}

export interface LinkRow {
  from: string;
  to: string;
  kind: string;
  bytes: number;
  MBps: number;
}

/**
 * Per task prefix: done (finished and since released: tasks finished while a dashboard watches,
 * less those in memory; a dashboard opened mid-run does not count what was released before),
 * in memory, processing, waiting (waiting, no-worker, released), erred.
 */
export interface PrefixRow {
  prefix: string;
  done: number;
  memory: number;
  processing: number;
  waiting: number;
  erred: number;
}

export type GraphView =
  /** keys and edges (index pairs) only when the task set changed since the last frame; states always ("w" waiting, "n" no-worker, "p" processing, "m" memory, "e" erred, "r" released). */
  | { kind: "graph"; total: number; keys?: string[]; prefixes?: string[]; edges?: [number, number][]; states: string }
  | { kind: "summary"; total: number; states: Record<string, number> };

export interface DashboardFrame {
  /** The scheduler's clock (ms) when the frame was made. */
  now: number;
  workers: WorkerRow[];
  /** Workers not listed (past MAX_WORKERS_LISTED). */
  moreWorkers: number;
  links: LinkRow[];
  progress: PrefixRow[];
  bars: Bar[];
  /** Events since the last frame that are not among `bars` (sampled out, or overwritten in the ring). */
  barsLeftOut: number;
  graph: GraphView;
  clients: number;
}

const STATE_CHAR: Record<string, string> = {
  released: "r",
  waiting: "w",
  "no-worker": "n",
  processing: "p",
  memory: "m",
  erred: "e",
  forgotten: "r",
};

/**
 * The dashboard's view of one scheduler. The shell calls the hooks from its message handlers; a
 * feed calls `watch()` while a dashboard is open and `frame()` about once a second.
 */
export class Telemetry {
  private watchers = 0;
  // The ring: one slot per event, parallel arrays (no object per event).
  private readonly workerOf: string[] = new Array<string>(EVENT_RING_CAPACITY);
  private readonly keyOf: string[] = new Array<string>(EVENT_RING_CAPACITY);
  /** The task's prefix (TaskState.group, made when the task was), read when the event happens. */
  private readonly prefixOf: string[] = new Array<string>(EVENT_RING_CAPACITY);
  private readonly kindOf = new Uint8Array(EVENT_RING_CAPACITY);
  private readonly startOf = new Float64Array(EVENT_RING_CAPACITY);
  private readonly endOf = new Float64Array(EVENT_RING_CAPACITY);
  private readonly bytesOf = new Float64Array(EVENT_RING_CAPACITY);
  private next = 0;
  /** Events recorded since the last frame (may exceed the capacity: then the oldest are gone). */
  private pending = 0;
  /** Finished tasks per prefix while watched, and when each prefix last changed. */
  private readonly done = new Map<string, { n: number; at: number }>();
  private readonly spilledSeen = new Map<string, number>();
  private lastGraphKeys = "";
  /** Always kept (fixed size): tasks finished and erred since the scheduler started. */
  readonly totals = { finished: 0, erred: 0 };

  constructor(private readonly state: SchedulerState) {}

  /** A dashboard starts watching; call the returned function when it stops. */
  watch(): () => void {
    this.watchers++;
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.watchers === 0) this.reset();
    };
  }

  /** The next frame carries the graph's keys and edges again (a new dashboard has none yet). */
  resendGraph(): void {
    this.lastGraphKeys = "";
  }

  get watched(): boolean {
    return this.watchers > 0;
  }

  // ------------------------------------------------------------ hooks (the shell's handlers)

  taskFinished(worker: string, key: string, duration: number, nbytes: number): void {
    this.totals.finished++;
    if (this.watchers === 0) return;
    const now = this.state.now;
    // Only the ring here: the prefix of each finished task is counted when the frame is made.
    this.record(worker, key, 0, now - Math.max(0, duration), now, nbytes);
  }

  taskErred(worker: string, key: string): void {
    this.totals.erred++;
    if (this.watchers === 0) return;
    this.record(worker, key, 3, this.state.now, this.state.now, 0);
  }

  /** A worker fetched results from peers (add-keys): marks on its lane. The fetch's duration is not reported, so the mark has none. */
  fetched(worker: string, keys: readonly { key: string; nbytes: number }[]): void {
    if (this.watchers === 0) return;
    for (const k of keys) this.record(worker, k.key, 1, this.state.now, this.state.now, k.nbytes);
  }

  private record(worker: string, key: string, kind: number, start: number, end: number, bytes: number): void {
    // The shell calls the hooks before the state acts on the message, so a real task is there; a
    // key the scheduler does not know (a stray or hostile report, which it ignores) is not shown.
    const ts = this.state.tasks.get(key);
    if (ts === undefined) return;
    const i = this.next;
    this.workerOf[i] = worker;
    this.keyOf[i] = key;
    this.prefixOf[i] = ts.group;
    this.kindOf[i] = kind;
    this.startOf[i] = start;
    this.endOf[i] = end;
    this.bytesOf[i] = bytes;
    this.next = i + 1 === EVENT_RING_CAPACITY ? 0 : i + 1;
    this.pending++;
  }

  private reset(): void {
    this.pending = 0;
    this.done.clear();
    this.spilledSeen.clear();
    this.lastGraphKeys = "";
    // Let the strings go.
    this.workerOf.fill(undefined as unknown as string);
    this.keyOf.fill(undefined as unknown as string);
    this.prefixOf.fill(undefined as unknown as string);
  }

  // ------------------------------------------------------------ the frame

  /** Everything the dashboard draws, as of now; the task events since the last frame are taken. */
  frame(): DashboardFrame {
    const s = this.state;
    const now = s.now;
    const bars = this.takeBars(now);
    const workers: WorkerRow[] = [];
    let listed = 0;
    for (const ws of s.workers.values()) {
      // Spilling shows as a mark on the lane: bytes spilled since the last frame.
      const seen = this.spilledSeen.get(ws.id) ?? ws.spilled;
      if (ws.spilled > seen) bars.bars.push([ws.id, now, now, "spill", "", "", ws.spilled - seen]);
      this.spilledSeen.set(ws.id, ws.spilled);
      if (listed++ >= MAX_WORKERS_LISTED) continue;
      workers.push({
        id: ws.id,
        name: ws.name,
        kind: ws.kind,
        address: ws.address,
        trusted: ws.trusted,
        nthreads: ws.nthreads,
        processing: ws.processing.size,
        executing: ws.executing,
        done: ws.tasksDone,
        held: ws.hasWhat.size,
        memory: ws.nbytes,
        memoryLimit: ws.memoryLimit,
        spilled: ws.spilled,
        paused: ws.paused,
        status: ws.status,
        lastSeenMs: Math.max(0, Math.round(now - ws.lastSeen)),
      });
    }
    for (const id of this.spilledSeen.keys()) if (!s.workers.has(id)) this.spilledSeen.delete(id);
    const links: LinkRow[] = [];
    for (const ws of s.workers.values()) {
      for (const l of ws.links)
        links.push({
          from: ws.id,
          to: s.workerAt(l.peer)?.id ?? l.peer,
          kind: l.kind,
          bytes: l.bytesIn + l.bytesOut,
          MBps: Math.round(l.bytesPerSecond / 1e4) / 100,
        });
    }
    return {
      now,
      workers,
      moreWorkers: Math.max(0, s.workers.size - MAX_WORKERS_LISTED),
      links,
      progress: this.progress(now),
      bars: bars.bars,
      barsLeftOut: bars.leftOut,
      graph: this.graph(),
      clients: s.clients.size,
    };
  }

  private takeBars(now: number): { bars: Bar[]; leftOut: number } {
    const n = Math.min(this.pending, EVENT_RING_CAPACITY);
    const lost = this.pending - n;
    this.pending = 0;
    // Every finished task counts for its prefix's progress (sampled or not; those overwritten in
    // the ring, past 32,768 a second, are not counted).
    for (
      let k = 0, i = (this.next - n + EVENT_RING_CAPACITY) % EVENT_RING_CAPACITY;
      k < n;
      k++, i = i + 1 === EVENT_RING_CAPACITY ? 0 : i + 1
    ) {
      if (this.kindOf[i] !== 0) continue;
      const prefix = this.prefixOf[i]!;
      const d = this.done.get(prefix);
      if (d) {
        d.n++;
        d.at = now;
      } else this.done.set(prefix, { n: 1, at: now });
    }
    // An even sample when there are more than a frame carries.
    const step = n > MAX_BARS_PER_FRAME ? n / MAX_BARS_PER_FRAME : 1;
    const bars: Bar[] = [];
    const first = (this.next - n + EVENT_RING_CAPACITY) % EVENT_RING_CAPACITY;
    for (let f = 0; f < n; f += step) {
      const i = (first + Math.floor(f)) % EVENT_RING_CAPACITY;
      const key = this.keyOf[i]!;
      bars.push([
        this.workerOf[i]!,
        this.startOf[i]!,
        this.endOf[i]!,
        KINDS[this.kindOf[i]!]!,
        key,
        this.prefixOf[i]!,
        this.bytesOf[i]!,
      ]);
    }
    return { bars, leftOut: lost + (n - bars.length) };
  }

  private progress(now: number): PrefixRow[] {
    const rows = new Map<string, PrefixRow>();
    const row = (prefix: string) => {
      let r = rows.get(prefix);
      if (!r)
        rows.set(
          prefix,
          (r = { prefix, done: this.done.get(prefix)?.n ?? 0, memory: 0, processing: 0, waiting: 0, erred: 0 }),
        );
      return r;
    };
    for (const ts of this.state.tasks.values()) {
      const r = row(ts.group);
      switch (ts.state) {
        case "memory":
          r.memory++;
          break;
        case "processing":
          r.processing++;
          break;
        case "erred":
          r.erred++;
          break;
        default:
          r.waiting++;
      }
    }
    for (const [prefix, d] of this.done) {
      if (rows.has(prefix)) continue;
      if (now - d.at > PREFIX_LINGER_MS) this.done.delete(prefix);
      else row(prefix);
    }
    // Finished tasks still held are "in memory"; the rest of those finished were released: "done".
    for (const r of rows.values()) r.done = Math.max(0, r.done - r.memory);
    const live = (r: PrefixRow) => r.memory + r.processing + r.waiting + r.erred;
    return [...rows.values()]
      .sort((a, b) => live(b) - live(a) || b.done - a.done || (a.prefix < b.prefix ? -1 : 1))
      .slice(0, MAX_PREFIXES);
  }

  private graph(): GraphView {
    const tasks = this.state.tasks;
    if (tasks.size > GRAPH_MAX_TASKS) {
      const states: Record<string, number> = {};
      for (const ts of tasks.values()) states[ts.state] = (states[ts.state] ?? 0) + 1;
      this.lastGraphKeys = "";
      return { kind: "summary", total: tasks.size, states };
    }
    const keys: string[] = [];
    const index = new Map<TaskState, number>();
    let states = "";
    for (const ts of tasks.values()) {
      index.set(ts, keys.length);
      keys.push(ts.key);
      states += STATE_CHAR[ts.state] ?? "r";
    }
    const joined = keys.join("\n");
    if (joined === this.lastGraphKeys) return { kind: "graph", total: keys.length, states };
    this.lastGraphKeys = joined;
    const edges: [number, number][] = [];
    const prefixes: string[] = [];
    for (const ts of tasks.values()) {
      const to = index.get(ts)!;
      prefixes.push(ts.group);
      for (const dep of ts.deps) {
        const from = index.get(dep);
        if (from !== undefined) edges.push([from, to]);
      }
    }
    return { kind: "graph", total: keys.length, keys, prefixes, edges, states };
  }
}
