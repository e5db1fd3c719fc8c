#!/usr/bin/env node
// The `meshwork` command: `scheduler` and `worker` for a cluster across processes and machines,
// `demo` (what `npm start` runs) for everything in one process.

import { demo } from "./commands/demo.js";
import { UsageError, version } from "./commands/common.js";
import { scheduler } from "./commands/scheduler.js";
import { worker } from "./commands/worker.js";
import { relaunchWithHugePages, watchParent } from "./huge-pages.js";

const HELP = `meshwork — a compute mesh: a scheduler in Node, workers that are threads, processes and browser tabs.

Usage:
  meshwork scheduler [--host H] [--port P] [--token T]    run a scheduler (WebSocket and worker page, one port)
  meshwork worker <url> [--threads N] [--token T]          run worker threads that join a scheduler
  meshwork demo [--workers N]                              a local cluster running example computations
  meshwork --version | --help

Run \`meshwork <command> --help\` for a command's options.`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { scheduler, worker, demo };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command === "--version" || command === "-v") {
    console.log(version());
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) throw new UsageError(`unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(", ")}. See \`meshwork --help\`.`);
  // Large buffers in huge pages: the command runs again in a process started with them (node/huge-pages.ts).
  const relaunched = rest.includes("--help") || rest.includes("-h") ? null : relaunchWithHugePages();
  if (relaunched) return relaunched;
  watchParent();
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`meshwork: ${(err as Error).message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
