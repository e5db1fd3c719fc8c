// Turning a task's FnRef into a callable: functions shipped as source are compiled once per
// worker and cached by their hash; task modules are imported once per content hash. How source
// becomes code is a platform choice (a browser page under a strict CSP imports from its own
// origin instead of compiling), so both steps can be replaced through CodePlatform.

import "../array/kernels/register.js";
import "../io/register.js";
import "../xarray/kernels.js";
import "../dataframe/register.js";
import "../glm/kernels/register.js";
import { ArgumentError, PlatformError } from "../errors.js";
import { builtin } from "../graph/builtins.js";
import type { FnDef, FnRef, ModuleDef } from "../protocol/messages.js";

export type TaskFunction = (...args: unknown[]) => unknown;

export interface CodePlatform {
  /** Turns a function expression's source into the function. */
  compile(def: FnDef): TaskFunction;
  /** Imports a bundled ES module from its source; resolves to its namespace. */
  importModule(def: ModuleDef): Promise<Record<string, unknown>>;
}

/**
 * esbuild (and so tsx) wraps named inner functions as `__name(fn, "name")` to keep `.name`.
 * Compiled code gets this stand-in in scope so such functions run unchanged.
 */
function __name<T>(fn: T, name: string): T {
  try {
    Object.defineProperty(fn, "name", { value: name, configurable: true });
  } catch {
    // A frozen function keeps its own name; only `.name` is lost, never behaviour.
  }
  return fn;
}

/** Compiles with the Function constructor; module imports go through a data: URL. */
export const defaultCodePlatform: CodePlatform = {
  compile(def) {
    const factory = new Function(
      "__name",
      `"use strict";\nreturn (${def.source}\n);\n//# sourceURL=meshwork-task:${def.name || "anonymous"}-${def.id}`,
    );
    const fn = factory(__name) as unknown;
    if (typeof fn !== "function") throw new ArgumentError(`source of ${def.name || def.id} is not a function`);
    return fn as TaskFunction;
  },
  async importModule(def) {
    return (await import(
      /* @vite-ignore */ `data:text/javascript;charset=utf-8,${encodeURIComponent(def.source)}`
    )) as Record<string, unknown>;
  },
};

export class CodeCache {
  /** Sources received, by id: a definition arrives with the first task using it, which need not run first. */
  private readonly defs = new Map<string, FnDef>();
  private readonly fns = new Map<string, TaskFunction>();
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();
  /** Users' functions with the kernels that call them (FnRef.via), by kernel and function. */
  private readonly wrapped = new Map<string, TaskFunction>();

  constructor(private readonly platform: CodePlatform = defaultCodePlatform) {}

  /** Starts importing a module (idempotent). A failure is kept and reported by the tasks that use it. */
  loadModule(def: ModuleDef): void {
    if (this.modules.has(def.hash)) return;
    // A module with no build for this platform (it needs Node; this is a tab): its tasks say why.
    const p =
      def.nodeOnly !== undefined
        ? Promise.reject(
            new PlatformError(
              `task module ${def.hash} runs on Node workers only (${def.nodeOnly}); this worker is a browser tab`,
            ),
          )
        : this.platform.importModule(def);
    p.catch(() => {}); // observed here so an unused failing module is not an unhandled rejection
    this.modules.set(def.hash, p);
  }

  /** Keeps a function's source until a task needs it (compiled then, once). */
  define(def: FnDef): void {
    if (!this.defs.has(def.id)) this.defs.set(def.id, def);
  }

  /**
   * The function for `ref`: synchronously when already known, else a promise (module still
   * loading). A user's function with `via` comes as `(...args) => via(fn, ...args)`.
   */
  resolve(ref: FnRef): TaskFunction | Promise<TaskFunction> {
    if (ref.kind !== "builtin" && ref.via !== undefined) {
      const kernel = builtinFn(ref.via);
      const key = `${ref.via}|${ref.kind === "source" ? ref.id : `${ref.module}#${ref.name}`}`;
      const known = this.wrapped.get(key);
      if (known) return known;
      const wrap = (fn: TaskFunction): TaskFunction => {
        const w: TaskFunction = (...args) => kernel(fn, ...args);
        this.wrapped.set(key, w);
        return w;
      };
      const fn = this.resolve({ ...ref, via: undefined });
      return fn instanceof Promise ? fn.then(wrap) : wrap(fn);
    }
    if (ref.kind === "builtin") return builtinFn(ref.name);
    if (ref.kind === "source") {
      let fn = this.fns.get(ref.id);
      if (!fn) {
        const def = this.defs.get(ref.id);
        if (!def) throw new Error(`function ${ref.id} was never sent to this worker`);
        fn = this.platform.compile(def);
        this.fns.set(ref.id, fn);
      }
      return fn;
    }
    const mod = this.modules.get(ref.module);
    if (!mod) throw new Error(`task module ${ref.module} was never sent to this worker`);
    return mod.then((ns) => {
      const fn = ns[ref.name];
      if (typeof fn !== "function") throw new Error(`task module ${ref.module} has no exported function "${ref.name}"`);
      return fn as TaskFunction;
    });
  }
}

function builtinFn(name: string): TaskFunction {
  const fn = builtin(name);
  if (!fn)
    throw new Error(
      `no builtin function ${JSON.stringify(name)} on this worker (is it running another meshwork version?)`,
    );
  return fn as TaskFunction;
}
