// Comparing a presented token with the expected one without leaking, through timing, how much of
// it matched. Node injects crypto.timingSafeEqual over SHA-256 digests (node/platform/secrets.ts); this
// portable fallback runs in time that depends only on the expected secret's length.

/** Whether `given` is the secret `expected`. */
export type SecretCompare = (given: string, expected: string) => boolean;

/** Constant-time (in the expected secret's length) comparison in plain JavaScript. */
export const portableSecretEquals: SecretCompare = (given, expected) => {
  let diff = given.length ^ expected.length;
  const n = given.length || 1;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i % n) | 0) ^ expected.charCodeAt(i);
  return diff === 0;
};

/** `given` (from the wire: any type) matches one of the secrets that are set. */
export function matches(compare: SecretCompare, given: unknown, expected: string | undefined): boolean {
  return expected !== undefined && typeof given === "string" && compare(given, expected);
}
