// What the client needs from its platform: bundling a task module for upload, and where
// progress() writes. Node provides them (esbuild in node/platform/bundle.ts; stderr and the CI variable);
// they are set by the Node entry point, never reached for from here.

import type { ProgressStream } from "./progress-render.js";

export interface BundledModule {
  /** A self-contained ES module. */
  source: string;
  /** Names of its exports. */
  exports: string[];
  /** The exports that are not functions, by name, with their values (where the platform can load the module). */
  values?: Record<string, unknown>;
  /** The same module built for browsers (tabs import it); absent when it needs Node. */
  browser?: string | undefined;
  /** Why there is no browser build (e.g. "it imports Node's built-in node:fs (ops.ts:3)"). */
  nodeOnly?: string | undefined;
}

export interface ClientPlatform {
  bundle(module: string | URL): Promise<BundledModule>;
  /** Where progress() draws by default, and whether it should stay quiet (CI). None: it draws nothing. */
  progressOutput?(): { stream: ProgressStream; quiet: boolean };
}

let current: ClientPlatform | null = null;

/** Set by platform entry points (node/index.ts). */
export function setClientPlatform(platform: ClientPlatform | null): void {
  current = platform;
}

export function clientPlatform(): ClientPlatform | null {
  return current;
}
