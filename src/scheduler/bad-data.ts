// A reader got bytes for a verified result whose digest is not the agreed one (BadData). Readers
// check what they fetch (worker/data-plane.ts, client/data.ts) and try another holder on their
// own; this decides what the accusation costs the holder. A trusted reader (a trusted worker, a
// client) hashed the bytes itself, so its word is believed: an untrusted holder is banned as a
// liar (verify.ts ban: what rested on its word is computed again); a trusted one is never judged,
// and is only dropped as a holder of that key. An untrusted reader could accuse an honest holder
// to get it banned, so its word costs the holder nothing: that reader skips the holder, and if no
// holder serves it the right bytes it reports missing-data, as for any fetch that failed.

import type { WorkerRecord } from "./model.js";
import type { Core } from "./core.js";
import type { BadDataEvent } from "./events.js";
import { ban } from "./verify.js";

/** What an accusation led to, for the shell's log. */
export type BadDataOutcome = "banned" | "dropped" | "not-believed" | "ignored";

/**
 * `reader` (a worker, or null for a client) says `from` served bytes for `key` that do not match
 * its agreed digest.
 */
function accuse(s: Core, reader: WorkerRecord | null, key: string, from: string): BadDataOutcome {
  const ts = s.tasks.get(key);
  const holder = s.workersByAddress.get(from);
  if (!ts || !holder || ts.state !== "memory" || ts.digest === null || !ts.whoHas.has(holder)) return "ignored";
  if (reader !== null && !reader.told.has(key)) {
    s.ignoredClaim(reader, key, "bad-data");
    return "ignored";
  }
  if (reader !== null && !reader.trusted) return "not-believed";
  if (!holder.trusted) {
    ban(
      s,
      holder,
      `it served bytes for ${key} that do not match the digest the workers agreed on (${reader ? `worker ${reader.name}` : "a client"} checked them)`,
    );
    return "banned";
  }
  s.begin("bad-data");
  ts.whoHas.delete(holder);
  holder.hasWhat.delete(ts);
  holder.nbytes -= ts.nbytes;
  s.outbox.free(holder, key);
  if (ts.whoHas.size === 0) s.transition(ts, "released", { workerGone: true });
  s.run();
  return "dropped";
}

/** A worker (or a client, when the event names no worker) reports bad bytes: judged, and told to the shell's log. */
export function badData(s: Core, e: BadDataEvent): void {
  const reader = e.worker === undefined ? null : (s.workers.get(e.worker) ?? null);
  if (reader === null && e.worker !== undefined) return; // gone meanwhile
  const outcome = accuse(s, reader, e.key, e.from);
  if (outcome === "ignored") return;
  const what = {
    banned: "banned it",
    dropped: "dropped it as a holder (trusted workers are never banned)",
    "not-believed": "not believed from an untrusted reader (it skips that holder)",
  }[outcome];
  const who = reader ? `worker ${reader.name}` : `client ${e.client ?? "?"}`;
  s.notice(
    "warn",
    `${who} says ${e.from} served bytes for ${e.key} that do not match the agreed digest: ${what}`,
    true,
  );
}
