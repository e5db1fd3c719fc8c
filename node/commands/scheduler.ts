// `meshwork scheduler`: a scheduler listening on one port for clients and workers (WebSocket),
// with a client token and a worker token, until SIGINT or SIGTERM.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseBytes } from "../../src/util/bytes.js";
import "../platform/platform.js";
import { startNetworkScheduler } from "../servers/page-server.js";
import { banFile } from "../platform/ban-file.js";
import { untilSignal, UsageError, version, wholeNumber } from "./common.js";
import { forgetTokenEnv, resolveToken, TOKEN_ENV } from "./tokens.js";
import { randomId } from "../../src/util/ids.js";

export const SCHEDULER_HELP = `meshwork scheduler — run a scheduler that clients and workers connect to over WebSocket.

Usage: meshwork scheduler [options]

Options:
  --host HOST            interface to listen on (default 127.0.0.1: this machine only; use 0.0.0.0
                         to accept other machines, and keep the tokens secret)
  --port PORT            port (default 8786; 0 picks a free one)
  --token T              the client token (default: $MESHWORK_TOKEN, else a random one, printed)
  --token-file FILE      read the client token from FILE (one line) rather than the command line
  --worker-token T       the worker token (default: $MESHWORK_WORKER_TOKEN, else a random one)
  --worker-token-file F  read the worker token from F
                         (the page link's tab token: $MESHWORK_TAB_TOKEN, else a random one)
  --ban-file FILE        keep the ban list (workers banned for false results: names, addresses,
                         hosts) in FILE, so that it outlives this process (default: in memory)
  --max-message-size S   largest message accepted, e.g. 512MiB (default 1GiB)
  --serve-data DIR       serve DIR read-only at http://HOST:PORT/data/ (GET and HEAD, byte ranges) to
                         whoever sends Authorization: Bearer <client token or worker token>: tabs
                         and workers read their chunks there, e.g. fromZarr("http://…/data/x.zarr")
  --data-origin ORIGIN   also let pages of ORIGIN read /data/ (CORS; repeatable; default: none,
                         pages of the scheduler's own origin only)
  --log-level LEVEL      debug, info (default), warn, error or silent
  --debug                print the stack of an error
  -h, --help             print this help

Clients connect with Client.connect(url, { token }); workers with
MESHWORK_WORKER_TOKEN=<worker token> meshwork worker <url>. A worker token can join and serve, not
submit work. The same port serves the worker page: open the printed link in a browser and that tab
joins as an untrusted worker, with a token of its own (never the worker token). It also serves the
dashboard, at the printed /dashboard link, which carries the client token. See docs/SECURITY.md.`;

export async function scheduler(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8786" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "worker-token": { type: "string" },
      "worker-token-file": { type: "string" },
      "max-message-size": { type: "string" },
      "ban-file": { type: "string" },
      "serve-data": { type: "string" },
      "data-origin": { type: "string", multiple: true },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SCHEDULER_HELP);
    return 0;
  }
  const port = wholeNumber("--port", values.port, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const token = resolveToken("client", "--token", values.token, "--token-file", values["token-file"]).token;
  const workerToken = resolveToken(
    "worker",
    "--worker-token",
    values["worker-token"],
    "--worker-token-file",
    values["worker-token-file"],
  ).token;
  const tabToken = process.env[TOKEN_ENV.tab] || randomId(16);
  forgetTokenEnv(); // tasks of this process's threads read process.env
  if (token === workerToken)
    throw new UsageError("--token and --worker-token must differ: a worker token must not be able to submit work");
  if (tabToken === token || tabToken === workerToken)
    throw new UsageError(
      `${TOKEN_ENV.tab} must differ from the client and worker tokens: whoever opens the page's link holds it`,
    );
  let maxPacketBytes: number | undefined;
  try {
    maxPacketBytes = values["max-message-size"] === undefined ? undefined : parseBytes(values["max-message-size"]);
  } catch (err) {
    throw new UsageError(`--max-message-size: ${(err as Error).message}`);
  }
  const dataDir = values["serve-data"] === undefined ? undefined : resolve(values["serve-data"]);
  if (dataDir !== undefined && !isDirectory(dataDir))
    throw new UsageError(`--serve-data: ${dataDir} is not a directory`);
  if (values["data-origin"] && dataDir === undefined) throw new UsageError("--data-origin needs --serve-data");
  for (const o of values["data-origin"] ?? []) {
    if (!URL.canParse(o) || new URL(o).origin !== o)
      throw new UsageError(`--data-origin is scheme://host[:port] (no path), got "${o}"`);
  }
  const host = values.host.includes(":") ? `[${values.host}]` : values.host;
  const serveData = dataDir === undefined ? undefined : { directory: dataDir, origins: values["data-origin"] };
  const net = await startNetworkScheduler({
    host,
    port,
    token,
    workerToken,
    tabToken,
    transport: { maxPacketBytes },
    serveData,
    bans: values["ban-file"] === undefined ? undefined : banFile(resolve(values["ban-file"])),
  });
  console.log(`meshwork ${version()} scheduler at ${net.address}`);
  console.log(`  clients: Client.connect("${net.address}", { token: "${token}" })`);
  // In the environment, not the arguments: a worker's command line is visible to every user of its machine.
  console.log(`  workers: ${TOKEN_ENV.worker}=${workerToken} npx meshwork worker ${net.address}`);
  console.log(`  browser tabs: open ${net.pageUrl}`);
  if (net.dashboardLink) console.log(`  dashboard: ${net.dashboardLink} (it carries the client token)`);
  if (dataDir !== undefined)
    console.log(
      `  data: ${dataDir} read-only at ${net.address.replace(/^ws/, "http")}/data/ (Authorization: Bearer <either token>)`,
    );
  console.log(`Ctrl-C (SIGINT) or SIGTERM closes it.`);
  const sig = await untilSignal();
  console.log(`${sig}: closing the scheduler`);
  await net.close();
  return 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing or unreadable: the message says it is not a directory
  }
}
