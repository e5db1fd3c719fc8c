// meshwork's codecs in zarrita's registry, where they are faster than numcodecs' WebAssembly or
// where zarrita has only a decoder: Blosc (LZ4 and shuffle decoded and encoded here, other inner
// compressors through numcodecs), gzip and zlib (the platform's CompressionStream), zstd and LZ4
// (numcodecs). Encoders are used by toZarr.

import * as zarr from "zarrita";
import { FormatError } from "../errors.js";
import { bloscHeader, bloscNative, decodeBlosc, encodeBlosc } from "./codecs/blosc.js";

type Bytes = Uint8Array;

export interface BytesCodec {
  kind: "bytes_to_bytes";
  encode(bytes: Bytes): Promise<Bytes>;
  decode(bytes: Bytes): Promise<Bytes>;
}

/** Shuffle as numcodecs numbers it (v2 metadata) or as the v3 spec names it. */
function shuffleMode(s: unknown): 0 | 1 | 2 {
  if (s === 0 || s === "noshuffle") return 0;
  if (s === 2 || s === "bitshuffle") return 2;
  return 1; // 1, "shuffle", -1 (auto: byte shuffle for elements wider than a byte)
}

interface BloscConfig {
  cname?: string;
  clevel?: number;
  shuffle?: number | string;
  typesize?: number;
  blocksize?: number;
}

let numcodecsBlosc: Promise<{ decode(b: Bytes): Promise<Bytes>; encode(b: Bytes): Promise<Bytes> }> | null = null;

function bloscCodec(config: BloscConfig, meta?: { dataType?: string }): BytesCodec {
  const shuffle = shuffleMode(config.shuffle);
  const typesize = config.typesize ?? itemBytes(meta?.dataType);
  const cname = config.cname ?? "lz4";
  return {
    kind: "bytes_to_bytes",
    async decode(bytes) {
      const h = bloscHeader(bytes);
      if (bloscNative(h)) return decodeBlosc(bytes, h);
      numcodecsBlosc ??= import("numcodecs/blosc").then(
        (m) =>
          m.default.fromConfig({
            cname,
            clevel: config.clevel ?? 5,
            shuffle,
            blocksize: config.blocksize ?? 0,
          }) as never,
      );
      return (await numcodecsBlosc).decode(bytes);
    },
    async encode(bytes) {
      if (cname !== "lz4" || shuffle === 2)
        throw new FormatError(
          `meshwork writes Blosc with cname "lz4" and byte shuffle or none; not cname ${JSON.stringify(cname)}${shuffle === 2 ? " with bit shuffle" : ""}`,
        );
      return encodeBlosc(bytes, typesize, { clevel: config.clevel ?? 5, shuffle: shuffle === 1 });
    },
  };
}

/** Bytes per element of a zarrita data type name ("float32", "v2:U4" …), for Blosc's shuffle. */
function itemBytes(dataType: string | undefined): number {
  const m = dataType?.match(/(\d+)$/);
  if (!dataType || !m) return 1;
  if (dataType.startsWith("v2:U")) return 4 * Number(m[1]);
  if (dataType.startsWith("v2:S")) return Number(m[1]);
  return Number(m[1]) / 8;
}

/** gzip and zlib with the platform's streams (native zlib in Node and browsers). */
function streamCodec(format: "gzip" | "deflate"): BytesCodec {
  const run = async (bytes: Bytes, stream: CompressionStream | DecompressionStream): Promise<Bytes> => {
    const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
    return new Uint8Array(await out.arrayBuffer());
  };
  return {
    kind: "bytes_to_bytes",
    decode: (bytes) => run(bytes, new DecompressionStream(format)),
    encode: (bytes) => run(bytes, new CompressionStream(format)),
  };
}

interface NumcodecsCodec {
  encode(b: Bytes): Promise<Bytes>;
  decode(b: Bytes): Promise<Bytes>;
}

function numcodecsCodec(load: () => Promise<{ fromConfig(c: unknown): NumcodecsCodec }>, config: unknown): BytesCodec {
  let codec: Promise<NumcodecsCodec> | undefined;
  const get = () => (codec ??= load().then((m) => m.fromConfig(config)));
  return {
    kind: "bytes_to_bytes",
    decode: async (bytes) => (await get()).decode(bytes),
    encode: async (bytes) => (await get()).encode(bytes),
  };
}

const entry = (make: (config: never, meta: never) => BytesCodec) => async () => ({
  fromConfig: make,
  kind: "bytes_to_bytes" as const,
});

const blosc = entry((c: BloscConfig, meta: { dataType?: string }) => bloscCodec(c ?? {}, meta));
const gzip = entry(() => streamCodec("gzip"));
const zlib = entry(() => streamCodec("deflate"));
const zstd = entry((c: { level?: number }) =>
  numcodecsCodec(() => import("numcodecs/zstd").then((m) => m.default as never), { level: c?.level ?? 1 }),
);
const lz4 = entry((c: { acceleration?: number }) =>
  numcodecsCodec(() => import("numcodecs/lz4").then((m) => m.default as never), { acceleration: c?.acceleration ?? 1 }),
);

const registry = zarr.registry as unknown as Map<string, () => Promise<unknown>>;
for (const [names, e] of [
  [["blosc", "numcodecs.blosc"], blosc],
  [["gzip", "numcodecs.gzip"], gzip],
  [["zlib", "numcodecs.zlib"], zlib],
  [["zstd", "numcodecs.zstd"], zstd],
  [["lz4", "numcodecs.lz4"], lz4],
] as const) {
  for (const n of names) registry.set(n, e);
}

/** Codec names zarrita (with meshwork's) can read. */
export function knownCodecs(): string[] {
  return [...registry.keys()].filter((k) => !k.startsWith("numcodecs.")).sort();
}

/** A bytes-to-bytes codec for writing, from its v3 name and configuration. */
export async function codecFor(name: string, config: unknown, dataType: string): Promise<BytesCodec> {
  const load = registry.get(name);
  if (!load) throw new FormatError(`unknown codec ${JSON.stringify(name)}; meshwork knows ${knownCodecs().join(", ")}`);
  const e = (await load()) as { fromConfig(c: unknown, meta: unknown): BytesCodec };
  return e.fromConfig(config, { dataType });
}
