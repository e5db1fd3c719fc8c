// Bundling a task module for client.upload: esbuild turns a .ts or .js file and what it imports
// into one self-contained ES module that any worker can import from source.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BundledModule } from "../src/client/platform.js";
import { ArgumentError } from "../src/errors.js";

export async function bundleModule(module: string | URL): Promise<BundledModule> {
  const entry = module instanceof URL || module.startsWith("file:") ? fileURLToPath(module) : resolve(module);
  if (!existsSync(entry)) throw new ArgumentError(`cannot upload ${entry}: no such file`);
  const { build } = await import("esbuild");
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "es2022",
      write: false,
      metafile: true,
      outfile: "task-module.js",
      logLevel: "silent",
      // Bundled CommonJS dependencies call require(); give them one (the bundle is imported from a data: URL).
      banner: { js: `import { createRequire as __mwCreateRequire } from "node:module"; const require = __mwCreateRequire(${JSON.stringify(entry)});` },
    });
  } catch (err) {
    throw new ArgumentError(`cannot bundle ${entry}: ${(err as Error).message}`, { cause: err });
  }
  const source = result.outputFiles[0]!.text;
  const exports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
  // Exports that are not functions come back as their values: the module is loaded here once, as
  // the workers load it, to read them.
  const values: Record<string, unknown> = {};
  try {
    const loaded = (await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`)) as Record<string, unknown>;
    for (const name of exports) if (typeof loaded[name] !== "function") values[name] = loaded[name];
  } catch (err) {
    throw new ArgumentError(`cannot upload ${entry}: loading the bundled module failed: ${(err as Error).message}`, { cause: err });
  }
  return { source, exports, values };
}
