// A Web Worker for test/web/blosc.web.ts: decodes the Blosc chunks it is sent, with the engine asked
// for, and says whether WebAssembly compiled here.

import { decodeBlosc, type BloscEngine } from "../../../src/io/codecs/blosc.js";
import { bloscWasmModule } from "../../../src/io/codecs/blosc-wasm.js";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e: MessageEvent<{ bytes: ArrayBuffer; engine: BloscEngine }>) => {
  try {
    const out = decodeBlosc(new Uint8Array(e.data.bytes), undefined, e.data.engine).slice();
    scope.postMessage({ out, wasm: bloscWasmModule() !== null }, [out.buffer]);
  } catch (err) {
    scope.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` });
  }
};
