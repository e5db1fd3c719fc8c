// WebRTC signalling between two workers' hosts, carried by the scheduler: a worker's rtc-signal
// names the other worker's data-server address, and the scheduler passes it on as it is.

import type { Comm } from "../comm/comm.js";
import type { RtcSignalMessage } from "../protocol/messages.js";
import type { SchedulerState } from "./state.js";

/**
 * Passes the signal from the worker at `from` to the worker at `m.to`. The scheduler answers
 * "refused" for a peer that is gone or cannot do WebRTC, so the sender falls back to another link
 * at once rather than after a timeout.
 */
export function passSignal(
  state: SchedulerState,
  workers: ReadonlyMap<string, Comm>,
  sender: Comm,
  from: string,
  m: RtcSignalMessage,
): void {
  const target = m.to === undefined ? undefined : state.workerAt(m.to);
  const comm = target && workers.get(target.id);
  if (comm && target.webrtc) return comm.send({ op: "rtc-signal", from, data: m.data });
  if (m.data.kind === "refused" || m.data.kind === "bye") return;
  const reason = !target ? `no worker at ${String(m.to)}` : `${target.name} cannot make WebRTC links`;
  sender.send({ op: "rtc-signal", from: m.to, data: { pc: m.data.pc, kind: "refused", reason } });
}
