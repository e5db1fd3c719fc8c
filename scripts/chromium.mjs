// Debian's Chromium as every browser test and benchmark launches it: where it is, and the flags
// this machine needs (headless as root, no network chatter, plain-address WebRTC candidates).
// Callers add a fresh --user-data-dir, or let puppeteer make a temporary profile.

import { existsSync } from "node:fs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or false if they can. In CI a missing browser is a failure, not a skip. */
export function chromiumMissing() {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)`);
  return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // WebRTC host candidates as plain addresses, not mDNS names (which need multicast).
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];
