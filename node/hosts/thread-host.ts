// Starting meshwork workers in Node worker_threads, and the messages the main thread and a worker
// thread exchange about the thread itself (ready, close). Connections between threads go through
// the inproc hub: each thread's hub routes through the main thread's.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker as Thread } from "node:worker_threads";
import type { ErrorData } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { inprocHub, type HubLink } from "../../src/comm/inproc.js";
import { isBridgeMessage } from "../../src/comm/rtc-link.js";
import { serveThreadBridge } from "../platform/rtc.js";

/** What the main thread tells a new worker thread (workerData). */
export interface ThreadWorkerConfig {
  scheduler: string;
  /** Where the worker's data server listens: "inproc://" inside one process, "ws://host:0" for peers elsewhere. */
  listen: string;
  kind: "thread" | "node";
  name: string;
  memoryLimit: number;
  /** Directory to spill results to when over the memory limit (made and removed by the host). */
  spillDirectory: string | undefined;
  resources: Record<string, number>;
  token: string | undefined;
  logLevel: string;
  heartbeatMs: number | undefined;
  transport: Record<string, unknown> | undefined;
  /** Link to browser tabs over WebRTC (node-datachannel on the main thread). */
  webrtc?: boolean | undefined;
  /** Where the scheduler serves /data/, when not at its own address (WorkerOptions.dataOrigin). */
  dataOrigin?: string | undefined;
  /**
   * Wait for the host's "join" before joining the scheduler (posting "loaded" once the thread has
   * loaded): a group lets its threads join one after another, in the order of their names.
   */
  waitForTurn?: boolean | undefined;
  /** The process's group and adaptive bounds, told to the scheduler (WorkerHello.group). */
  group?: { id: string; adapt?: { minimum: number; maximum: number } | undefined } | undefined;
  /** Adversarial tests only: the worker forges every result (WorkerOptions.lieForTests). */
  lieForTests?: boolean | "serve" | undefined;
}

/** Messages on a thread's own channel besides inproc hub traffic. */
export type ThreadControl =
  /** Loaded and waiting for its turn to join (ThreadWorkerConfig.waitForTurn). */
  | { thread: "loaded" }
  /** Its turn: join the scheduler now. */
  | { thread: "join" }
  | { thread: "ready"; workerId: string; address: string }
  | { thread: "failed"; error: ErrorData }
  /** The scheduler asks this process for `n` more worker threads (adaptive scaling). */
  | { thread: "grow"; n: number }
  | { thread: "close"; reason: string };

/** How long a thread gets to close gracefully before it is terminated. */
export const THREAD_CLOSE_GRACE_MS = 2_000;

/**
 * The exit code of a worker thread whose state broke its invariants (WorkerOptions.validate, on in
 * test runs): its close() then rejects, so a test cluster fails at its teardown. 70 is EX_SOFTWARE.
 */
export const INVARIANT_EXIT_CODE = 70;

/** Where the worker thread's entry is: the built JavaScript, also when running from TypeScript source. */
export function threadEntry(): URL {
  const here = import.meta.url;
  const entry = here.endsWith(".ts")
    ? new URL("../../dist/node/hosts/worker-thread.js", here)
    : new URL("./worker-thread.js", here);
  if (!existsSync(fileURLToPath(entry))) {
    throw new Error(`meshwork's worker thread entry is missing (${fileURLToPath(entry)}); run \`npm run build\` first`);
  }
  return entry;
}

export interface ThreadWorker {
  readonly name: string;
  /** The scheduler's id for this worker. */
  readonly workerId: string;
  /** Data-server address. */
  readonly address: string;
  readonly thread: Thread;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<number>;
  /** Asks the worker to leave gracefully; terminates the thread if it takes too long. */
  close(reason?: string): Promise<void>;
  /** Ends the thread at once, without a goodbye (a crash, as far as the scheduler can tell). */
  kill(): Promise<void>;
}

/**
 * Starts one worker thread and resolves once it has joined the scheduler. With `turn`, the thread
 * loads at once but joins only when `turn` has resolved (the threads of a group load in parallel and
 * join in order, so the scheduler numbers them in the order of their names).
 */
export function startThreadWorker(
  config: ThreadWorkerConfig,
  onGrow?: (n: number) => void,
  turn?: Promise<void>,
  /** Where this (main) thread logs about the worker's WebRTC links. Default: the realm's logger. */
  log?: Logger,
): Promise<ThreadWorker> {
  const thread = new Thread(threadEntry(), {
    workerData: { ...config, waitForTurn: turn !== undefined },
    name: config.name,
  });
  const link: HubLink = { post: (msg, transfer) => thread.postMessage(msg, transfer as never) };
  const exited = new Promise<number>((resolve) => thread.once("exit", resolve));
  const stopBridge = config.webrtc ? serveThreadBridge(thread, log) : () => {};
  void exited.then(() => {
    inprocHub.dropChild(link);
    stopBridge();
  });
  return new Promise<ThreadWorker>((resolve, reject) => {
    const onEarlyExit = (code: number) =>
      reject(new Error(`worker thread ${config.name} exited with code ${code} before joining`));
    thread.once("exit", onEarlyExit);
    thread.once("error", reject);
    thread.on("message", (msg: unknown) => {
      if (inprocHub.receive(msg, link) || isBridgeMessage(msg)) return;
      const ctl = msg as ThreadControl;
      if (ctl.thread === "grow") {
        onGrow?.(ctl.n);
      } else if (ctl.thread === "loaded") {
        void turn?.then(() => thread.postMessage({ thread: "join" } satisfies ThreadControl));
      } else if (ctl.thread === "ready") {
        thread.off("exit", onEarlyExit);
        thread.off("error", reject);
        thread.on("error", () => {}); // later errors end the thread; "exit" reports it
        resolve(handle(config.name, ctl.workerId, ctl.address, thread, exited));
      } else if (ctl.thread === "failed") {
        // Keep the error's name and code (ConnectError, HandshakeError …): callers retry or report by them.
        const { name, message, code, stack } = ctl.error;
        const err = Object.assign(
          new Error(`worker thread ${config.name} failed to start: ${message}`),
          code === undefined ? {} : { code },
        );
        err.name = name;
        if (stack) err.stack = stack;
        reject(err);
      }
    });
  });
}

function handle(
  name: string,
  workerId: string,
  address: string,
  thread: Thread,
  exited: Promise<number>,
): ThreadWorker {
  return {
    name,
    workerId,
    address,
    thread,
    exited,
    async close(reason = "cluster closing") {
      thread.postMessage({ thread: "close", reason } satisfies ThreadControl);
      const timer = setTimeout(() => void thread.terminate(), THREAD_CLOSE_GRACE_MS);
      const code = await exited;
      clearTimeout(timer);
      if (code === INVARIANT_EXIT_CODE)
        throw new Error(`worker thread ${name}: its state broke its invariants (the InvariantError is in its log)`);
    },
    async kill() {
      await thread.terminate();
    },
  };
}
