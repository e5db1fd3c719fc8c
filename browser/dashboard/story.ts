// The story of one key: every transition the scheduler still remembers for it (scheduler/story.ts),
// fetched on demand with the dashboard's token.

import type { StoryEntry } from "../../src/scheduler/story.js";

export async function showStory(token: string, key: string): Promise<void> {
  const panel = document.getElementById("story-panel")!;
  const tbody = document.querySelector<HTMLTableSectionElement>("#story tbody")!;
  document.getElementById("story-key")!.textContent = key;
  panel.hidden = false;
  tbody.replaceChildren();
  const res = await fetch(`/dashboard/story?key=${encodeURIComponent(key)}`, {
    headers: { authorization: `Bearer ${token}` },
    cache: "no-store",
  });
  const body = (await res.json()) as { entries?: StoryEntry[]; leftOut?: number; now?: number; error?: string };
  if (!res.ok || !body.entries) {
    const tr = document.createElement("tr");
    tr.textContent = body.error ?? `error ${res.status}`;
    tbody.append(tr);
    return;
  }
  const now = body.now ?? 0;
  const rows = body.entries.map((e) => {
    const tr = document.createElement("tr");
    for (const text of [`${((e.time - now) / 1000).toFixed(3)} s`, e.start, e.finish, e.stimulus, e.note ?? ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    tr.textContent = "the scheduler remembers nothing of this key (forgotten long ago, or never seen)";
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  panel.scrollIntoView({ block: "nearest" });
}
