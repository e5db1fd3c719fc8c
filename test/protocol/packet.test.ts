// Packets: a batch of messages as one msgpack header plus the frames of the Serialized values in
// them. Decoding anything malformed throws ProtocolError and nothing else, whatever the bytes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ProtocolError,
  Serialized,
  decodePacket,
  deserialize,
  encodePacket,
  serialize,
  type Message,
  type Packet,
} from "../../src/internal.js";

// Hostile headers written by our own encoder, so that objects decode as objects (a plain msgpack
// map decodes as a Map, which would be refused for that reason alone).
const header = (value: unknown) => encodePacket(value as Message[]).header;

/** A one-message header whose value is a raw frame reference: ext 0x21, [kind u8][frame index u32]. */
function withFrameRef(kind: number, index: number): Uint8Array {
  const prefix = header([{ op: "reply", id: 1, value: null }]);
  assert.equal(prefix.at(-1), 0xc0, "the value (nil) is the last byte");
  const ext = new Uint8Array([0xc7, 5, 0x21, kind, 0, 0, 0, 0]);
  new DataView(ext.buffer).setUint32(4, index);
  const out = new Uint8Array(prefix.byteLength - 1 + ext.byteLength);
  out.set(prefix.subarray(0, -1));
  out.set(ext, prefix.byteLength - 1);
  return out;
}

function assertProtocolError(packet: Packet, pattern?: RegExp): void {
  assert.throws(
    () => decodePacket(packet),
    (e: unknown) => e instanceof ProtocolError && (!pattern || pattern.test(e.message)),
  );
}

describe("encodePacket / decodePacket", () => {
  test("a batch of plain messages round trips in order", () => {
    const messages: Message[] = [
      { op: "hello", version: 1, role: "client", name: "c" },
      { op: "release-keys", keys: ["a", "b"] },
      { op: "goodbye", reason: "done" },
    ];
    const packet = encodePacket(messages);
    assert.equal(packet.frames.length, 0);
    assert.deepEqual(decodePacket(packet), messages);
  });

  test("Serialized values append their frames and the indices point at the right ones", () => {
    const a = serialize({ x: new Float64Array([1, 2, 3]), y: new Uint8Array([9]) }).payload;
    const b = serialize(new Int32Array([-1, -2])).payload;
    const c = serialize("no frames").payload;
    const packet = encodePacket([
      { op: "reply", id: 1, value: a },
      { op: "put-data", id: 2, values: { b, c, a2: a } },
    ]);
    // a's two frames, b's one, then a's two again: each Serialized brings its own frames.
    assert.equal(packet.frames.length, 5);
    assert.equal(packet.frames[2]!.byteLength, 8);

    const [m1, m2] = decodePacket(packet) as unknown as [{ value: Serialized }, { values: Record<string, Serialized> }];
    assert.ok(m1.value instanceof Serialized, "reply value is still a Serialized");
    assert.deepEqual(deserialize(m1.value), { x: new Float64Array([1, 2, 3]), y: new Uint8Array([9]) });
    assert.deepEqual(deserialize(m2.values["b"]!), new Int32Array([-1, -2]));
    assert.equal(deserialize(m2.values["c"]!), "no frames");
    assert.deepEqual(deserialize(m2.values["a2"]!), { x: new Float64Array([1, 2, 3]), y: new Uint8Array([9]) });
  });

  test("frames are not copied on encode", () => {
    const arr = new Float64Array(1000);
    const packet = encodePacket([{ op: "reply", id: 1, value: serialize(arr).payload }]);
    assert.equal(packet.frames[0]!.buffer, arr.buffer);
  });

  test("the header is a fresh buffer the packet owns, safe to transfer", () => {
    const p1 = encodePacket([{ op: "goodbye", reason: "one" }]);
    const p2 = encodePacket([{ op: "goodbye", reason: "two" }]);
    assert.notEqual(p1.header.buffer, p2.header.buffer);
    assert.equal(p1.header.byteOffset, 0);
    assert.equal(p1.header.byteLength, p1.header.buffer.byteLength);
    assert.deepEqual(decodePacket(p1), [{ op: "goodbye", reason: "one" }]);
  });

  test("each packet decodes on its own, in any order (no state carried between packets)", () => {
    const shape = (id: number) => ({ op: "reply" as const, id, value: { alpha: id, beta: [id] } });
    const packets = [1, 2, 3].map((i) => encodePacket([shape(i), shape(i + 10)]));
    assert.deepEqual(decodePacket(packets[2]!), [shape(3), shape(13)]);
    assert.deepEqual(decodePacket(packets[0]!), [shape(1), shape(11)]);
    assert.deepEqual(decodePacket(packets[0]!), [shape(1), shape(11)], "decoding twice gives the same");
  });
});

describe("decodePacket refuses with ProtocolError", () => {
  test("garbage bytes", () => {
    assertProtocolError({ header: new Uint8Array([0xc1, 0xff, 0x00, 0x13]), frames: [] }, /undecodable/);
  });

  test("an empty or truncated header", () => {
    assertProtocolError({ header: new Uint8Array(0), frames: [] });
    const whole = encodePacket([{ op: "goodbye", reason: "a long enough reason" }]).header;
    assertProtocolError({ header: whole.subarray(0, whole.byteLength - 3), frames: [] });
  });

  test("a header that is not an array", () => {
    assertProtocolError({ header: header({ op: "goodbye", reason: "x" }), frames: [] }, /not a list of messages/);
    assertProtocolError({ header: header("hello"), frames: [] }, /not a list of messages/);
  });

  test("an element without a string `op`", () => {
    assert.deepEqual(decodePacket({ header: header([{ op: "goodbye", reason: "x" }]), frames: [] }), [
      { op: "goodbye", reason: "x" },
    ]);
    for (const bad of [[{ reason: "x" }], [{ op: 5 }], [null], ["goodbye"], [{ op: "goodbye" }, 3]]) {
      assertProtocolError({ header: header(bad), frames: [] }, /not a message/);
    }
  });

  test("a frame index out of range", () => {
    const good = encodePacket([{ op: "reply", id: 1, value: serialize(new Float64Array([1, 2])).payload }]);
    assertProtocolError({ header: good.header, frames: [] }, /frame 0, but the packet has 0/);
  });

  test("a frame reference with an unknown kind or a frame that is not a whole number of elements", () => {
    assertProtocolError(
      { header: withFrameRef(9, 0), frames: [new Uint8Array(7)] },
      /not a whole number of Float64Array/,
    );
    assertProtocolError({ header: withFrameRef(99, 0), frames: [new Uint8Array(8)] }, /unknown buffer kind 99/);
    assert.deepEqual(decodePacket({ header: withFrameRef(9, 0), frames: [new Uint8Array(8)] }), [
      { op: "reply", id: 1, value: new Float64Array(1) },
    ]);
  });

  test("any single corrupted byte of a real packet gives ProtocolError or a clean decode, never another error", () => {
    const good = encodePacket([
      { op: "reply", id: 7, value: serialize({ a: new Float64Array([1, 2]), s: "text" }).payload },
      { op: "put-data", id: 8, values: { k: serialize([1, 2, 3]).payload } },
    ]);
    let refused = 0;
    for (let i = 0; i < good.header.byteLength; i++) {
      for (const byte of [0x00, 0x7f, 0xc1, 0xd4, 0xff]) {
        const h = good.header.slice();
        h[i] = byte;
        try {
          decodePacket({ header: h, frames: good.frames });
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `byte ${i} = ${byte}: ${(e as Error).name}: ${(e as Error).message}`);
          refused++;
        }
      }
    }
    assert.ok(refused > 0, "no corruption was detected at all");
  });

  test("random byte strings give ProtocolError, never another error", () => {
    let x = 12345;
    const rand = () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    for (let n = 0; n < 3000; n++) {
      const h = Uint8Array.from({ length: 1 + (n % 48) }, rand);
      try {
        decodePacket({ header: h, frames: [new Uint8Array(16)] });
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `${[...h]}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  });
});
