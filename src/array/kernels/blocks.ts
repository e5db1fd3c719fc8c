// Kernels that move blocks around rather than compute on them: assembling a grid of blocks into
// one, cutting a part out of a block, reshaping, adding blocks up, and the creation routines.

import { ArgumentError } from "../../errors.js";
import type { DType } from "../dtype.js";
import { allocate, NDArray, sizeOf } from "../ndarray.js";
import type { SliceSpec } from "../indexing.js";
import { assign, runProgram, simpleProgram, type Expr } from "./expr.js";

/** A grid of blocks as nested arrays, `ndim` deep (a 0-d grid is the block itself). */
export type BlockGrid = NDArray | BlockGrid[];

/** One array from a grid of blocks that fit together (as Dask's concatenate3). */
export function assemble(grid: BlockGrid, ndim: number): NDArray {
  if (ndim === 0) return grid as NDArray;
  const first = firstBlock(grid, ndim);
  const shape: number[] = [];
  // Along each axis, the sizes of the blocks in the first row of the grid along that axis.
  for (let axis = 0; axis < ndim; axis++) {
    let node: BlockGrid = grid;
    for (let a = 0; a < axis; a++) node = (node as BlockGrid[])[0]!;
    let total = 0;
    for (const child of node as BlockGrid[]) total += firstBlock(child, ndim - axis - 1).shape[axis]!;
    shape.push(total);
  }
  const counts = gridShape(grid, ndim);
  if (counts.every((c) => c === 1)) return firstBlock(grid, ndim);
  const out = new NDArray(first.dtype, shape, allocate(first.dtype, sizeOf(shape)));
  const place = (node: BlockGrid, depth: number, start: number[]): void => {
    if (depth === ndim) {
      const b = node as NDArray;
      if (!(b instanceof NDArray)) throw new ArgumentError("a block of the grid is not an NDArray");
      if (b.size === 0) return;
      assign(out.slice(...start.map((s, k) => ({ start: s, stop: s + b.shape[k]! }))), b);
      return;
    }
    let pos = 0;
    for (const child of node as BlockGrid[]) {
      place(child, depth + 1, [...start, pos]);
      pos += firstBlock(child, ndim - depth - 1).shape[depth]!;
    }
  };
  place(grid, 0, []);
  return out;
}

function firstBlock(grid: BlockGrid, depth: number): NDArray {
  let node = grid;
  for (let i = 0; i < depth; i++) {
    if (!Array.isArray(node) || node.length === 0) throw new ArgumentError("an empty or malformed grid of blocks");
    node = node[0]!;
  }
  if (!(node instanceof NDArray)) throw new ArgumentError("a block of the grid is not an NDArray");
  return node;
}

function gridShape(grid: BlockGrid, ndim: number): number[] {
  const out: number[] = [];
  let node = grid;
  for (let i = 0; i < ndim; i++) {
    out.push((node as BlockGrid[]).length);
    node = (node as BlockGrid[])[0]!;
  }
  return out;
}

/** A grid of [block, index] parts: each part cut out of its block, then the grid assembled. */
export function assembleParts(grid: unknown, ndim: number): NDArray {
  const cut = (node: unknown, depth: number): BlockGrid => {
    if (depth === ndim) {
      const [block, index] = node as [NDArray, SliceSpec[]];
      if (!(block instanceof NDArray)) throw new ArgumentError("a part of the grid is not an NDArray");
      return block.slice(...index);
    }
    if (!Array.isArray(node)) throw new ArgumentError("malformed grid of parts");
    return node.map((n) => cut(n, depth + 1));
  };
  const joined = assemble(cut(grid, 0), ndim);
  // One part comes back as a view of its block: copy it, so the result does not keep the whole block alive.
  return joined.isContiguous && joined.size === joined.data.length ? joined : joined.copy();
}

/** A part of a block (integers drop axes), as a contiguous copy of its own. */
export function sliceBlock(block: NDArray, index: (number | SliceSpec)[]): NDArray {
  return block.slice(...index).copy();
}

/** A block in another shape (same number of elements). */
export function reshapeBlock(block: NDArray, shape: number[]): NDArray {
  return block.reshape(shape);
}

/** Elementwise sum of same-shaped float64 blocks (the later steps of a contraction). */
export function addBlocks(...blocks: NDArray[]): NDArray {
  if (blocks.length === 1) return blocks[0]!;
  const dt = blocks[0]!.dtype;
  let expr: Expr = { op: "in", o: 0, dt };
  for (let i = 1; i < blocks.length; i++) expr = { op: "bin", f: "add", a: expr, b: { op: "in", o: i, dt }, dt };
  return runProgram(simpleProgram(blocks[0]!.ndim, expr, blocks.length), blocks);
}

// ---- creation ----

export interface FullSpec {
  shape: number[];
  dtype: DType;
  value: number;
}

export function fullBlock(spec: FullSpec): NDArray {
  const data = allocate(spec.dtype, sizeOf(spec.shape));
  // Storage starts as +0: fill unless that is the value (-0 is not; NaN is true as a bool).
  if (!Object.is(spec.value, 0)) data.fill(spec.dtype === "bool" ? (spec.value !== 0 ? 1 : 0) : spec.value);
  return new NDArray(spec.dtype, spec.shape, data);
}

/** Values start + step * i for the block's positions i (arange and linspace alike). */
export interface RangeSpec {
  /** Length of the block. */
  length: number;
  /** Position of its first element in the whole array. */
  offset: number;
  start: number;
  step: number;
  dtype: DType;
  /** linspace: the whole array's length and end point, so the values do not depend on the cutting. */
  linspace?: { num: number; stop: number; endpoint: boolean } | undefined;
}

export function rangeBlock(spec: RangeSpec): NDArray {
  const data = allocate(spec.dtype, spec.length);
  const { start, step, offset } = spec;
  if (spec.linspace) {
    const { num, stop, endpoint } = spec.linspace;
    const div = endpoint ? num - 1 : num;
    const delta = stop - start;
    const linStep = delta / div;
    for (let i = 0; i < spec.length; i++) {
      const j = offset + i;
      // NumPy's formula to the bit (j · step + start, or (j / div) · delta when the step
      // underflows to 0), and the exact end point when endpoint is true.
      data[i] =
        endpoint && num > 1 && j === num - 1
          ? stop
          : div > 0
            ? (linStep === 0 ? (j / div) * delta : j * linStep) + start
            : start;
    }
  } else {
    // NumPy fills start, start + step, then start + i · delta with delta = (start + step) - start,
    // which is not always step in floating point; the same formula gives the same bits.
    const delta = start + step - start;
    for (let i = 0; i < spec.length; i++) {
      const j = offset + i;
      data[i] = j === 0 ? start : start + j * delta;
    }
  }
  return new NDArray(spec.dtype, [spec.length], data);
}
