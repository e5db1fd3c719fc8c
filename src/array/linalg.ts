// Contractions of chunked arrays: tensordot, and matmul and dot through it. Every output block
// sums the products of matching blocks along the contracted axes; the products are separate
// tasks (they can run on different workers) and the sum is a tree, like a reduction's.

import { ArgumentError } from "../errors.js";
import { LayeredGraph, Task, TaskRef, type GraphNode } from "../graph/task.js";
import { blockIndices, refine, sameChunks } from "./chunks.js";
import { ChunkedArray } from "./core.js";
import { tokenName } from "./names.js";
import { promote } from "./dtype.js";
import { K } from "./kernels/register.js";
import { normalizeAxes } from "./ndarray.js";
import { rechunk } from "./rechunk.js";
import { DEFAULT_SPLIT_EVERY } from "./reductions.js";

/**
 * Sums products over the given axes: `axes` is a count (the last n of `a` with the first n of `b`,
 * default 2) or a pair of axis lists. The result has a's free axes then b's.
 */
export function tensordot(
  a: ChunkedArray,
  b: ChunkedArray,
  axes: number | [readonly number[], readonly number[]] = 2,
): ChunkedArray {
  if (!(a instanceof ChunkedArray) || !(b instanceof ChunkedArray))
    throw new ArgumentError("tensordot takes two chunked arrays");
  let axA: number[];
  let axB: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim)
      throw new ArgumentError(
        `tensordot: cannot contract ${axes} axes of arrays with ${a.ndim} and ${b.ndim} dimensions`,
      );
    axA = [...Array(axes).keys()].map((i) => a.ndim - axes + i);
    axB = [...Array(axes).keys()];
  } else {
    if (!Array.isArray(axes) || axes.length !== 2)
      throw new ArgumentError("tensordot axes must be a number or a pair of axis lists");
    axA = normalizeAxes(axes[0], a.ndim);
    axB = normalizeAxes(axes[1], b.ndim);
    if (axA.length !== axB.length)
      throw new ArgumentError("tensordot: both arrays must contract the same number of axes");
  }
  axA.forEach((x, i) => {
    if (a.shape[x] !== b.shape[axB[i]!])
      throw new ArgumentError(
        `tensordot: axis ${x} of a has length ${a.shape[x]}, axis ${axB[i]} of b has ${b.shape[axB[i]!]}`,
      );
  });
  // The contracted axes must be cut alike in both. Where they differ, the smaller operand is recut
  // to the larger one's blocks: X [n, p] with one block of columns times a vector cut in several
  // moves the vector, not X (recutting both to a common refinement moved both).
  const common = axA.map((x, i) => {
    const ca = a.chunks[x]!;
    const cb = b.chunks[axB[i]!]!;
    if (sameChunks([ca], [cb])) return [...ca];
    if (a.nbytes === b.nbytes) return refine(ca, cb);
    return a.nbytes > b.nbytes ? [...ca] : [...cb];
  });
  const wantA = a.chunks.map((c, k) => (axA.includes(k) ? common[axA.indexOf(k)]! : [...c]));
  const wantB = b.chunks.map((c, k) => (axB.includes(k) ? common[axB.indexOf(k)]! : [...c]));
  const A = sameChunks(a.chunks, wantA) ? a : rechunk(a, wantA);
  const B = sameChunks(b.chunks, wantB) ? b : rechunk(b, wantB);
  const freeA = [...Array(A.ndim).keys()].filter((k) => !axA.includes(k));
  const freeB = [...Array(B.ndim).keys()].filter((k) => !axB.includes(k));
  const dtype = promote(A.dtype, B.dtype);
  const name = tokenName("tensordot", axA, axB, A.name, B.name);
  const layer = new Map<string, GraphNode>();
  const chunks = [...freeA.map((k) => [...A.chunks[k]!]), ...freeB.map((k) => [...B.chunks[k]!])];
  const out = new ChunkedArray(LayeredGraph.merge([A.graph, B.graph], name, layer), name, chunks, dtype);
  const kGrid = axA.map((x) => A.numblocks[x]!);
  const contracted = blockIndices(kGrid);
  for (const idx of blockIndices(out.numblocks)) {
    const ia = idx.slice(0, freeA.length);
    const ib = idx.slice(freeA.length);
    const pair = (kIdx: number[]): [TaskRef, TaskRef] => {
      const blockA = new Array<number>(A.ndim);
      const blockB = new Array<number>(B.ndim);
      freeA.forEach((k, i) => (blockA[k] = ia[i]!));
      freeB.forEach((k, i) => (blockB[k] = ib[i]!));
      axA.forEach((k, i) => (blockA[k] = kIdx[i]!));
      axB.forEach((k, i) => (blockB[k] = kIdx[i]!));
      return [new TaskRef(A.key(blockA)), new TaskRef(B.key(blockB))];
    };
    // One pair of blocks (X [n, p] with one block of columns, times a vector): one task, which
    // casts its product itself, rather than a product, a sum of one and a cast.
    if (contracted.length === 1) {
      layer.set(out.key(idx), new Task(K.tensordot, [...pair(contracted[0]!), axA, axB, dtype]));
      continue;
    }
    let partials = contracted.map((kIdx, p) => {
      const key = `${name}-p[${idx.join(",")};${p}]`;
      layer.set(key, new Task(K.tensordot, [...pair(kIdx), axA, axB]));
      return key;
    });
    // A tree of sums over the contracted blocks; the last one casts to the result's dtype.
    let level = 0;
    while (partials.length > DEFAULT_SPLIT_EVERY) {
      const next: string[] = [];
      for (let i = 0; i < partials.length; i += DEFAULT_SPLIT_EVERY) {
        const key = `${name}-s${level}[${idx.join(",")};${i}]`;
        layer.set(
          key,
          new Task(
            K.addBlocks,
            partials.slice(i, i + DEFAULT_SPLIT_EVERY).map((k) => new TaskRef(k)),
          ),
        );
        next.push(key);
      }
      partials = next;
      level++;
    }
    layer.set(out.key(idx), new Task(K.addCast, [dtype, ...partials.map((k) => new TaskRef(k))]));
  }
  return out;
}

/** Matrix product of 1-d and 2-d arrays (a 1-d operand is a row or column vector, dropped after, as in NumPy). */
export function matmul(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (!(a instanceof ChunkedArray) || !(b instanceof ChunkedArray))
    throw new ArgumentError("matmul takes two chunked arrays");
  if (a.ndim === 0 || b.ndim === 0) throw new ArgumentError("matmul does not take 0-d arrays; use mul");
  if (a.ndim > 2 || b.ndim > 2)
    throw new ArgumentError("matmul takes 1-d and 2-d arrays (stacks of matrices are not supported yet)");
  const n = a.shape[a.ndim - 1]!;
  const m = b.shape[b.ndim === 1 ? 0 : 0]!;
  if (n !== m)
    throw new ArgumentError(
      `matmul: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] do not line up (${n} ≠ ${m})`,
    );
  return tensordot(a, b, [[a.ndim - 1], [0]]);
}

/** NumPy's dot: inner product of vectors, matrix product of matrices, else a sum over a's last axis and b's second-to-last. */
export function dot(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (!(a instanceof ChunkedArray) || !(b instanceof ChunkedArray))
    throw new ArgumentError("dot takes two chunked arrays");
  if (a.ndim === 0 || b.ndim === 0) throw new ArgumentError("dot of a 0-d array: use mul");
  return tensordot(a, b, [[a.ndim - 1], [b.ndim >= 2 ? b.ndim - 2 : 0]]);
}
