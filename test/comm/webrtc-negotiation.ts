// What WebRTC negotiation must do on every platform, over real data channels: channels between a
// pair share one peer connection; glare; refusal; timeouts; early ICE candidates. Run in Node
// (webrtc.test.ts, node-datachannel) and in Chromium (test/web/webrtc.web.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Channel,
  ConnectError,
  TimeoutError,
  Comm,
  greet,
  welcome,
  PROTOCOL_VERSION,
} from "../../src/internal.js";
import { RtcHost, type RtcSignal } from "../../src/comm/rtc-host.js";
import { muteRelay, type RtcEnds } from "../helpers/rtc.js";
import { waitFor } from "../helpers/wait-for.js";

export function webrtcNegotiation(name: string, ends: RtcEnds): void {
  const rtcEnd = ends.end;
  describe(`${name}: negotiation`, { timeout: 30_000 }, () => {
    test("channels between two ends share one peer connection, whichever end opens them", async () => {
      const a = rtcEnd("webrtc://a1");
      const b = rtcEnd("webrtc://b1");
      const accepted: Channel[] = [];
      a.link.onChannel = (c) => accepted.push(c);
      b.link.onChannel = (c) => accepted.push(c);
      try {
        const ab1 = await a.link.dial("webrtc://b1", 5_000);
        const ab2 = await a.link.dial("webrtc://b1", 5_000);
        const ba = await b.link.dial("webrtc://a1", 5_000);
        assert.equal(ab1.kind, "webrtc");
        const offers = [...a.seen, ...b.seen].filter((m) => m.rtc === "signal-out" && m.data.kind === "offer");
        assert.equal(offers.length, 1, "one offer: the later channels reuse the connection");
        await waitFor(() => accepted.length === 3);
        for (const c of [ab1, ab2, ba, ...accepted]) c.close("done");
      } finally {
        a.close();
        b.close();
      }
    });

    test("glare: both ends dial each other at once and both get working channels on one connection", async () => {
      // Signals are held until both ends have offered, so the offers cross.
      const held: (() => void)[] = [];
      let offers = 0;
      const relay = (_to: string, data: RtcSignal, pass: () => void) => {
        if (offers >= 2) return pass();
        held.push(pass);
        if (data.kind === "offer" && ++offers === 2) for (const p of held.splice(0)) p();
      };
      const a = rtcEnd("webrtc://glare-a", {}, relay);
      const b = rtcEnd("webrtc://glare-b", {}, relay);
      const accepted: Comm[] = [];
      for (const e of [a, b]) e.link.onChannel = (c) => void serve(new Comm(c), accepted);
      try {
        const [ab, ba] = await Promise.all([
          a.link.dial("webrtc://glare-b", 5_000),
          b.link.dial("webrtc://glare-a", 5_000),
        ]);
        const offers = [...a.seen, ...b.seen].filter((m) => m.rtc === "signal-out" && m.data.kind === "offer");
        assert.equal(offers.length, 2, "both offered");
        const answers = [...a.seen, ...b.seen].filter((m) => m.rtc === "signal-out" && m.data.kind === "answer");
        assert.equal(answers.length, 1, "one answered: the other offer lost");
        for (const ch of [ab, ba]) {
          const c = new Comm(ch);
          const w = await greet(c, { role: "peer", name: "t" });
          assert.equal(w.version, PROTOCOL_VERSION);
          c.close("done");
        }
      } finally {
        for (const c of accepted) c.close("done");
        a.close();
        b.close();
      }
    });

    test("a peer nobody knows is refused at once with ConnectError", async () => {
      const a = rtcEnd("webrtc://lonely");
      try {
        const t0 = performance.now();
        await assert.rejects(
          a.link.dial("webrtc://nobody", 5_000),
          (e: unknown) => e instanceof ConnectError && /nobody at webrtc:\/\/nobody/.test((e as Error).message),
        );
        assert.ok(performance.now() - t0 < 2_000);
      } finally {
        a.close();
      }
    });

    test("a connection that cannot be made times out, and the host gives it up", async () => {
      const a = rtcEnd("webrtc://mute-a", { connectTimeoutMs: 800 }, muteRelay);
      const b = rtcEnd("webrtc://mute-b", { connectTimeoutMs: 800 }, muteRelay);
      try {
        await assert.rejects(a.link.dial("webrtc://mute-b", 400), TimeoutError);
        await assert.rejects(
          a.link.dial("webrtc://mute-b", 5_000),
          (e: unknown) => e instanceof ConnectError && /no connection within 800 ms/.test((e as Error).message),
        );
      } finally {
        a.close();
        b.close();
      }
    });

    test("candidates that arrive before the remote description are held, then used", async () => {
      // Signals from b to a are delayed so that candidates overtake nothing but arrive in a burst;
      // the reverse is reordered so a's candidates reach b before a's offer has been applied.
      const made = await ends.platform.load();
      const delivered: string[] = [];
      const hosts: Record<string, RtcHost> = {};
      const mk = (self: string) =>
        (hosts[self] = new RtcHost({
          self,
          createPeerConnection: () => made({}),
          signal: (to, data) => {
            // Candidates go at once, descriptions after 50 ms: every candidate is early.
            const go = () => hosts[to]!.signal(self, data);
            if (data.kind === "candidate") go();
            else setTimeout(go, 50);
          },
          deliver: (d) => {
            d.channel.addEventListener("open", () => delivered.push(`${self}→${d.peer}`));
          },
          failed: (id, reason) => delivered.push(`failed ${id}: ${reason}`),
        }));
      mk("x");
      mk("y");
      try {
        hosts["x"]!.dial(1, "y");
        await waitFor(() => delivered.length >= 2);
        assert.deepEqual(delivered.sort(), ["x→y", "y→x"]);
      } finally {
        hosts["x"]!.close();
        hosts["y"]!.close();
      }
    });
  });
}

async function serve(comm: Comm, list: Comm[]): Promise<void> {
  list.push(comm);
  await welcome(comm, () => ({ id: "s" }));
}
