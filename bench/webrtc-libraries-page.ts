// Browser side of bench/webrtc-libraries.mjs, which bundles it with esbuild (not part of the build).
// Each variant moves `bytes` in 64 KiB messages from the sending tab to the receiving tab over one
// ordered data channel. Times are epoch ms (timeOrigin + now), comparable between the two tabs.
// Raw and simple-peer signal through the bench's WebSocket relay (/signal?room=…), peerjs through
// its own PeerServer. The libraries are handed in by the bench's entry (install() below), so this
// file typechecks with the project's tsconfig whether or not they are installed (they are untyped
// here on purpose: simple-peer ships no types). The bench puts a `process`/`global` shim in front.
export {};
type Handler = (...args: never[]) => void;
type Emitter = { on(event: string, f: Handler): unknown; once(event: string, f: Handler): unknown; destroy(): void };
type SimplePeerLike = Emitter & {
  signal(d: unknown): void;
  send(c: Uint8Array): void;
  write(c: Uint8Array): boolean;
  _channel: RTCDataChannel | null;
  _pc: RTCPeerConnection;
};
type Connection = Emitter & {
  dataChannel: RTCDataChannel;
  peerConnection: RTCPeerConnection;
  bufferSize?: number;
  send(c: Uint8Array): void;
};
type PeerLike = Emitter & { connect(id: string, options?: object): Connection };
type Libs = {
  SimplePeer: new (options: object) => SimplePeerLike;
  Peer: new (id: string, options: object) => PeerLike;
};
let L: Libs;

const CHUNK = 64 * 1024;
const HIGH = 8 * 1024 * 1024 - 2 * CHUNK; // pause above this; peerjs queues (and polls every 50 ms) above 8 MiB
const LOW = 1024 * 1024;
const now = () => performance.timeOrigin + performance.now();
const event = (target: EventTarget, type: string) =>
  new Promise((res) => target.addEventListener(type, res, { once: true }));
type Opts = { variant: string; room: string; bytes: number; peerServer: { host: string; port: number } };
let pending: Promise<{ end: number; got: number }> | null = null;
let links: (() => void)[] = []; // what close() tears down, once the receiver has everything

/** A WebSocket to the other tab through the bench's relay; resolves once open. */
async function signaller(room: string) {
  const ws = new WebSocket(`ws://${location.host}/signal?room=${room}`);
  await event(ws, "open");
  return {
    ws,
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    on: <M>(f: (m: M) => void) => (ws.onmessage = (e) => f(JSON.parse(e.data) as M)),
  };
}
const gathered = (pc: RTCPeerConnection) =>
  new Promise<void>((res) =>
    pc.iceGatheringState === "complete"
      ? res()
      : pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && res()),
  );

/** Counts what arrives; resolves with the time of the last byte. */
function counter(bytes: number) {
  let got = 0;
  let done!: (r: { end: number; got: number }) => void;
  const promise = new Promise<{ end: number; got: number }>((r) => (done = r));
  const add = (d: ArrayBuffer | ArrayBufferView) => {
    got += d.byteLength;
    if (got >= bytes) done({ end: now(), got });
  };
  return { promise, add };
}

/** Sends `bytes` with `send`, pausing while `dc.bufferedAmount` (plus anything `queued`) is above `high`. */
async function pump(
  dc: RTCDataChannel,
  bytes: number,
  send: (c: Uint8Array<ArrayBuffer>) => void,
  queued = () => 0,
  high = HIGH,
) {
  const chunk = crypto.getRandomValues(new Uint8Array(CHUNK));
  dc.bufferedAmountLowThreshold = Math.min(LOW, high);
  const start = now();
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    while (dc.bufferedAmount > high || queued() > 0) {
      if (queued() > 0) await new Promise((r) => setTimeout(r, 5));
      else await event(dc, "bufferedamountlow");
    }
    send(chunk);
  }
  return start;
}

const peerjs = (id: string, o: Opts) =>
  new Promise<PeerLike>((res, rej) => {
    const p = new L.Peer(id, {
      host: o.peerServer.host,
      port: o.peerServer.port,
      path: "/",
      secure: false,
      debug: 0,
      config: { iceServers: [] },
    });
    p.on("open", () => res(p));
    p.on("error", rej);
  });

/** Receiving tab, step 1: connect to the signalling and wait for the sender. */
async function listen(o: Opts): Promise<void> {
  const c = counter(o.bytes);
  pending = c.promise;
  if (o.variant.startsWith("raw")) {
    const sig = await signaller(o.room);
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.ondatachannel = (e) => {
      e.channel.binaryType = "arraybuffer";
      e.channel.onmessage = (m) => c.add(m.data);
    };
    sig.on(async (offer: RTCSessionDescriptionInit) => {
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      sig.send(pc.localDescription);
    });
    links.push(
      () => pc.close(),
      () => sig.ws.close(),
    );
  } else if (o.variant.startsWith("simple-peer")) {
    const sig = await signaller(o.room);
    const p = new L.SimplePeer({ initiator: false, trickle: false, config: { iceServers: [] } });
    p.on("signal", (d) => sig.send(d));
    sig.on((d) => p.signal(d));
    p.on("data", (d: Uint8Array) => c.add(d));
    p.on("error", () => {});
    links.push(
      () => p.destroy(),
      () => sig.ws.close(),
    );
  } else {
    const p = await peerjs(`${o.room}-b`, o);
    p.on("connection", (conn: Connection) => conn.on("data", (d: ArrayBuffer) => c.add(d)));
    links.push(() => p.destroy());
  }
}

/** Receiving tab, step 2: the time the last byte arrived. */
const received = () => pending!;
/** Both tabs, after each run. */
const close = () => {
  for (const f of links) f();
  links = [];
};

/** Sending tab: connect, then send; resolves with the time the first message was handed over. */
async function send(o: Opts): Promise<number> {
  if (o.variant.startsWith("raw")) {
    const sig = await signaller(o.room);
    const pc = new RTCPeerConnection({ iceServers: [] });
    const dc = pc.createDataChannel("bench", { ordered: true });
    dc.binaryType = "arraybuffer";
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    sig.on((answer: RTCSessionDescriptionInit) => pc.setRemoteDescription(answer));
    sig.send(pc.localDescription);
    await event(dc, "open");
    links.push(
      () => pc.close(),
      () => sig.ws.close(),
    );
    return pump(dc, o.bytes, (c) => dc.send(c), undefined, o.variant === "raw-64KiB" ? CHUNK : HIGH);
  }
  if (o.variant.startsWith("simple-peer")) {
    const sig = await signaller(o.room);
    const p = new L.SimplePeer({ initiator: true, trickle: false, config: { iceServers: [] } });
    p.on("signal", (d) => sig.send(d));
    sig.on((d) => p.signal(d));
    p.on("error", () => {});
    links.push(
      () => p.destroy(),
      () => sig.ws.close(),
    );
    await new Promise((res) => p.once("connect", res));
    const dc = p._channel!;
    let start: number;
    if (o.variant === "simple-peer-send") start = await pump(dc, o.bytes, (c) => p.send(c));
    else {
      const chunk = crypto.getRandomValues(new Uint8Array(CHUNK));
      start = now();
      for (let sent = 0; sent < o.bytes; sent += CHUNK)
        if (!p.write(chunk)) await new Promise((r) => p.once("drain", r));
    }
    return start;
  }
  const p = await peerjs(`${o.room}-a`, o);
  links.push(() => p.destroy());
  const conn = p.connect(`${o.room}-b`, { serialization: o.variant.slice("peerjs-".length), reliable: true });
  await new Promise((res) => conn.once("open", res));
  return pump(
    conn.dataChannel,
    o.bytes,
    (c) => conn.send(c),
    () => conn.bufferSize ?? 0,
  );
}

/**
 * Can the library's RTCDataChannel be moved to a Web Worker? Chromium allows it only in the task
 * that created it (or fired `datachannel`), before any send. Tried on the creating side right after
 * the constructor / connect(), and on the answering side in a `datachannel` listener on the library's
 * RTCPeerConnection (added right after construction / in peerjs's "connection" event).
 */
async function transferProbe(peerServer: Opts["peerServer"]) {
  const port = new MessageChannel().port1;
  const tryIt = (dc: RTCDataChannel | undefined | null) => {
    if (!dc) return "no channel exposed at this point";
    try {
      port.postMessage(dc, [dc as unknown as Transferable]);
      return "transferred";
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  const pc = new RTCPeerConnection();
  const raw = tryIt(pc.createDataChannel("x"));
  pc.close();
  const a = new L.SimplePeer({ initiator: true, trickle: false, config: { iceServers: [] } });
  const b = new L.SimplePeer({ initiator: false, trickle: false, config: { iceServers: [] } });
  const spCreator = tryIt(a._channel);
  const spAnswer = new Promise<string>((res) =>
    b._pc.addEventListener("datachannel", (e: RTCDataChannelEvent) => res(tryIt(e.channel))),
  );
  a.on("signal", (d) => b.signal(d));
  b.on("signal", (d) => a.signal(d));
  const o = { peerServer, room: `probe${Date.now()}` } as Opts;
  const [pa, pb] = await Promise.all([peerjs(`${o.room}-a`, o), peerjs(`${o.room}-b`, o)]);
  const pjAnswer = new Promise<string>((res) =>
    pb.on("connection", (conn: Connection) => {
      const early = conn.dataChannel ? tryIt(conn.dataChannel) : null;
      conn.peerConnection.addEventListener("datachannel", (e) => res(early ?? tryIt(e.channel)));
    }),
  );
  const pjCreator = tryIt(pa.connect(`${o.room}-b`).dataChannel);
  const timeout = new Promise<string>((r) => setTimeout(() => r("no datachannel event within 5 s"), 5000));
  const out = {
    raw: { creator: raw },
    "simple-peer": { creator: spCreator, answerer: await Promise.race([spAnswer, timeout]) },
    peerjs: { creator: pjCreator, answerer: await Promise.race([pjAnswer, timeout]) },
  };
  a.destroy();
  b.destroy();
  pa.destroy();
  pb.destroy();
  return out;
}

export function install(libs: Libs): void {
  L = libs;
  Object.assign(globalThis, { bench: { listen, received, send, close, transferProbe } });
}
