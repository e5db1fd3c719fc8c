// Example 8, the page: meshwork as a client in a web page, with no bundler. The link's fragment
// (#scheduler=ws://…&token=…) says where the scheduler is and holds the client token: a fragment is
// never sent to a server, so the token stays out of request lines and logs. The page imports the
// ready-made bundle the scheduler serves at /meshwork.js, connects, and computes.

const out = document.querySelector("#out");
const show = (line) => (out.textContent += `${line}\n`);

const params = new URLSearchParams(location.hash.slice(1));
const scheduler = params.get("scheduler");
const token = params.get("token");
// The token stays in this page: take it out of the address bar (and so of history and bookmarks).
history.replaceState(null, "", location.pathname + location.search);

try {
  if (!scheduler || !token)
    throw new Error("open this page through the link main.ts prints (…/#scheduler=ws://…&token=…)");
  const { Client, array } = await import(new URL("/meshwork.js", scheduler.replace(/^ws/, "http")).href);
  const client = await Client.connect(scheduler, { token });
  show(`connected to ${scheduler}: ${(await client.workers()).length} workers`);

  // A few tasks: the functions travel as source, as from Node.
  const squares = client.map((x) => x * x, [1, 2, 3, 4, 5]);
  show(`squares: ${(await client.gather(squares)).join(", ")}`);
  const total = client.submit((xs) => xs.reduce((a, b) => a + b, 0), squares);
  show(`sum of squares: ${await total}`);

  // An array computation: a million numbers in ten chunks, reduced on the workers.
  const x = array.arange(1_000_000, { chunks: 100_000 });
  const mean = await x.mul(2).mean().compute({ scheduler: client });
  show(`mean of 2·arange(1e6): ${mean}`);

  // A large result is fetched from the worker holding it, through the scheduler (the page may
  // connect to the scheduler only): 800 kB of samples.
  const samples = await client.submit((n) => Float64Array.from({ length: n }, (_, i) => Math.sin(i) ** 2), 100_000);
  show(
    `fetched ${samples.length} samples from a worker, mean ${(samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(3)}`,
  );

  await client.close();
  show("done");
  document.body.dataset.state = "done";
} catch (err) {
  show(`failed: ${err.name}: ${err.message}`);
  document.body.dataset.state = "failed";
}
