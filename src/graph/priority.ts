// Task priorities: arrays compared element by element, lower first. The client builds them as
// [-userPriority, submission generation, order within the submission].

/** Lexicographic comparison of priorities (negative: `a` runs first). */
export function comparePriority(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
