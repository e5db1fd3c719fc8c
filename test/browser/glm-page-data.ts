// The data glm-page.ts fits in the page and glm-in-page.test.ts fits in Node: 200 rows × 3, no randomness.

export function glmPageData(): { X: number[][]; y: number[] } {
  const X = Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(1.7 * i), ((i * 7) % 13) / 13 - 0.5]);
  const y = X.map((r, i) => (r[0]! - 0.5 * r[1]! + r[2]! + 0.4 * Math.sin(11 * i) > 0 ? 1 : 0));
  return { X, y };
}
