// Bundling a task module for client.upload: esbuild turns a .ts or .js file and what it imports
// into self-contained ES modules, one per platform: a Node build (with `require` for bundled
// CommonJS) and a browser build (packages' "browser" builds, no Node banner) for tabs. A module
// whose browser build fails because it imports Node's built-ins (node:fs …) is Node-only, and says why.

import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildFailure, BuildOptions, Message } from "esbuild";
import type { BundledModule } from "../../src/client/platform.js";
import { ArgumentError } from "../../src/errors.js";

export async function bundleModule(module: string | URL): Promise<BundledModule> {
  const entry = module instanceof URL || module.startsWith("file:") ? fileURLToPath(module) : resolve(module);
  if (!existsSync(entry)) throw new ArgumentError(`cannot upload ${entry}: no such file`);
  const { build } = await import("esbuild");
  const common: BuildOptions & { write: false; metafile: true } = {
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    metafile: true,
    outfile: "task-module.js",
    logLevel: "silent",
  };
  let result: Awaited<ReturnType<typeof build<typeof common>>>;
  try {
    result = await build({
      ...common,
      platform: "node",
      // Bundled CommonJS dependencies call require(); give them one (the bundle is imported from a data: URL).
      banner: {
        js: `import { createRequire as __mwCreateRequire } from "node:module"; const require = __mwCreateRequire(${JSON.stringify(entry)});`,
      },
    });
  } catch (err) {
    throw new ArgumentError(`cannot bundle ${entry}: ${(err as Error).message}`, { cause: err });
  }
  const source = result.outputFiles[0]!.text;
  const exports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
  let browser: string | undefined;
  let nodeOnly: string | undefined;
  try {
    browser = (await build({ ...common, platform: "browser" })).outputFiles[0]!.text;
  } catch (err) {
    nodeOnly = whyNodeOnly(err as BuildFailure, entry);
  }
  // Exports that are not functions come back as their values: the module is loaded here once, as
  // the workers load it, to read them.
  const values: Record<string, unknown> = {};
  try {
    const loaded = (await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`)) as Record<
      string,
      unknown
    >;
    for (const name of exports) if (typeof loaded[name] !== "function") values[name] = loaded[name];
  } catch (err) {
    throw new ArgumentError(`cannot upload ${entry}: loading the bundled module failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { source, exports, values, browser, nodeOnly };
}

/** Imports of Node's built-ins named in a nodeOnly reason; the rest are counted. */
const NAMED_IMPORTS = 3;

/** Why the browser build failed, in words: the Node built-ins imported (and where), or esbuild's first error. */
function whyNodeOnly(failure: BuildFailure, entry: string): string {
  const errors: Message[] = failure.errors ?? [];
  const where = (m: Message) =>
    m.location ? ` (${relative(resolve(entry, ".."), m.location.file) || m.location.file}:${m.location.line})` : "";
  const builtins = errors.filter((m) => m.notes.some((n) => n.text.includes("built into node")));
  if (builtins.length > 0) {
    const named = builtins.slice(0, NAMED_IMPORTS).map((m) => `${/"([^"]+)"/.exec(m.text)?.[1] ?? m.text}${where(m)}`);
    const more = builtins.length > NAMED_IMPORTS ? ` and ${builtins.length - NAMED_IMPORTS} more` : "";
    return `it imports Node's built-in ${named.join(", ")}${more}`;
  }
  const first = errors[0];
  return `its browser build failed: ${first ? `${first.text}${where(first)}` : failure.message}`;
}
