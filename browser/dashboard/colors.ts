// Colours the panels share: one per task prefix (function name or collection layer), from a hash so
// a prefix keeps its colour across frames and tabs; fixed ones for transfers, spills, errors and link kinds.

export const TRANSFER = "#e0403a";
export const SPILL = "#8e5cc4";
export const ERROR = "#111";
export const WAITING = "#dcdcdc";

export const LINK_COLOURS: Record<string, string> = {
  port: "#8a8a8a",
  ws: "#2f6db5",
  webrtc: "#1f9e4a",
  relay: "#d9412b",
};
export const KIND_COLOURS: Record<string, string> = { thread: "#4a7fb5", node: "#3f9a5a", browser: "#e08a1e" };

const cache = new Map<string, string>();

/** A stable colour for a task prefix: hues from yellow to blue (reds and purples mean transfer, spill). */
export function prefixColour(prefix: string): string {
  let c = cache.get(prefix);
  if (c === undefined) {
    let h = 2166136261;
    for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), 16777619);
    const hue = 35 + ((h >>> 0) % 200);
    const light = 45 + ((h >>> 8) % 3) * 7;
    c = `hsl(${hue} 60% ${light}%)`;
    if (cache.size > 5_000) cache.clear();
    cache.set(prefix, c);
  }
  return c;
}

/** A canvas sized to its CSS box at the device's pixel ratio; returns its context and size in CSS pixels. */
export function fitCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function legend(element: HTMLElement, entries: [string, string][]): void {
  element.replaceChildren(
    ...entries.map(([label, colour]) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.append(swatch, label);
      return item;
    }),
  );
}

/** The tooltip under the pointer; `text` null hides it. */
export function tooltip(text: string | null, x = 0, y = 0): void {
  const tip = document.getElementById("tooltip")!;
  if (text === null) {
    tip.hidden = true;
    return;
  }
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 12, window.innerWidth - tip.offsetWidth - 8)}px`;
  tip.style.top = `${y + 14}px`;
}
