// Buffers prepared for incoming frames of a recurring size: in this thread, the functions directly;
// then frames over a real WebSocket on 127.0.0.1 landing in them intact.

import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { Client, Scheduler, Worker } from "../../node/index.js";
import {
  beginReceive,
  clearReceiveBuffers,
  deserialize,
  endReceive,
  PacketReader,
  receiveBuffer,
  receiveBufferStats,
  serialize,
  setReceiveAhead,
  setSpareBudget,
  SPARE_MIN_BYTES,
  toChunks,
  type Message,
} from "../../src/internal.js";
import { Harness } from "../comm/conformance.js";
import { waitFor } from "../helpers/wait-for.js";

const SIZE = SPARE_MIN_BYTES * 2;
const PAGE = 4096;

/** Lets the preparation run for a while (it touches pages a few ms per timer turn). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
}

test("buffers for incoming frames, in this thread", async (t) => {
  t.afterEach(() => {
    clearReceiveBuffers();
    setSpareBudget(() => Infinity);
    setReceiveAhead(true);
  });

  await t.test("a small frame gets a new zeroed buffer and nothing is prepared for its size", async () => {
    const before = receiveBufferStats();
    for (let i = 0; i < 3; i++) {
      const b = receiveBuffer(SPARE_MIN_BYTES - 1);
      assert.equal(b.byteLength, SPARE_MIN_BYTES - 1);
      assert.equal(b.byteOffset, 0);
      assert.equal(b.buffer.byteLength, b.byteLength);
    }
    await turns(20);
    const after = receiveBufferStats();
    assert.equal(after.taken, before.taken, "small frames are not counted");
    assert.equal(after.prepared, before.prepared);
    assert.equal(after.spareBytes, 0);
  });

  await t.test("a size seen once is not prepared for", async () => {
    const before = receiveBufferStats();
    receiveBuffer(SIZE);
    await turns(20);
    assert.equal(receiveBufferStats().prepared, before.prepared);
    assert.equal(receiveBufferStats().spareBytes, 0);
  });

  await t.test(
    "once a size recurs, the next frame of it gets a prepared buffer: zeroed, whole, of its own",
    async () => {
      const first = receiveBuffer(SIZE);
      first.fill(1); // what a frame leaves in its buffer must never show in another
      const second = receiveBuffer(SIZE);
      second.fill(2);
      await waitFor(() => receiveBufferStats().spareBytes === SIZE && receiveBufferStats().untouchedBytes === 0, {
        message: "a spare of the size, touched",
        interval: 1,
      });
      const before = receiveBufferStats();
      const third = receiveBuffer(SIZE);
      const after = receiveBufferStats();
      assert.equal(after.fromSpare, before.fromSpare + 1, "taken from the spare");
      assert.notEqual(third.buffer, first.buffer);
      assert.notEqual(third.buffer, second.buffer);
      assert.equal(third.byteLength, SIZE);
      assert.equal(third.byteOffset, 0);
      assert.equal(third.buffer.byteLength, SIZE);
      assert.ok(
        third.every((x) => x === 0),
        "all zeros",
      );
      assert.equal(after.spareBytes, 0, "no longer waiting once taken");
      // Taking it asked for the next one.
      await waitFor(() => receiveBufferStats().spareBytes === SIZE, { message: "the next spare", interval: 1 });
    },
  );

  await t.test("a spare taken while its pages are still being touched is never written to again", async () => {
    const big = SPARE_MIN_BYTES * 16; // 128 MiB: several turns of touching
    receiveBuffer(big);
    receiveBuffer(big);
    await waitFor(() => receiveBufferStats().spareBytes === big, { message: "a spare being prepared", interval: 1 });
    assert.ok(receiveBufferStats().untouchedBytes > 0, "still being touched");
    const before = receiveBufferStats().fromSpare;
    const taken = receiveBuffer(big);
    assert.equal(receiveBufferStats().fromSpare, before + 1);
    taken.fill(0xab);
    await turns(30);
    assert.ok(
      taken.every((x) => x === 0xab),
      "preparation left it alone",
    );
  });

  await t.test(
    "nothing is prepared while a frame is being read into its buffer: it would compete with the frame",
    async () => {
      receiveBuffer(SIZE);
      receiveBuffer(SIZE); // recurring: a spare is wanted
      const frame = beginReceive(SIZE); // in the same turn, before preparation starts
      await turns(20);
      assert.equal(receiveBufferStats().spareBytes, 0, "waits for the frame");
      endReceive(frame.byteLength);
      await waitFor(() => receiveBufferStats().spareBytes === SIZE, {
        message: "a spare once the frame is in",
        interval: 1,
      });
    },
  );

  await t.test("a packet reader whose link closes mid-frame lets preparation go on", async () => {
    const frame = new Uint8Array(SIZE);
    const chunks = toChunks({ header: new Uint8Array([1, 2, 3]), frames: [frame] }, SIZE);
    assert.equal(chunks.length, 2, "prelude and header, then the frame");
    receiveBuffer(SIZE);
    receiveBuffer(SIZE);
    const reader = new PacketReader(2 * SIZE);
    assert.equal(reader.push(chunks[0]!), null);
    const place = reader.destination(SIZE);
    assert.ok(place, "the frame is read in place");
    place.set(chunks[1]!.subarray(0, 1000)); // part of it arrived, then the link closed
    await turns(20);
    assert.equal(receiveBufferStats().spareBytes, 0);
    reader.abort();
    assert.equal(reader.inProgress, false);
    await waitFor(() => receiveBufferStats().spareBytes === SIZE, {
      message: "a spare once the frame is abandoned",
      interval: 1,
    });
  });

  await t.test("turned off (MESHWORK_RECEIVE_AHEAD=0), every frame gets a new buffer", async () => {
    setReceiveAhead(false);
    const before = receiveBufferStats();
    for (let i = 0; i < 4; i++) receiveBuffer(SIZE);
    await turns(20);
    assert.equal(receiveBufferStats().prepared, before.prepared);
    assert.equal(receiveBufferStats().fromSpare, before.fromSpare);
    setReceiveAhead(true);
    receiveBuffer(SIZE);
    await waitFor(() => receiveBufferStats().spareBytes === SIZE, {
      message: "a spare once turned on again",
      interval: 1,
    });
  });

  await t.test("a worker's budget bounds what is prepared", async () => {
    setSpareBudget(() => SIZE - 1);
    const before = receiveBufferStats();
    receiveBuffer(SIZE);
    receiveBuffer(SIZE);
    receiveBuffer(SIZE);
    await turns(20);
    assert.equal(receiveBufferStats().prepared, before.prepared, "nothing fits in the budget");
    assert.equal(receiveBufferStats().spareBytes, 0);
    setSpareBudget(() => SIZE);
    receiveBuffer(SIZE);
    await waitFor(() => receiveBufferStats().spareBytes === SIZE, {
      message: "a spare once the budget allows",
      interval: 1,
    });
    setSpareBudget(() => 0); // the worker's results grew
    receiveBuffer(SIZE + PAGE); // a frame of another size: preparation looks again
    await waitFor(() => receiveBufferStats().spareBytes === 0, {
      message: "spares given up when the budget shrinks",
      interval: 1,
    });
  });
});

test("prepared buffers nobody takes are dropped after a while", (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => {
    mock.timers.reset();
    clearReceiveBuffers();
  });
  receiveBuffer(SIZE);
  receiveBuffer(SIZE);
  for (let i = 0; i < 10; i++) mock.timers.tick(1);
  assert.equal(receiveBufferStats().spareBytes, SIZE, "prepared");
  const dropped = receiveBufferStats().dropped;
  mock.timers.tick(9_000);
  assert.equal(receiveBufferStats().spareBytes, SIZE, "still there before the idle time");
  mock.timers.tick(1_100);
  assert.equal(receiveBufferStats().spareBytes, 0, "dropped");
  assert.equal(receiveBufferStats().dropped, dropped + 1);
});

test("frames of a recurring size over a real WebSocket arrive intact in prepared buffers", async () => {
  clearReceiveBuffers();
  await using h = await Harness.start({ address: () => "ws://127.0.0.1:0" });
  const { client, server } = await h.pair();
  const before = receiveBufferStats();
  for (let round = 0; round < 4; round++) {
    const bytes = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i += 997) bytes[i] = (i + round) % 251;
    server.send({ op: "reply", id: round, value: serialize(bytes).payload } satisfies Message);
    const m = (await client.next()) as { value: Parameters<typeof deserialize>[0] };
    const got = deserialize(m.value) as Uint8Array;
    assert.equal(got.byteLength, SIZE);
    for (let i = 0; i < SIZE; i += 997)
      if (got[i] !== (i + round) % 251) assert.fail(`round ${round}: byte ${i} is ${got[i]}`);
    assert.equal(got[1], 0, "bytes between the marks are zero, as sent");
    if (round >= 1)
      await waitFor(() => receiveBufferStats().spareBytes >= SIZE, {
        message: "a spare for the next round",
        interval: 1,
      });
  }
  assert.ok(
    receiveBufferStats().fromSpare - before.fromSpare >= 2,
    "the third and fourth frames landed in prepared buffers",
  );
  clearReceiveBuffers();
});

test("a worker with a memory limit lends its own spares only what its results leave free; the realm's and other members' buffers keep no budget", async () => {
  clearReceiveBuffers();
  const scheduler = await Scheduler.start({ address: "ws://127.0.0.1:0" });
  // Spilling starts at 60 % of the limit: 0.6 × 32 MiB leaves room for one 16 MiB spare.
  const worker = await Worker.start({ scheduler: scheduler.address, memoryLimit: 2 * SIZE });
  const client = await Client.connect(scheduler.address);
  const own = worker.receiveBuffers;
  try {
    own.take(SIZE);
    own.take(SIZE);
    await waitFor(() => own.stats().spareBytes === SIZE, { message: "a spare within the budget", interval: 1 });
    // 8 MB of results held on the worker leave 11.2 MiB below the threshold: too little for the spare.
    const held = client.submit((n: number) => new Float64Array(n).fill(1), 1_000_000);
    assert.equal((await held).length, 1_000_000);
    own.take(SIZE + PAGE); // a frame of another size: preparation looks again
    await waitFor(() => own.stats().spareBytes === 0, {
      message: "the spare given up for the worker's results",
      interval: 1,
    });
    // The realm's buffers (links no member owns) never had the worker's budget.
    receiveBuffer(SIZE);
    receiveBuffer(SIZE);
    await waitFor(() => receiveBufferStats().spareBytes === SIZE, {
      message: "no worker's budget on the realm's buffers",
      interval: 1,
    });
  } finally {
    await worker.close(); // still holding the result
    await client.close();
    await scheduler.close();
  }
  assert.equal(own.stats().spareBytes, 0, "the worker's spares are dropped when it closes");
  assert.equal(receiveBufferStats().spareBytes, SIZE, "and the realm's are not");
  clearReceiveBuffers();
});
