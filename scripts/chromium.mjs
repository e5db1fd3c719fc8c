// Debian's Chromium as every browser test and benchmark launches it: where it is, and the flags
// this machine needs (headless as root, no network chatter, plain-address WebRTC candidates).
// Callers add a fresh --user-data-dir, or let puppeteer make a temporary profile.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

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
