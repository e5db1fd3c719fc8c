// Example 8: meshwork as a client inside a web page. This starts a cluster whose scheduler also
// listens on the network (and serves the browser-client bundle at /meshwork.js), serves the page
// of this folder (index.html, app.js) from a second origin, and prints the page's link: the
// scheduler's address and the client token go in its fragment. Open it; the page computes and
// shows its results. Ctrl-C stops both.
//
//   npx tsx examples/08-browser-client/main.ts

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { LocalCluster } from "meshwork";

const token = randomBytes(16).toString("hex");
const cluster = await LocalCluster.start({ workers: 2, token, page: true });
const scheduler = cluster.networkAddress!; // ws://127.0.0.1:<port>
const schedulerHttp = new URL(scheduler.replace(/^ws/, "http")).origin;

// The page's own server: a strict Content-Security-Policy (scripts from here and the scheduler,
// connections to the scheduler only, no eval), which the client bundle runs under.
const csp = `default-src 'self'; script-src 'self' ${schedulerHttp}; connect-src ${scheduler}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
const files: Record<string, [string, string]> = {
  "/": ["text/html; charset=utf-8", "index.html"],
  "/app.js": ["text/javascript; charset=utf-8", "app.js"],
};
const server = createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://page").pathname;
  if (path === "/favicon.ico") return void res.writeHead(204).end(); // no icon, and no error in the console
  const file = files[path];
  if (!file) return void res.writeHead(404).end("not found\n");
  res.writeHead(200, { "content-type": file[0], "content-security-policy": csp, "referrer-policy": "no-referrer" });
  res.end(readFileSync(new URL(file[1], import.meta.url)));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

console.log(`open http://127.0.0.1:${port}/#scheduler=${encodeURIComponent(scheduler)}&token=${token}`);

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await cluster.close();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
