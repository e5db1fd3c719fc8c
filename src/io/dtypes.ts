// The element types files hold, against the ones meshwork's arrays have. A file's type meshwork
// lacks is named with the nearest one it offers, and reading can convert to it when asked.

import { DTypeError } from "../errors.js";
import { DTYPES, isDType, type DType, type TypedArray } from "../array/dtype.js";

/** The nearest meshwork dtype for a type it lacks, and whether converting to it is exact. */
const NEAREST: Record<string, { dtype: DType; note: string }> = {
  int64: { dtype: "float64", note: "exact up to 2^53" },
  uint64: { dtype: "float64", note: "exact up to 2^53" },
};

/**
 * meshwork's dtype for values of the file's type `foreign` ("int64", "float16", …), converted to
 * `into` when given. Throws DTypeError naming the type and the nearest meshwork has.
 */
export function dtypeFor(foreign: string, where: string, into?: DType): DType {
  if (foreign === "float16") {
    throw new DTypeError(
      `${where} holds float16 values, and meshwork arrays have no float16; the nearest is float32, but converting float16 while reading is not supported yet`,
    );
  }
  if (into !== undefined) {
    if (!isDType(into))
      throw new DTypeError(`${where}: dtype must be one of ${DTYPES.join(", ")}; got ${JSON.stringify(into)}`);
    if (!isDType(foreign) && !(foreign in NEAREST))
      throw new DTypeError(`${where} holds ${foreign} values, which meshwork cannot read as numbers`);
    return into;
  }
  if (isDType(foreign)) return foreign;
  const near = NEAREST[foreign];
  if (near) {
    throw new DTypeError(
      `${where} holds ${foreign} values, and meshwork arrays have no ${foreign}; the nearest is ${near.dtype} (${near.note}): ` +
        `pass { dtype: "${near.dtype}" } to convert while reading`,
    );
  }
  throw new DTypeError(
    `${where} holds ${foreign} values, which meshwork arrays cannot hold (they hold ${DTYPES.join(", ")})`,
  );
}

/** Storage of `dtype` with the values of `src` (BigInt64Array and the like included). */
export function convertValues(src: ArrayLike<number | bigint>, out: TypedArray): void {
  const n = src.length;
  if (n > 0 && typeof src[0] === "bigint") {
    for (let i = 0; i < n; i++) out[i] = Number(src[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = src[i] as number;
  }
}
