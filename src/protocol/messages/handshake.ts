// The handshake: the first message each way on every connection (hello; welcome or refused).

import type { Resources, Role, WorkerKind } from "./common.js";

export interface Hello {
  op: "hello";
  version: number;
  role: Role;
  token?: string | undefined;
  /** Worker role: what the worker offers. */
  worker?: WorkerHello | undefined;
  name?: string | undefined;
  /** Frame codecs this end can decode (e.g. ["deflate"]); the other end compresses only with these. */
  codecs?: string[] | undefined;
}

export interface WorkerHello {
  /** Where peers and clients reach this worker's data server. */
  address: string;
  kind: WorkerKind;
  nthreads: number;
  memoryLimit: number;
  resources: Resources;
  name: string;
  /**
   * Threads of one `meshwork worker` process share a group id; with `adapt`, the scheduler grows
   * the group (scale-up) and retires its threads with the work, within these bounds.
   */
  group?: { id: string; adapt?: { minimum: number; maximum: number } | undefined } | undefined;
  /** The worker can make WebRTC data links (its host has RTCPeerConnection). */
  webrtc?: boolean | undefined;
}

export interface Welcome {
  op: "welcome";
  version: number;
  /** The id the scheduler gave this client or worker. */
  id: string;
  /** Frame codecs this end can decode. */
  codecs?: string[] | undefined;
  /**
   * From a scheduler that requires tokens: this client's or worker's own credential, which the
   * relay asks callers for (void once it leaves). It opens no data server by itself: reading or
   * storing a key there takes a ticket (see dataSecret).
   */
  dataToken?: string | undefined;
  /**
   * To a worker, from a scheduler that requires tokens: its own data secret. Its data server serves
   * a key only to a reader presenting the ticket the scheduler made with this secret for that
   * reader and key (util/tickets.ts, scheduler/grants.ts).
   */
  dataSecret?: string | undefined;
  /**
   * With dataSecret: the scheduler's clock (milliseconds) when it welcomed this worker. Tickets
   * expire at a time on that clock; the worker's data server compares with its own clock plus the
   * difference it saw here (so the two machines' clocks need not agree).
   */
  clock?: number | undefined;
  /** To a worker: how to make WebRTC links in this cluster (ICE servers for networks with NAT). */
  rtc?: RtcConfig | undefined;
  /** From a worker's data server: that worker's name (the worker page names its peers by it). */
  name?: string | undefined;
  /** To a client: the dashboard's link (with the client token in its fragment), when the scheduler serves one. */
  dashboard?: string | undefined;
}

/** The part of RTCConfiguration a cluster sets for its workers' WebRTC links. */
export interface RtcConfig {
  /** STUN and TURN servers. Default none: host candidates only, enough on one machine or LAN. */
  iceServers?:
    | { urls: string | string[]; username?: string | undefined; credential?: string | undefined }[]
    | undefined;
  /** "relay": only through TURN servers. Default "all". */
  iceTransportPolicy?: "all" | "relay" | undefined;
}

export interface Refused {
  op: "refused";
  version: number;
  reason: string;
}

export type HandshakeMsg = Hello | Welcome | Refused;
