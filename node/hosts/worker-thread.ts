// The entry point of a worker thread: wires this thread's inproc hub to the main thread, starts a
// meshwork Worker with the configuration it was given, and closes on request.

import { parentPort, workerData } from "node:worker_threads";
// Only what a worker needs: not the client (and its source parser), nor the compressor until a link uses it.
import { errorToData } from "../../src/errors.js";
import { inprocHub, inprocTransport } from "../../src/comm/inproc.js";
import { registerTransport } from "../../src/comm/registry.js";
import { isBridgeMessage } from "../../src/comm/rtc-link.js";
import { consoleLogger, setLogger, type LogLevel } from "../../src/log.js";
import { realmStores } from "../../src/io/store.js";
import { createRuntime } from "../../src/runtime.js";
import { Worker } from "../../src/worker/server.js";
import { nodeYield } from "../platform/platform.js";
import { nodeUsesWebRtcFor, threadBridge } from "../platform/rtc.js";
import { DiskSpillStore } from "../platform/spill.js";
import { INVARIANT_EXIT_CODE, type ThreadControl, type ThreadWorkerConfig } from "./thread-host.js";
import { nativeSha256, timingSafeSecretEquals } from "../platform/secrets.js";

registerTransport(inprocTransport);
const port = parentPort!;
const config = workerData as ThreadWorkerConfig;
// This thread's runtime (src/runtime.ts): Node's transports (platform.ts registered them), its own
// logger, and the thread's stores (it runs one worker: readers handed no context find its credentials too).
const runtime = createRuntime({ logger: consoleLogger(config.logLevel as LogLevel, config.name), stores: realmStores });
setLogger(runtime.logger); // for the realm's own code (Blosc's one-time line, what tasks log): this thread runs one worker
inprocHub.setParent({ post: (msg, transfer) => port.postMessage(msg, transfer as never) });

let worker: Worker | null = null;
let turn: (() => void) | null = null;

port.on("message", (msg: unknown) => {
  if (inprocHub.receive(msg, "parent") || isBridgeMessage(msg)) return;
  const ctl = msg as ThreadControl;
  if (ctl.thread === "join") turn?.();
  else if (ctl.thread === "close") void shutDown(ctl.reason);
});

async function shutDown(reason: string): Promise<void> {
  let code = 0;
  try {
    await worker?.close(reason);
  } catch (err) {
    // Only a broken invariant (validate on, in tests) fails close(); the worker logged it. The exit code tells the host.
    runtime.logger.debug(`${config.name}: closed with ${(err as Error).name}`);
    code = INVARIANT_EXIT_CODE;
  }
  port.close();
  // A task may still hold timers or sockets; the worker has said goodbye, so end the thread now
  // rather than wait for them (in a worker thread, process.exit ends only this thread).
  process.exit(code);
}

try {
  if (config.waitForTurn) {
    // Loaded: the host says when to join, so that a group's threads join in the order of their names.
    const joining = new Promise<void>((resolve) => (turn = resolve));
    port.postMessage({ thread: "loaded" } satisfies ThreadControl);
    await joining;
  }
  worker = await Worker.start({
    scheduler: config.scheduler,
    listen: config.listen,
    name: config.name,
    kind: config.kind,
    memoryLimit: config.memoryLimit,
    spill: config.spillDirectory ? new DiskSpillStore(config.spillDirectory) : undefined,
    resources: config.resources,
    token: config.token,
    compareSecret: timingSafeSecretEquals,
    digest: nativeSha256,
    lieForTests: config.lieForTests,
    heartbeatMs: config.heartbeatMs,
    transport: config.transport,
    group: config.group,
    webrtc: config.webrtc ? { bridge: threadBridge(port), useFor: nodeUsesWebRtcFor } : undefined,
    dataOrigin: config.dataOrigin,
    onScaleUp: (n) => port.postMessage({ thread: "grow", n } satisfies ThreadControl),
    yieldToEventLoop: nodeYield,
    runtime,
  });
  void worker.closed.then((reason) => shutDown(reason));
  port.postMessage({ thread: "ready", workerId: worker.workerId, address: worker.address } satisfies ThreadControl);
} catch (err) {
  port.postMessage({ thread: "failed", error: errorToData(err) } satisfies ThreadControl);
  port.close();
}
