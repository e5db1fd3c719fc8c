// deep-eql (chai's deep equality) ships no types.
declare module "deep-eql" {
  export default function deepEqual(
    actual: unknown,
    expected: unknown,
    options?: { comparator?(actual: unknown, expected: unknown): boolean | null },
  ): boolean;
}
