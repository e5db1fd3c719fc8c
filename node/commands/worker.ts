// `meshwork worker <url>`: worker threads in this process joining a scheduler over WebSocket,
// each with a data server of its own that other workers fetch from directly.

import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ConnectError } from "../../src/errors.js";
import { parseBytes } from "../../src/util/bytes.js";
import "../platform/platform.js";
import { WorkerGroup } from "../hosts/worker-group.js";
import { cliLogLevel, parseDuration, untilSignal, UsageError, version, wholeNumber } from "./common.js";
import { forgetTokenEnv, readTokenFile, TOKEN_ENV } from "./tokens.js";

/** The worker token: --token, --token-file or $MESHWORK_WORKER_TOKEN (none: a scheduler without tokens). */
function workerToken(flag: string | undefined, file: string | undefined): string | undefined {
  if (flag !== undefined && file !== undefined) throw new UsageError("give --token or --token-file, not both");
  if (file !== undefined) return readTokenFile("--token-file", file);
  const token = flag ?? (process.env[TOKEN_ENV.worker] || undefined);
  forgetTokenEnv(); // the tasks this process runs can read process.env
  return token;
}

/** The longest pause between attempts to reach the scheduler (they start at 250 ms and double). */
export const JOIN_RETRY_MAX_MS = 5_000;

/**
 * Runs `join` until it succeeds, retrying with pauses of 250 ms, doubling up to JOIN_RETRY_MAX_MS,
 * while the scheduler cannot be reached (ConnectError) and `timeoutMs` has not passed. Anything
 * else (a refused token) fails at once.
 */
async function joinWithRetry<T>(
  join: () => Promise<T>,
  url: string,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<T> {
  const started = performance.now();
  for (let pause = 250; ; pause = Math.min(2 * pause, JOIN_RETRY_MAX_MS)) {
    try {
      return await join();
    } catch (err) {
      const waited = performance.now() - started;
      if ((err as { code?: unknown }).code !== ConnectError.code || stopped()) throw err;
      if (waited + pause > timeoutMs) {
        throw new ConnectError(
          `cannot reach the scheduler at ${url}${timeoutMs > 0 ? ` within --timeout ${timeoutMs / 1000} s` : ""}: ${(err as Error).message.replace(/^worker thread \S+ failed to start: /, "")}`,
        );
      }
      console.log(
        `the scheduler at ${url} cannot be reached yet (${(err as Error).message.replace(/^.*?: connect /, "")}); trying again in ${(pause / 1000).toFixed(2)} s`,
      );
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

export const WORKER_HELP = `meshwork worker — run worker threads that join a scheduler.

Usage: meshwork worker <scheduler url> [options]

Options:
  --token T              the scheduler's worker token (printed by \`meshwork scheduler\`); better
                         kept out of the command line, which every user of the machine can see:
  --token-file FILE      read the worker token from FILE (one line)
                         (default: $MESHWORK_WORKER_TOKEN)
  --threads N            worker threads (default: the number of CPU cores)
  --memory-limit SIZE    memory per worker, e.g. 4GB (default: no limit): above 60 % results spill
                         to a temporary directory, above 80 % the worker pauses
  --adapt MIN:MAX        let the scheduler grow and shrink the threads with the work, between MIN
                         (at least 1) and MAX; starts MIN threads (or --threads, within the bounds)
  --host HOST            interface the workers' data servers listen on (default 127.0.0.1; other
                         machines need one they can reach, e.g. 0.0.0.0)
  --compression MODE     auto (default), deflate or off, for data sent to other workers
  --throttle RATE        send at most RATE bytes per second on each link, e.g. 20MB (for benchmarks
                         and tests: a slow network on demand)
  --timeout DURATION     keep trying to reach the scheduler this long, with growing pauses up to
                         5 s, before giving up, e.g. 30s, 2m (default 60s; 0: try once)
  --log-level LEVEL      debug, info (default), warn, error or silent
  --debug                print the stack of an error
  -h, --help             print this help`;

export async function worker(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      token: { type: "string" },
      "token-file": { type: "string" },
      threads: { type: "string" },
      "memory-limit": { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      compression: { type: "string", default: "auto" },
      throttle: { type: "string" },
      adapt: { type: "string" },
      timeout: { type: "string", default: "60s" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(WORKER_HELP);
    return 0;
  }
  const [url, ...extra] = positionals;
  if (!url)
    throw new UsageError(
      "meshwork worker needs the scheduler's address, e.g. meshwork worker ws://127.0.0.1:8786 --token T",
    );
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  if (!/^wss?:\/\//.test(url))
    throw new UsageError(`the scheduler address must start with ws:// or wss://, got "${url}"`);
  let adapt: { minimum: number; maximum: number } | undefined;
  if (values.adapt !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(values.adapt);
    if (!m) throw new UsageError(`--adapt takes MIN:MAX, e.g. 1:8, got "${values.adapt}"`);
    adapt = { minimum: Number(m[1]), maximum: Number(m[2]) };
    if (adapt.minimum < 1 || adapt.minimum > adapt.maximum)
      throw new UsageError(`--adapt needs 1 ≤ MIN ≤ MAX, got ${values.adapt}`);
  }
  let threads =
    values.threads === undefined
      ? (adapt?.minimum ?? availableParallelism())
      : wholeNumber("--threads", values.threads, 1);
  if (adapt) threads = Math.min(adapt.maximum, Math.max(adapt.minimum, threads));
  if (values["memory-limit"] !== undefined) {
    try {
      parseBytes(values["memory-limit"]);
    } catch (err) {
      throw new UsageError(`--memory-limit: ${(err as Error).message}`);
    }
  }
  const modes: Record<string, "auto" | "deflate" | false> = { auto: "auto", deflate: "deflate", off: false };
  if (!(values.compression in modes))
    throw new UsageError(`--compression must be auto, deflate or off, got "${values.compression}"`);
  let throttleBytesPerSec: number | undefined;
  if (values.throttle !== undefined) {
    try {
      throttleBytesPerSec = parseBytes(values.throttle);
    } catch (err) {
      throw new UsageError(`--throttle: ${(err as Error).message}`);
    }
    if (throttleBytesPerSec <= 0) throw new UsageError("--throttle must be more than 0 bytes per second");
  }
  const timeoutMs = parseDuration("--timeout", values.timeout);
  const host = values.host.includes(":") ? `[${values.host}]` : values.host;
  const group = new WorkerGroup({
    scheduler: url,
    listen: `ws://${host}:0`,
    kind: "node",
    namePrefix: `node-${process.pid}`,
    memoryLimit: values["memory-limit"],
    token: workerToken(values.token, values["token-file"]),
    transport: { compression: modes[values.compression], throttleBytesPerSec },
    adapt,
    logLevel: cliLogLevel(),
  });
  // Ctrl-C or SIGTERM is heard from here on, while joining too: the process leaves as it would later.
  let signalled = false;
  const stop = untilSignal().then((sig) => {
    signalled = true;
    return `${sig}: leaving the scheduler`;
  });
  // The first thread finds the scheduler (retrying while it is not up yet); the others follow it.
  const joining = (async () => [
    ...(await joinWithRetry(
      () => group.grow(1),
      url,
      timeoutMs,
      () => signalled,
    )),
    ...(await group.grow(threads - 1)),
  ])();
  const started = await Promise.race([joining, stop]);
  if (typeof started === "string") {
    joining.catch(() => {}); // what the join comes to no longer matters
    console.log(started);
    await group.close("worker process closing");
    return 0;
  }
  console.log(
    `meshwork ${version()} worker: ${threads} thread(s) joined ${url}${adapt ? ` (adapting between ${adapt.minimum} and ${adapt.maximum})` : ""}`,
  );
  for (const w of started) console.log(`  ${w.name} serves data at ${w.address}`);
  const schedulerGone = group.empty().then(() => "the scheduler closed the connection");
  const why = await Promise.race([stop, schedulerGone]);
  console.log(why);
  await group.close("worker process closing");
  return 0;
}
