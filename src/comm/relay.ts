// The relay transport, `relay://host:port/<slot>`: connections that go through the scheduler's
// HTTP server, for an end that cannot listen (a browser tab) or cannot be reached directly. The
// listening end keeps a control WebSocket open at `/relay-listen/<slot>`; a caller opens
// `/relay/<slot>`; the scheduler names the new pipe on the control socket, the listener opens
// `/relay-accept/<pipe>`, and the scheduler forwards messages between the two sockets as they are
// (node/servers/relay-hub.ts). Above the pipe, the data-plane handshake runs end to end as on any link, so
// the relay sees bytes it does not need to trust or understand.

import { ConnectError } from "../errors.js";
import { realmLogger } from "../log.js";
import { randomId } from "../util/ids.js";
import { SocketChannel, type SocketLike } from "./socket.js";
import type { Transport, TransportListener } from "./types.js";
import { openSocketChannel, socketOptions, type WsPlatform } from "./ws.js";

/** relay://host:port/slot → { base: "ws://host:port", slot }. `relays://` goes over wss. */
export function parseRelayAddress(address: string): { base: string; slot: string } {
  const m = /^(relays?):\/\/([^/]+)\/([\w-]+)$/.exec(address);
  if (!m) throw new ConnectError(`not a relay address: ${address} (expected relay://host:port/slot)`);
  return { base: `${m[1] === "relays" ? "wss" : "ws"}://${m[2]}`, slot: m[3]! };
}

/**
 * The relay's credential as a query: `relayToken` (a listener's worker or tab token; a caller's
 * data token). Browsers cannot set headers on a WebSocket, so it goes in the URL, which the hub
 * never logs.
 */
export function relayQuery(options: { [option: string]: unknown }): string {
  return typeof options["relayToken"] === "string" ? `?token=${encodeURIComponent(options["relayToken"])}` : "";
}

export function relayTransport(platform: Pick<WsPlatform, "open">, scheme: "relay" | "relays" = "relay"): Transport {
  return {
    scheme,

    connect(address, options) {
      const { base, slot } = parseRelayAddress(address);
      return openSocketChannel(platform, `${base}/relay/${slot}${relayQuery(options)}`, address, "relay", options);
    },

    async listen(address, onChannel, options): Promise<TransportListener> {
      // "relay://host:port" (no slot) or "relay://host:port/" picks a fresh slot.
      const full = /^relays?:\/\/[^/]+\/?$/.test(address) ? `${address.replace(/\/$/, "")}/${randomId(8)}` : address;
      const { base, slot } = parseRelayAddress(full);
      const control = (await platform.open(
        `${base}/relay-listen/${slot}${relayQuery(options)}`,
        options,
      )) as SocketLike & { addEventListener(type: "open", l: () => void): void };
      await new Promise<void>((resolve, reject) => {
        control.addEventListener("open", () => resolve());
        control.addEventListener("error", () =>
          reject(new ConnectError(`cannot listen at ${full}: the scheduler refused or is unreachable`)),
        );
        control.addEventListener("close", (e) =>
          reject(new ConnectError(`cannot listen at ${full}: ${String(e.reason) || `closed (code ${e.code})`}`)),
        );
      });
      let closed = false;
      control.addEventListener("message", (e) => {
        // The scheduler names a new pipe (text); open our end of it.
        const pipe = typeof e.data === "string" ? e.data : "";
        if (!/^[\w-]+$/.test(pipe) || closed) return;
        void (async () => {
          try {
            const socket = (await platform.open(`${base}/relay-accept/${pipe}`, options)) as SocketLike & {
              addEventListener(type: "open", l: () => void): void;
            };
            socket.addEventListener("open", () =>
              onChannel(
                new SocketChannel(socket, full, `relay-pipe-${pipe}`, "relay", {
                  ...socketOptions(options),
                  preHello: true,
                }),
              ),
            );
          } catch (err) {
            (options.logger ?? realmLogger).warn(
              `relay ${full}: could not accept pipe ${pipe}: ${(err as Error).message}`,
            );
          }
        })();
      });
      const controlClosed = new Promise<void>((resolve) => control.addEventListener("close", () => resolve()));
      return {
        address: full,
        async close() {
          closed = true;
          control.close(1000, "listener closed");
          await controlClosed; // the slot is free on the scheduler once this resolves
        },
      };
    },
  };
}
