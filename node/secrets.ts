// Node's comparison of secrets: SHA-256 digests of both (equal length whatever was presented),
// compared with crypto.timingSafeEqual. Injected into schedulers and workers started from Node.

import { createHash, timingSafeEqual } from "node:crypto";
import type { SecretCompare } from "../src/util/secret.js";

export const timingSafeSecretEquals: SecretCompare = (given, expected) => {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
};
