// The benchmarks' command-line options, parsed by node:util's parseArgs: `--name value` for
// numbers and strings, `--name` alone for flags. An unknown option or a value that is not a
// number stops the benchmark with a message saying so.

import { parseArgs } from "node:util";

/**
 * Options with their defaults, by name: a number default makes a numeric option, a string one a
 * string option, `false` a flag. Returns the values under the same names.
 */
export function benchOptions(defaults) {
  const spec = Object.fromEntries(
    Object.entries(defaults).map(([name, d]) => [name, { type: typeof d === "boolean" ? "boolean" : "string" }]),
  );
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: spec, strict: true }));
  } catch (err) {
    console.error(
      `${err.message}\noptions: ${Object.keys(defaults)
        .map((n) => `--${n}`)
        .join(" ")}`,
    );
    process.exit(2);
  }
  const out = {};
  for (const [name, d] of Object.entries(defaults)) {
    const v = values[name];
    if (v === undefined) out[name] = d;
    else if (typeof d === "number") {
      out[name] = Number(v);
      if (!Number.isFinite(out[name])) {
        console.error(`--${name} takes a number, not "${v}"`);
        process.exit(2);
      }
    } else out[name] = v;
  }
  return out;
}
