// The dashboard page: reads the client token from the link's fragment, streams frames from
// /dashboard/feed (newline-separated JSON, about one a second) and hands each to the panels. With
// no token or a wrong one it shows a message and nothing else.

import type { DashboardFrame } from "../../src/scheduler/telemetry.js";
import { legend, LINK_COLOURS, KIND_COLOURS, ERROR, SPILL, TRANSFER } from "./colors.js";
import { GraphPanel, STATE_LEGEND } from "./graph.js";
import { drawMesh, meshEdges, type MeshEdge } from "./mesh.js";
import { showStory } from "./story.js";
import { TaskStream } from "./stream.js";
import { PROGRESS_LEGEND, renderProgress, WorkersTable } from "./tables.js";

/** What tests (and the curious, in the console) can read: window.dashboard. */
interface Status {
  state: "connecting" | "live" | "refused" | "no-token" | "disconnected";
  message: string;
  frames: number;
  bars: number;
  workers: { id: string; name: string; kind: string; done: number }[];
  prefixes: { prefix: string; done: number; memory: number; processing: number; waiting: number }[];
  mesh: MeshEdge[];
  graph: { kind: string; total: number };
  /** The slowest of the recent task-stream draws, ms. */
  maxDrawMs: number;
  /** The slowest handling of a frame (parsing it, updating the tables and the panels' data), ms. */
  maxFrameMs: number;
  /** The slowest mesh or graph draw, ms. */
  maxPanelDrawMs: number;
  /** Milliseconds each recent frame took to handle (the newest last, at most 120), and the task stream's draws. */
  frameMs: number[];
  drawMs: number[];
}

const status: Status = {
  state: "connecting",
  message: "",
  frames: 0,
  bars: 0,
  workers: [],
  prefixes: [],
  mesh: [],
  graph: { kind: "graph", total: 0 },
  maxDrawMs: 0,
  maxFrameMs: 0,
  maxPanelDrawMs: 0,
  frameMs: [],
  drawMs: [],
};
(window as unknown as { dashboard: Status }).dashboard = status;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Nothing but the message: the panels stay hidden. */
function refuse(state: Status["state"], message: string): void {
  status.state = state;
  status.message = message;
  $("panels").hidden = true;
  const box = $("message");
  box.textContent = message;
  box.hidden = false;
  $("connection").textContent = state === "no-token" ? "no token" : "refused";
  $("connection").className = "down";
}

async function main(): Promise<void> {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) {
    return refuse(
      "no-token",
      "This dashboard needs the client token. Open the link the scheduler printed: it ends in /dashboard#token=…",
    );
  }
  const pick = (key: string) => void showStory(token, key);
  const stream = new TaskStream($("stream"), pick);
  const graph = new GraphPanel($("graph"), $("graph-note"), $("graph-summary"), pick);
  legend($("stream-legend"), [
    ["task (colour by prefix)", "hsl(120 60% 50%)"],
    ["transfer (fetched from a peer)", TRANSFER],
    ["spill", SPILL],
    ["error", ERROR],
  ]);
  legend($("progress-legend"), PROGRESS_LEGEND);
  legend($("mesh-legend"), [
    ...Object.entries(LINK_COLOURS).map(
      ([k, c]) => [`${k} link${k === "relay" ? " (dashed)" : ""}`, c] as [string, string],
    ),
    ...Object.entries(KIND_COLOURS).map(
      ([k, c]) => [k === "browser" ? "browser tab" : `${k} worker`, c] as [string, string],
    ),
  ]);
  legend($("graph-legend"), STATE_LEGEND);
  $("story-close").addEventListener("click", () => ($("story-panel").hidden = true));
  const table = new WorkersTable($<HTMLTableElement>("workers").tBodies[0]!);
  let latest: DashboardFrame | null = null;
  let edges: MeshEdge[] = [];
  let dirty = false;

  const onFrame = (frame: DashboardFrame) => {
    latest = frame;
    stream.update(frame);
    graph.update(frame.graph);
    edges = meshEdges(frame.workers, frame.links);
    table.update(frame.workers, frame.moreWorkers);
    renderProgress($("progress"), frame.progress);
    const running = frame.workers.reduce((s, w) => s + w.executing, 0);
    $("summary").textContent =
      `${frame.workers.length + frame.moreWorkers} workers · ${running} tasks running · ${frame.clients} client${frame.clients === 1 ? "" : "s"}${frame.barsLeftOut > 0 ? ` · task stream sampled (${frame.barsLeftOut} events left out last second)` : ""}`;
    status.frames++;
    status.bars = stream.total;
    status.workers = frame.workers.map((w) => ({ id: w.id, name: w.name, kind: w.kind, done: w.done }));
    status.prefixes = frame.progress.map((p) => ({
      prefix: p.prefix,
      done: p.done,
      memory: p.memory,
      processing: p.processing,
      waiting: p.waiting,
    }));
    status.mesh = edges;
    status.graph = { kind: frame.graph.kind, total: frame.graph.total };
    dirty = true;
  };

  // Canvases are drawn in animation frames: the stream scrolls smoothly; mesh and graph when data changed.
  const paint = () => {
    stream.draw();
    status.maxDrawMs = Math.max(...stream.drawMs);
    status.drawMs = stream.drawMs;
    if (dirty && latest) {
      // The mesh now, the graph in the next animation frame: no one task does both.
      const t0 = performance.now();
      drawMesh($("mesh"), latest.workers, edges);
      status.maxPanelDrawMs = Math.max(status.maxPanelDrawMs, performance.now() - t0);
      requestAnimationFrame(() => {
        const t1 = performance.now();
        graph.draw();
        status.maxPanelDrawMs = Math.max(status.maxPanelDrawMs, performance.now() - t1);
      });
      dirty = false;
    }
    setTimeout(() => requestAnimationFrame(paint), 200);
  };

  // Leaving the page ends the stream: a page kept in the back/forward cache would otherwise hold its
  // connection, and after six of them the browser opens no more to this origin (the page hung).
  const leaving = new AbortController();
  addEventListener("pagehide", () => leaving.abort());
  addEventListener("pageshow", (e) => {
    if (e.persisted) location.reload();
  });
  for (;;) {
    let res: Response;
    try {
      res = await fetch("/dashboard/feed", {
        headers: { authorization: `Bearer ${token}` },
        cache: "no-store",
        signal: leaving.signal,
      });
    } catch {
      // Unreachable or refused: said on the page, and tried again below.
      if (leaving.signal.aborted) return;
      status.state = "disconnected";
      $("connection").textContent = "scheduler unreachable; retrying";
      $("connection").className = "down";
      await new Promise((r) => setTimeout(r, 2_000));
      continue;
    }
    if (res.status === 401 || res.status === 403) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      return refuse(
        "refused",
        `The scheduler refused this dashboard: ${body.error ?? res.statusText}. Open the link the scheduler printed.`,
      );
    }
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      status.state = "disconnected";
      $("connection").textContent = `${body.error ?? `error ${res.status}`}; retrying`;
      await new Promise((r) => setTimeout(r, 5_000));
      continue;
    }
    status.state = "live";
    $("message").hidden = true;
    $("panels").hidden = false;
    $("connection").textContent = "live";
    $("connection").className = "";
    if (status.frames === 0) requestAnimationFrame(paint);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          const t0 = performance.now();
          onFrame(JSON.parse(line) as DashboardFrame);
          const took = performance.now() - t0;
          status.maxFrameMs = Math.max(status.maxFrameMs, took);
          status.frameMs.push(took);
          if (status.frameMs.length > 120) status.frameMs.shift();
        }
      }
    } catch (err) {
      if (leaving.signal.aborted) return;
      console.warn(`dashboard feed: ${(err as Error).message}`);
    }
    status.state = "disconnected";
    $("connection").textContent = "disconnected; reconnecting";
    $("connection").className = "down";
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

void main();
