// A packet is what a transport moves: the msgpack header (a batch of messages) and the raw
// frames that Serialized values in those messages point to.

import { ProtocolError } from "../errors.js";
import type { Message } from "./messages.js";
import { packWithFrames, unpackWithFrames } from "./msgpack.js";

export interface Packet {
  /** msgpack of Message[]; always a fresh buffer the packet owns. */
  header: Uint8Array;
  /** Out-of-band binary frames, referenced from the header by index. Views; not owned. */
  frames: Uint8Array[];
}

/** Encodes a batch of messages into one packet. Frames are not copied. */
export function encodePacket(messages: readonly Message[]): Packet {
  const frames: Uint8Array[] = [];
  const header = packWithFrames(messages, frames);
  return { header, frames };
}

/** Decodes a packet into its messages; a malformed packet throws ProtocolError. */
export function decodePacket(packet: Packet): Message[] {
  let decoded: unknown;
  try {
    decoded = unpackWithFrames(packet.header, packet.frames);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`undecodable packet: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(decoded)) throw new ProtocolError("packet header is not a list of messages");
  for (const m of decoded) {
    if (typeof m !== "object" || m === null || typeof (m as { op?: unknown }).op !== "string") {
      throw new ProtocolError("packet holds something that is not a message (no string `op`)");
    }
  }
  return decoded as Message[];
}

/** Total bytes of a packet on the wire. */
export function packetBytes(packet: Packet): number {
  let n = packet.header.byteLength;
  for (const f of packet.frames) n += f.byteLength;
  return n;
}
