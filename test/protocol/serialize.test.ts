// The value codec: which values survive serialize → deserialize, where binary data goes (frames
// beside a small header, never the msgpack body), how refused values are named, and TaskRefs.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  SerializationError,
  Serialized,
  TaskRef,
  deserialize,
  measure,
  registerWireClass,
  serialize,
} from "../../src/internal.js";

const roundTrip = (value: unknown): unknown => deserialize(serialize(value).payload);

const TYPED_ARRAYS = [
  new Int8Array([-128, 0, 127]),
  new Uint8Array([0, 1, 255]),
  new Uint8ClampedArray([0, 128, 255]),
  new Int16Array([-32768, 1, 32767]),
  new Uint16Array([0, 2, 65535]),
  new Int32Array([-(2 ** 31), 3, 2 ** 31 - 1]),
  new Uint32Array([0, 4, 2 ** 32 - 1]),
  new Float32Array([-1.5, 0.25, 3.4e38]),
  new Float64Array([Math.PI, -0, Number.MAX_VALUE]),
  new BigInt64Array([-(2n ** 63n), 5n, 2n ** 63n - 1n]),
  new BigUint64Array([0n, 6n, 2n ** 64n - 1n]),
];

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe("round trips", () => {
  for (const arr of TYPED_ARRAYS) {
    test(`${arr.constructor.name} keeps its type and travels as a frame, not in the msgpack body`, () => {
      const { payload, nbytes } = serialize(arr);
      assert.equal(payload.frames.length, 1);
      assert.equal(payload.frames[0]!.byteLength, arr.byteLength);
      assert.equal(nbytes, arr.byteLength);
      const out = deserialize(payload) as typeof arr;
      assert.equal(out.constructor, arr.constructor);
      assert.ok(sameBytes(out, arr), "element bytes differ");
    });
  }

  test("every typed array kind nested in arrays, objects, Maps and Sets comes back in place", () => {
    const value = {
      list: [...TYPED_ARRAYS],
      byName: Object.fromEntries(TYPED_ARRAYS.map((a) => [a.constructor.name, a])),
      map: new Map<unknown, unknown>([
        ["f", TYPED_ARRAYS[8]],
        [7, [TYPED_ARRAYS[9]]],
      ]),
      set: new Set([TYPED_ARRAYS[2]]),
    };
    const { payload } = serialize(value);
    assert.equal(payload.frames.length, 11 + 11 + 2 + 1, "one frame per occurrence");
    assert.deepEqual(deserialize(payload), value);
  });

  test("ArrayBuffer and DataView round trip with their bytes and kind", () => {
    const ab = new Uint8Array([1, 2, 3, 4]).buffer;
    const dvBacking = new Uint8Array([9, 8, 7, 6, 5, 4]).buffer;
    const out = roundTrip({ ab, dv: new DataView(dvBacking, 2, 3) }) as { ab: ArrayBuffer; dv: DataView };
    assert.ok(out.ab instanceof ArrayBuffer, "ab is not an ArrayBuffer");
    assert.deepEqual([...new Uint8Array(out.ab)], [1, 2, 3, 4]);
    assert.ok(out.dv instanceof DataView, "dv is not a DataView");
    assert.deepEqual([out.dv.getUint8(0), out.dv.getUint8(1), out.dv.getUint8(2)], [7, 6, 5]);
    assert.equal(out.dv.byteLength, 3);
  });

  test("Map and plain object stay distinct, including non-string Map keys", () => {
    const out = roundTrip({
      m: new Map<unknown, unknown>([
        [1, "one"],
        ["k", { x: 1 }],
      ]),
      o: { 1: "one" },
      empty: new Map(),
    }) as Record<string, unknown>;
    assert.ok(out["m"] instanceof Map, "m is not a Map");
    assert.equal((out["m"] as Map<unknown, unknown>).get(1), "one");
    assert.deepEqual((out["m"] as Map<unknown, unknown>).get("k"), { x: 1 });
    assert.ok(!(out["o"] instanceof Map), "o became a Map");
    assert.deepEqual(out["o"], { 1: "one" });
    assert.ok(out["empty"] instanceof Map, "empty Map is not a Map");
  });

  test("Date, RegExp, Set, bigint, undefined, null and strings come back as themselves", () => {
    const value = {
      date: new Date(1_700_000_000_123),
      re: /ab+c/gi,
      set: new Set([1, "a"]),
      small: 5n,
      huge: -(2n ** 70n),
      undef: undefined,
      nul: null,
      text: "héllo ☃ \u{1F600}",
      numbers: [0, 1.5, NaN, Infinity, -Infinity, 2 ** 53],
    };
    const out = roundTrip(value) as typeof value;
    assert.deepEqual(out, value);
    assert.ok("undef" in out, "a key holding undefined is kept");
    assert.equal(out.re.flags, "gi");
    assert.equal(typeof out.small, "bigint");
  });

  test("top-level primitives and flat arrays take the fast path and still round trip", () => {
    for (const v of [undefined, null, true, 42, -7.25, "s", 3n, [1, "two", null, undefined, 4n]])
      assert.deepEqual(roundTrip(v), v);
  });

  test("negative zero keeps its sign", () => {
    // Number fidelity: 1 / -0 is -Infinity, and structuredClone keeps the sign.
    assert.ok(Object.is(roundTrip(-0), -0), "top-level -0 came back as 0");
    assert.ok(Object.is((roundTrip({ z: -0 }) as { z: number }).z, -0), "-0 in an object came back as 0");
  });

  test("an object reached twice is not a cycle and arrives as two equal copies", () => {
    const shared = { q: 1 };
    assert.deepEqual(roundTrip([shared, { again: shared }]), [{ q: 1 }, { again: { q: 1 } }]);
  });

  test("faithful or refused: a class instance is a SerializationError naming where it is, unless registered as a wire class", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    assert.throws(
      () => serialize({ shapes: [new Point(3, 4)] }),
      (e: unknown) =>
        e instanceof SerializationError &&
        /The value\.shapes\[0\] is an instance of class Point, which would arrive as a plain object without its methods.*registerWireClass/.test(
          e.message,
        ),
    );
    class Tagged {
      constructor(readonly tag: string) {}
      shout(): string {
        return this.tag.toUpperCase();
      }
    }
    registerWireClass<Tagged>({
      name: "test.Tagged",
      Class: Tagged,
      encode: (t) => t.tag,
      decode: (tag) => new Tagged(String(tag)),
    });
    const back = roundTrip({ t: new Tagged("hi") }) as { t: Tagged };
    assert.ok(back.t instanceof Tagged);
    assert.equal(back.t.shout(), "HI");
  });

  test("a URL arrives as a URL; a Blob is refused with what to send instead; boxed primitives as their values", () => {
    const u = roundTrip(new URL("https://example.org/a?b=1#c"));
    assert.ok(u instanceof URL);
    assert.equal(u.href, "https://example.org/a?b=1#c");
    assert.throws(
      () => serialize([1, new Blob(["abc"], { type: "text/plain" })]),
      (e: unknown) =>
        e instanceof SerializationError &&
        /The value\[1\] is a Blob, whose bytes cannot be read at once; send new Uint8Array\(await blob\.arrayBuffer\(\)\)/.test(
          e.message,
        ),
    );
    assert.deepEqual(roundTrip([new Number(2), new String("s"), new Boolean(false)]), [2, "s", false]);
  });
});

describe("binary data is out of band", () => {
  test("a 1 MiB Float64Array gives a tiny header and one frame that is the array's own memory", () => {
    const arr = new Float64Array(131_072).map((_, i) => i * 0.5);
    const { payload } = serialize(arr);
    assert.ok(payload.header.byteLength < 64, `header is ${payload.header.byteLength} bytes`);
    assert.equal(payload.frames.length, 1);
    const frame = payload.frames[0]!;
    assert.equal(frame.buffer, arr.buffer, "the frame is a view, not a copy");
    assert.equal(frame.byteOffset, 0);
    assert.equal(frame.byteLength, 1024 * 1024);
  });

  test("a subarray's frame is a view over the same buffer at the same offset", () => {
    const whole = new Float64Array(1000).map((_, i) => i);
    const part = whole.subarray(10, 20);
    const frame = serialize({ part }).payload.frames[0]!;
    assert.equal(frame.buffer, whole.buffer);
    assert.equal(frame.byteOffset, 80);
    assert.equal(frame.byteLength, 80);
    assert.deepEqual([...(roundTrip(part) as Float64Array)], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test("views at odd offsets into a larger buffer round trip exactly", () => {
    const backing = new ArrayBuffer(64);
    new Uint8Array(backing).forEach((_, i, a) => (a[i] = 200 - i));
    const f64 = new Float64Array(backing, 8, 3);
    f64.set([1.25, -2.5, 1e300]);
    const u8 = new Uint8Array(backing, 3, 4);
    const { payload } = serialize({ f64, u8 });
    assert.deepEqual(
      payload.frames.map((f) => [f.byteOffset, f.byteLength]),
      [
        [8, 24],
        [3, 4],
      ],
    );
    const out = deserialize(payload) as { f64: Float64Array; u8: Uint8Array };
    assert.ok(out.f64 instanceof Float64Array && out.u8 instanceof Uint8Array, "kinds lost");
    assert.deepEqual([...out.f64], [1.25, -2.5, 1e300]);
    assert.deepEqual([...out.u8], [197, 196, 195, 194]);
  });

  test("a misaligned frame is copied to aligned memory on decode; an aligned one is not", () => {
    const header = serialize(new Float64Array(2)).payload.header;
    const misaligned = new Uint8Array(new ArrayBuffer(32), 3, 16);
    misaligned.set(new Uint8Array(new Float64Array([7.5, -8]).buffer));
    const out = deserialize(new Serialized(header, [misaligned])) as Float64Array;
    assert.deepEqual([...out], [7.5, -8]);
    assert.notEqual(out.buffer, misaligned.buffer);
    assert.equal(out.byteOffset % 8, 0);

    const aligned = new Uint8Array(misaligned.buffer, 8, 16);
    aligned.set(misaligned.slice());
    const view = deserialize(new Serialized(header, [aligned])) as Float64Array;
    assert.equal(view.buffer, aligned.buffer, "aligned frames are viewed in place");
    assert.equal(view.byteOffset, 8);
  });
});

describe("values that cannot travel", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "a function nested in arguments",
      () => [1, { options: { cb: () => 0 } }],
      /value\[1\]\.options\.cb is a function/,
    ],
    ["a symbol", () => ({ tag: Symbol("t") }), /value\.tag is a symbol/],
    ["a Promise", () => ({ later: [Promise.resolve(1)] }), /value\.later\[0\] is a Promise/],
    ["a WeakMap", () => new Map([["k", new WeakMap()]]), /<map "k"> is a WeakMap/],
    [
      "a cycle through an array",
      () => {
        const o: { a: unknown[] } = { a: [1] };
        o.a.push(o);
        return o;
      },
      /value\.a\[1\] refers back to itself/,
    ],
    [
      "a cycle through a Map",
      () => {
        const m = new Map<string, unknown>();
        m.set("self", m);
        return m;
      },
      /<map "self"> refers back to itself/,
    ],
    ["a key that is not an identifier", () => ({ "odd key": [() => 0] }), /value\["odd key"\]\[0\] is a function/],
    [
      "nesting past the depth limit",
      () => {
        let v: unknown = 1;
        for (let i = 0; i < 600; i++) v = [v];
        return v;
      },
      /nested more than \d+ levels deep/,
    ],
  ];
  for (const [what, make, where] of cases) {
    test(`${what} fails with SerializationError naming where it is`, () => {
      assert.throws(
        () => serialize(make()),
        (err: unknown) => err instanceof SerializationError && where.test(err.message),
      );
    });
  }

  test("a top-level function says so and suggests submitting it instead", () => {
    assert.throws(() => serialize(function square() {}), /The value is a function \(square\).*client\.submit/);
  });
});

describe("measure", () => {
  test("binary parts count exactly, views count only the bytes they span", () => {
    assert.equal(measure(new Float64Array(1000)), 8000);
    assert.equal(measure({ a: new Float64Array(10), b: new Uint8Array(3), c: new ArrayBuffer(5) }), 88);
    assert.equal(measure(new Float64Array(1000).subarray(0, 3)), 24);
    assert.ok(measure(["abc", 1]) > 0, "non-binary values have a size");
  });

  test("throws on the same values serialize refuses", () => {
    assert.throws(
      () => measure({ x: [() => 0] }),
      (e: unknown) => e instanceof SerializationError && /value\.x\[0\]/.test(e.message),
    );
    assert.throws(() => measure([Symbol("s")]), SerializationError);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.throws(() => measure(cyclic), SerializationError);
  });
});

describe("TaskRefs", () => {
  class FakeFuture {
    constructor(readonly key: string) {}
  }
  const replace = (o: object) => (o instanceof FakeFuture ? new TaskRef(o.key) : undefined);

  test("serialize with `replace` turns marked objects into TaskRefs and lists their keys once", () => {
    const value = [
      new FakeFuture("a"),
      { x: new FakeFuture("b"), y: [new FakeFuture("a")] },
      new Map([["m", new FakeFuture("c")]]),
    ];
    const { payload, refs } = serialize(value, { replace });
    assert.deepEqual(refs, ["a", "b", "c"]);
    const raw = deserialize(payload) as [TaskRef, { x: TaskRef }];
    assert.ok(raw[0] instanceof TaskRef && raw[0].key === "a", "first ref");
    assert.ok(raw[1].x instanceof TaskRef && raw[1].x.key === "b", "nested ref");
  });

  test("deserialize with a resolver substitutes each ref's value", () => {
    const { payload } = serialize({ args: [new FakeFuture("a"), 2, new FakeFuture("b")] }, { replace });
    const values: Record<string, unknown> = { a: new Float32Array([1, 2]), b: "bee" };
    assert.deepEqual(
      deserialize(payload, (ref) => values[ref.key]),
      { args: [new Float32Array([1, 2]), 2, "bee"] },
    );
  });

  test("a resolver may itself deserialize a stored value", () => {
    // A holder that keeps dependencies as Serialized (decoding lazily) resolves refs this way.
    const stored = serialize({ arr: new Int16Array([1, 2, 3]) }).payload;
    const outer = serialize([new TaskRef("k"), new Float32Array([4, 5]), new TaskRef("j")]).payload;
    const out = deserialize(outer, (ref) => (ref.key === "k" ? deserialize(stored) : ref.key.toUpperCase()));
    assert.deepEqual(out, [{ arr: new Int16Array([1, 2, 3]) }, new Float32Array([4, 5]), "J"]);
  });
});
