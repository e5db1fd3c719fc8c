// A lazy value made by a dataframe operation that is not itself a frame: a reduction's answers
// (`df.sum()` → { fare: 1234.5, … }), a frame's length, describe()'s table. One task's result,
// turned into the value on the machine that asked.

import {
  COLLECTION,
  computeWith,
  persistWith,
  type Collection,
  type CollectionParts,
  type ComputeOptions,
} from "../graph/collection.js";
import { LayeredGraph, type GraphNode } from "../graph/task.js";

export class LazyValue<T> implements Collection<T> {
  /** @internal */
  constructor(
    readonly graph: LayeredGraph,
    readonly key: string,
    /** The value from the task's result, where the value is wanted. */
    private readonly finish: (result: unknown) => T,
    private readonly label: string,
  ) {}

  [COLLECTION](): CollectionParts<T> {
    return {
      graph: this.graph,
      keys: [this.key],
      finalize: (values) => this.finish(values[0]),
      rebuild: (held: ReadonlyMap<string, GraphNode>) =>
        new LazyValue<T>(
          LayeredGraph.of(`held-${this.key}`, new Map([[this.key, held.get(this.key)!]])),
          this.key,
          this.finish,
          this.label,
        ),
    };
  }

  async compute(options?: ComputeOptions): Promise<T> {
    const [v] = await computeWith(options, [this] as const);
    return v as T;
  }

  async persist(options?: ComputeOptions): Promise<LazyValue<T>> {
    const [v] = await persistWith(options, [this] as const);
    return v as LazyValue<T>;
  }

  toString(): string {
    return `mw.LazyValue<${this.label}>`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
