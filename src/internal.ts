// Internals for platform entry points (node/, browser/) and tests. Not part of the public API.

export * from "./index.js";
export { Comm, type CloseInfo, type CommStats } from "./comm/comm.js";
export {
  connect,
  listen,
  registerTransport,
  knownSchemes,
  schemeOf,
  realmTransports,
  type Listener,
} from "./comm/registry.js";
export { inprocTransport, inprocHub, type HubLink, type HubMessage, type InprocOptions } from "./comm/inproc.js";
export { greet, welcome } from "./comm/handshake.js";
export { wsTransport, type WsPlatform } from "./comm/ws.js";
export { SocketChannel, type SocketLike, DEFAULT_CHUNK_BYTES } from "./comm/socket.js";
export { Requests } from "./comm/requests.js";
export type { Channel, Transport, TransportListener, TransportOptions, LinkKind } from "./comm/types.js";
export { DEFAULT_MAX_PACKET_BYTES } from "./comm/types.js";
export { encodePacket, decodePacket, type Packet } from "./protocol/packet.js";
export { toChunks, toChunkSources, preludeBytes, PIECE_BYTES, type ChunkSource } from "./protocol/framing.js";
export { PacketReader } from "./protocol/packet-reader.js";
export {
  decide,
  compressFrame,
  decompressFrame,
  sampleFrame,
  byteEntropy,
  compressorSpeed,
  CODEC_RAW,
  CODEC_DEFLATE,
  COMPRESS_MIN_BYTES,
  KEEP_RATIO,
  type CompressionMode,
  type Decision,
} from "./protocol/compression.js";
export { serialize, deserialize, measure } from "./protocol/serialize.js";
export { Serialized, TaskRef } from "./protocol/refs.js";
export { PROTOCOL_VERSION } from "./protocol/messages.js";
export type * from "./protocol/messages.js";
export { SchedulerState, type Instruction } from "./scheduler/state.js";
export { Adaptive, adaptiveTarget, workersToClose, type AdaptOptions, type Scalable } from "./scheduler/adaptive.js";
export { WorkerState } from "./worker/state.js";
export { defaultCodePlatform, type CodePlatform } from "./worker/code.js";
export { setClientPlatform, type ClientPlatform, type BundledModule } from "./client/platform.js";
export { describeFunction } from "./client/functions.js";
export { checkKnownOptions, isPlainObject, nearestName } from "./client/arguments.js";
export { log } from "./log.js";
export { randomId, hash64 } from "./util/ids.js";
export { digestOf } from "./protocol/digest.js";
export { Sha256 } from "./util/sha256.js";
export { Task, Literal, FutureNode, LayeredGraph, findRefs, substitute, type GraphNode } from "./graph/task.js";
export { order } from "./graph/order.js";
export { cull, fuse, optimize } from "./graph/optimize.js";
export { registerBuiltin, registerFuser, registerRepeatable, builtin } from "./graph/builtins.js";
export {
  prepare,
  COLLECTION,
  type PreparedGraph,
  type CollectionParts,
  type GraphScheduler,
} from "./graph/collection.js";
export { LocalScheduler, run, inThread } from "./client/local.js";
export {
  takeBuffer,
  holdBuffers,
  dropBuffers,
  exposeBuffers,
  bufferPoolStats,
  clearBufferPool,
  POOL_MIN_BYTES,
} from "./util/buffer-pool.js";
export {
  receiveBuffer,
  beginReceive,
  endReceive,
  receiveBufferStats,
  clearReceiveBuffers,
  setSpareBudget,
  ReceiveBuffers,
  realmReceiveBuffers,
  setReceiveAhead,
  SPARE_MIN_BYTES,
  MAX_SPARE_BYTES,
} from "./util/receive-buffers.js";
export { TicketKey, opener, openedBy, sha256 } from "./util/tickets.js";
