// What a NetCDF-4 file holds, as netCDF sees it in HDF5's terms: variables are datasets, and
// dimensions are HDF5 dimension scales attached to them (a dimension without a coordinate
// variable is a scale that netCDF marks as not a variable); netCDF's bookkeeping attributes hidden;
// and HDF5's errors as meshwork's.

import type * as H5 from "h5wasm";
import { FormatError, MeshworkError } from "../errors.js";
import type { NetcdfInfo, NetcdfVariableInfo } from "./netcdf.js";

type H5Wasm = typeof H5;

/** HDF5's innermost reason (its error stack lists the calls, outermost first). */
function hdf5Reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split("\n").filter((l) => /#\d+:/.test(l));
  const last = lines[lines.length - 1];
  if (!last) return message;
  return last.replace(/^.*? in [A-Za-z0-9_]+\(\): /, "");
}

/** h5wasm's errors as meshwork's: a truncated file, not an HDF5 file, anything else HDF5 said. */
export function explainHdf5(err: unknown, url: string, what = "opening it"): Error {
  if (err instanceof MeshworkError) return err;
  const reason = hdf5Reason(err);
  if (/truncated/i.test(reason)) return new FormatError(`${url} is truncated: HDF5 says "${reason}"`, { cause: err });
  if (/signature not found/i.test(reason))
    return new FormatError(`${url} is not a NetCDF-4 file: HDF5 found no file signature in it`, { cause: err });
  return new FormatError(`${url}: HDF5 failed ${what}: ${reason}`, { cause: err });
}

/** netCDF-4's bookkeeping attributes, which say nothing about the data. */
const HIDDEN_ATTRS = new Set([
  "_Netcdf4Dimid",
  "_Netcdf4Coordinates",
  "DIMENSION_LIST",
  "REFERENCE_LIST",
  "CLASS",
  "NAME",
  "_NCProperties",
  "_nc3_strict",
  "_IsNetcdf4",
  "_SuperblockVersion",
]);
/** The NAME of an HDF5 dimension scale that netCDF-4 made for a dimension without a coordinate variable. */
const DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable";
/** netCDF-4 stores a variable named like a dimension it is not the coordinate of under this prefix. */
const NON_COORD = "_nc4_non_coord_";
/** H5S_UNLIMITED (2^64 - 1) as h5wasm reports it: a number far above any real size. */
const UNLIMITED = 2 ** 53;

/** The H5T classes h5wasm reports (H5T_class_t). */
const H5T = {
  INTEGER: 0,
  FLOAT: 1,
  TIME: 2,
  STRING: 3,
  BITFIELD: 4,
  OPAQUE: 5,
  COMPOUND: 6,
  REFERENCE: 7,
  ENUM: 8,
  VLEN: 9,
  ARRAY: 10,
} as const;

/** A dataset's type as NetcdfVariableInfo names it. */
export function dataTypeOf(m: H5.Metadata): string {
  switch (m.type) {
    case H5T.INTEGER:
      return `${m.signed ? "" : "u"}int${m.size * 8}`;
    case H5T.FLOAT:
      return `float${m.size * 8}`;
    case H5T.STRING:
      return m.vlen || m.size > 1 ? "string" : "char";
    case H5T.ENUM: {
      const base = m.enum_type;
      return base ? `${m.signed ? "" : "u"}int${m.size * 8}` : "enum";
    }
    default: {
      const name = Object.entries(H5T).find(([, v]) => v === m.type)?.[0] ?? `type ${m.type}`;
      return name.toLowerCase();
    }
  }
}

/** A number, a bigint or a typed array or list of them, as an attribute's value: one element as itself. */
function attributeValue(v: unknown): unknown {
  const num = (x: unknown): unknown => (typeof x === "bigint" ? Number(x) : x);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const list = Array.from(v as unknown as ArrayLike<number | bigint>, num);
    return list.length === 1 ? list[0] : list;
  }
  if (Array.isArray(v)) return v.length === 1 ? num(v[0]) : v.map(num);
  return num(v);
}

function readAttributes(h5: H5Wasm, file: H5.File, obj: H5.Dataset | H5.Group, url: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of h5.Module.get_attribute_names(file.file_id, obj.path)) {
    if (HIDDEN_ATTRS.has(name)) continue;
    try {
      out[name] = attributeValue(obj.get_attribute(name, false));
    } catch (err) {
      throw explainHdf5(err, url, `reading attribute ${name} of ${obj.path}`);
    }
  }
  return out;
}

function stringAttribute(obj: H5.Dataset, name: string, names: string[]): string | null {
  if (!names.includes(name)) return null;
  const v = obj.get_attribute(name, false);
  return typeof v === "string" ? v : null;
}

interface DimensionScale {
  name: string;
  size: number;
  unlimited: boolean;
  id: number | null;
}

export function describe(h5: H5Wasm, file: H5.File, url: string): NetcdfInfo {
  const scales = new Map<string, DimensionScale>();
  const found: { ds: H5.Dataset; name: string; isScale: boolean; meta: H5.Metadata }[] = [];
  for (const key of file.keys()) {
    const entity = file.get(key);
    if (!(entity instanceof h5.Dataset)) continue; // groups: only the root group is read
    const names = h5.Module.get_attribute_names(file.file_id, entity.path);
    const meta = entity.metadata;
    const cls = stringAttribute(entity, "CLASS", names);
    const scaleName = stringAttribute(entity, "NAME", names);
    const isScale = cls === "DIMENSION_SCALE";
    if (isScale) {
      const dimid = names.includes("_Netcdf4Dimid")
        ? Number(attributeValue(entity.get_attribute("_Netcdf4Dimid", false)))
        : null;
      scales.set(entity.path, {
        name: key,
        size: meta.shape?.[0] ?? 0,
        unlimited: (meta.maxshape?.[0] ?? 0) >= UNLIMITED,
        id: dimid,
      });
    }
    if (isScale && scaleName?.startsWith(DIMENSION_ONLY)) continue;
    found.push({ ds: entity, name: key.startsWith(NON_COORD) ? key.slice(NON_COORD.length) : key, isScale, meta });
  }

  const variables: NetcdfVariableInfo[] = [];
  const sizes = new Map<string, number>();
  for (const { ds, name, isScale, meta } of found) {
    const shape = meta.shape ?? [];
    const dims = shape.map((_, axis) => {
      if (axis === 0 && isScale) return name;
      const attached = ds.get_attached_scales(axis);
      const scale = attached[0] ? scales.get(attached[0]) : undefined;
      return scale?.name ?? attached[0]?.replace(/^.*\//, "") ?? `phony_dim_${axis}`;
    });
    dims.forEach((d, axis) => sizes.set(d, Math.max(sizes.get(d) ?? 0, shape[axis]!)));
    variables.push({
      name,
      dims,
      shape: [...shape],
      dataType: dataTypeOf(meta),
      attrs: readAttributes(h5, file, ds, url),
      chunks: meta.chunks ? [...meta.chunks] : null,
      layout: { kind: "hdf5", path: ds.path },
    });
  }

  // Dimensions in netCDF's order (their ids), then any only seen on variables.
  const ordered = [...scales.values()].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  const dims: Record<string, number> = {};
  // An unlimited dimension's scale keeps the size it was made with; the variables along it say how long it is.
  for (const s of ordered) dims[s.name] = Math.max(s.size, sizes.get(s.name) ?? 0);
  for (const [d, n] of sizes) if (!(d in dims)) dims[d] = n;
  return {
    url,
    format: "netcdf4",
    dims,
    unlimited: ordered.filter((s) => s.unlimited).map((s) => s.name),
    attrs: readAttributes(h5, file, file, url),
    variables,
  };
}
