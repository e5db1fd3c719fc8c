// Request/reply over one Comm: numbered requests whose promises always settle, with the reply,
// or with CommClosedError when the connection closes first.

import { CommClosedError, errorFromData, type ErrorData } from "../errors.js";
import type { Comm } from "./comm.js";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class Requests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly comm: Comm) {
    void comm.closed.then((info) => {
      const err = new CommClosedError(`connection to ${comm.peerAddress} closed before the reply: ${info.reason}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /** Sends the message `make(id)` and resolves with the reply settled for that id. */
  request<T>(make: (id: number) => Parameters<Comm["send"]>[0]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.comm.isClosed) {
        reject(new CommClosedError(`connection to ${this.comm.peerAddress} is closed`));
        return;
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.comm.send(make(id));
      } catch (err) {
        this.pending.delete(id);
        reject(err as Error);
      }
    });
  }

  /** Settles request `id` with a value or a remote error. Unknown ids are ignored (already settled). */
  settle(id: number, value: unknown, error?: ErrorData): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (error) p.reject(errorFromData(error));
    else p.resolve(value);
  }

  get size(): number {
    return this.pending.size;
  }
}
