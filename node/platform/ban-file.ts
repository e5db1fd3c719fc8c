// A scheduler's ban list in a JSON file (`meshwork scheduler --ban-file FILE`, or
// `Scheduler.start({ bans: banFile(path) })`): read when the scheduler starts, rewritten after each
// ban (a temporary file renamed over it, so a crash never leaves half a list), readable by its
// owner only.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { ArgumentError } from "../../src/errors.js";
import { checkBanList, type BanList, type BanStore } from "../../src/scheduler/bans.js";

/** A BanStore in the JSON file at `path`; a missing file is an empty list (created at the first ban). */
export function banFile(path: string): BanStore {
  return {
    describe: path,
    load(): BanList {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return { names: [], addresses: [], hosts: [] };
        throw new ArgumentError(`cannot read the ban file ${path}: ${(err as Error).message}`, { cause: err });
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new ArgumentError(`the ban file ${path} is not JSON: ${(err as Error).message}`, { cause: err });
      }
      return checkBanList(value, `the ban file ${path}`);
    },
    save(list: BanList): void {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, path);
    },
  };
}
