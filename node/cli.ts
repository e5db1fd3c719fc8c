#!/usr/bin/env node
// The `meshwork` command: `scheduler` and `worker` for a cluster across processes and machines,
// `demo` (what `npm start` runs) for everything in one process.

import { demo, DEMO_HELP } from "./commands/demo.js";
import { describeFailure, takeGlobalFlags, UsageError, version } from "./commands/common.js";
import { scheduler, SCHEDULER_HELP } from "./commands/scheduler.js";
import { worker, WORKER_HELP } from "./commands/worker.js";
import { relaunchWithHugePages, watchParent } from "./hosts/huge-pages.js";

const HELP = `meshwork — a compute mesh: a scheduler in Node, workers that are threads, processes and browser tabs.

Usage:
  meshwork scheduler [--host H] [--port P] [--token T]    run a scheduler (WebSocket and worker page, one port)
  meshwork worker <url> [--threads N] [--token T]          run worker threads that join a scheduler
  meshwork demo [--workers N]                              a local cluster running example computations
  meshwork --version | --help | -h

Every command also takes:
  --log-level LEVEL      debug, info (the default), warn, error or silent
  --debug                print the stack of an error (and log at debug unless --log-level says otherwise)

Run \`meshwork <command> --help\` for a command's options.`;

const HELPS: Record<string, string> = { scheduler: SCHEDULER_HELP, worker: WORKER_HELP, demo: DEMO_HELP };

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { scheduler, worker, demo };

/** Set from --debug: failures print their stack. */
let debug = false;
let commandName: string | undefined;

async function main(argv: string[]): Promise<number> {
  const global = takeGlobalFlags(argv);
  debug = global.debug;
  const [command, ...rest] = global.rest;
  commandName = command;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command === "--version" || command === "-v") {
    console.log(version());
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run)
    throw new UsageError(
      `unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(", ")}. See \`meshwork --help\`.`,
    );
  // Large buffers in huge pages: the command runs again in a process started with them (node/hosts/huge-pages.ts).
  const relaunched = rest.includes("--help") || rest.includes("-h") ? null : relaunchWithHugePages();
  if (relaunched) return relaunched;
  watchParent();
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A mistake of the user's or the network's is one line; a bug keeps its stack (--debug: always).
    const failure = describeFailure(err, commandName === undefined ? undefined : HELPS[commandName]);
    if (failure && !debug) {
      console.error(`meshwork${commandName && HELPS[commandName] ? ` ${commandName}` : ""}: ${failure.message}`);
      process.exit(failure.exitCode);
    }
    console.error(err);
    process.exit(failure?.exitCode ?? 1);
  },
);
