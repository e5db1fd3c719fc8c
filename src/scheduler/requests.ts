// What clients ask the scheduler and get an answer to (Request → Reply): who holds keys and where
// to fetch them, where to scatter data (with the grants for it), the workers, a key's story (the
// scheduler's, or its workers'), progress watches, retirements. Queries read the state; uploading a module and retiring workers
// are events, handed back to the shell.

import type { Comm } from "../comm/comm.js";
import { errorToData, ProtocolError } from "../errors.js";
import type { Message, Request, RetireResult, UpdateData, WorkerStoryEntry } from "../protocol/messages.js";
import type { SchedulerEvent } from "./events.js";
import { type DataGrants, grantedScatter, locate, placeScatter } from "./grants.js";
import { ProgressWatches } from "./progress.js";
import { workerInfo } from "./queries.js";
import type { SchedulerState } from "./state.js";

export class Requests {
  /** Scatter placements granted to each client and not yet reported by update-data ("key\naddress"). */
  private readonly scatterGrants = new Map<string, Set<string>>();
  /** Turns scatters onto the next worker (round robin across calls). */
  private scatterTurn = 0;
  /** Clients' progress watches (progress.ts), by client connection. */
  private readonly progress: ProgressWatches;

  constructor(
    private readonly state: SchedulerState,
    private readonly grants: DataGrants,
    private readonly event: (e: SchedulerEvent) => void,
    private readonly retireWorkers: (workers: string[]) => Promise<RetireResult>,
    /** What each worker recorded of a key (worker-stories.ts): asked of the workers, so answered later. */
    private readonly workerStory: (clientId: string, key: string) => Promise<WorkerStoryEntry[]>,
  ) {
    this.progress = new ProgressWatches(state.tasks);
  }

  /** The entries of a client's update-data that it was granted (grants.ts). */
  granted(clientId: string, entries: UpdateData["entries"]): UpdateData["entries"] {
    return grantedScatter(clientId, entries, this.scatterGrants.get(clientId), this.grants.log);
  }

  /** Forgets a client that has gone. */
  forget(clientId: string): void {
    this.scatterGrants.delete(clientId);
  }

  answer(comm: Comm, m: Request, clientId: string): void {
    const s = this.state;
    let value: unknown;
    try {
      const what = m.what;
      switch (what.kind) {
        case "who-has":
          value = s.whoHas(what.keys);
          break;
        case "locate":
          value = locate(s, this.grants, clientId, what.keys);
          break;
        case "scatter": {
          let granted = this.scatterGrants.get(clientId);
          if (!granted) this.scatterGrants.set(clientId, (granted = new Set()));
          value = placeScatter(
            s,
            this.grants,
            clientId,
            what.keys,
            what.workers,
            what.broadcast === true,
            granted,
            this.scatterTurn++,
            what.private === true,
          );
          break;
        }
        case "workers":
          value = workerInfo(s);
          break;
        case "upload":
          this.event({ op: "upload-module", module: what.module });
          value = what.module.hash;
          break;
        case "story":
          value = s.storyOf(what.key);
          break;
        case "progress-watch":
          value = this.progress.watch(comm, what.keys);
          break;
        case "progress":
          value = this.progress.counts(comm, what.watch, what.end === true);
          break;
        case "worker-story":
          this.workerStory(clientId, what.key).then(
            (entries) => trySend(comm, { op: "reply", id: m.id, value: entries }),
            (err: unknown) => trySend(comm, { op: "reply", id: m.id, error: errorToData(err) }),
          );
          return;
        case "retire":
          void this.retireWorkers(what.workers).then((result) =>
            trySend(comm, { op: "reply", id: m.id, value: result }),
          );
          return;
        default:
          throw new ProtocolError(`unknown request "${(what as { kind: unknown }).kind}"`);
      }
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      trySend(comm, { op: "reply", id: m.id, error: errorToData(err) });
      return;
    }
    trySend(comm, { op: "reply", id: m.id, value });
  }
}

export function trySend(comm: Comm, msg: Message): void {
  if (!comm.isClosed) comm.send(msg);
}
