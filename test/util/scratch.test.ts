// The thread's scratch buffer: one reused buffer for bytes needed briefly, never handed to two
// holders at once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { leaseScratch, scratchStats } from "../../src/util/scratch.js";

const MiB = 1024 * 1024;

test("a released lease's buffer is taken again by the next lease, grown when a larger size is asked", () => {
  const a = leaseScratch();
  const x = a.take(2 * MiB);
  assert.ok(a.holds(x));
  a.release();
  const b = leaseScratch();
  const y = b.take(MiB);
  assert.equal(y.buffer, x.buffer, "the same storage");
  assert.equal(y.length, MiB);
  b.release();
  const c = leaseScratch();
  const z = c.take(3 * MiB);
  assert.notEqual(z.buffer, x.buffer, "grown: new storage");
  assert.equal(z.length, 3 * MiB);
  c.release();
  assert.ok(scratchStats().keptBytes >= 3 * MiB);
});

test("never two holders: a second take in a lease, or a lease while another is out, gets fresh memory", () => {
  const a = leaseScratch();
  const x = a.take(2 * MiB);
  const x2 = a.take(2 * MiB);
  assert.notEqual(x2.buffer, x.buffer, "a second take in the same lease");
  assert.ok(!a.holds(x2));
  const b = leaseScratch();
  const y = b.take(2 * MiB);
  assert.notEqual(y.buffer, x.buffer, "a lease while the first is out");
  assert.ok(!b.holds(y));
  b.release(); // releasing a lease that holds nothing gives nothing back
  const c = leaseScratch();
  assert.notEqual(c.take(2 * MiB).buffer, x.buffer, "still out");
  c.release();
  a.release();
  a.release(); // twice is harmless
  const d = leaseScratch();
  assert.equal(d.take(2 * MiB).buffer, x.buffer, "back once its holder released it");
  d.release();
});

test("small sizes get memory of their own (allocating them is cheap)", () => {
  const a = leaseScratch();
  const small = a.take(1000);
  assert.ok(!a.holds(small));
  const next = a.take(2 * MiB);
  assert.ok(a.holds(next), "the lease has not used its one take yet");
  a.release();
});
