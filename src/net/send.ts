/**
 * The outbound side of an authenticated link. A message is a msgpack header
 * frame and, when its payload is not empty, one raw payload frame; both
 * leave in one writev (socket corked around them) during the send() call,
 * and the payload frame is the caller's memory, not a copy (unless `copy`).
 * Here too: the per-tag send sequence, the depth an online message carries
 * for the peer's round clock, the sent-traffic counters, and flush(), which
 * waits until ws has handed every sent frame to the socket. Kept apart from
 * mesh.ts so the hot path and its byte accounting read in one place.
 */
import { MAX_TAG_LENGTH, encodeMsgHeader, wsFramingOverhead, type MsgHeader } from './frames.js';
import type { PeerLink } from './links.js';
import { MeshError } from './sockets.js';
import type { PartyId, SendOptions, TrafficClass } from './types.js';

/** What the send path needs of the mesh node. */
export interface SendHost {
  readonly self: PartyId;
  readonly closing: boolean;
  /** The round clock (online messages carry clock + 1, or basis + 1). */
  readonly clock: number;
  readonly maxPayloadBytes: number;
  readonly maxHeaderBytes: number;
}

export function sendMessage(host: SendHost, link: PeerLink, tag: string, payload: ArrayBufferView | null, opts: SendOptions | undefined): void {
  const to = link.id;
  if (host.closing) throw new MeshError(`P${host.self}: send '${tag}' to P${to} after close()`, to, 'closed');
  if (link.state === 'failed') throw link.error!;
  if (link.state === 'bye') throw new MeshError(`P${to} has closed the session; cannot send '${tag}'`, to, 'closed');
  if (link.state !== 'open' || !link.ws) throw new MeshError(`P${host.self} is not connected to P${to}`, to, 'connect');
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
    throw new Error(`tag must be a string of 1..${MAX_TAG_LENGTH} characters`);
  }
  const cls: TrafficClass = opts?.cls ?? 'online';
  if (cls !== 'online' && cls !== 'dealer') throw new Error(`unknown traffic class ${String(cls)}`);
  let bytes: Buffer | null = null;
  if (payload !== null && payload !== undefined) {
    if (!ArrayBuffer.isView(payload)) throw new Error('payload must be an ArrayBufferView or null');
    // A view over the caller's memory: no copy (unless asked for).
    bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (opts?.copy) bytes = Buffer.from(bytes);
    if (bytes.byteLength > host.maxPayloadBytes) {
      throw new Error(`payload of ${bytes.byteLength} bytes exceeds maxPayloadBytes ${host.maxPayloadBytes}`);
    }
  }
  const seq = link.sendSeq.get(tag) ?? 0;
  const hdr: MsgHeader = { k: 'msg', t: tag, s: seq, n: bytes === null ? null : bytes.byteLength, c: cls, d: cls === 'online' ? depthFor(host.clock, opts?.basis) : 0 };
  if (opts?.meta !== undefined) hdr.m = opts.meta;
  const head = encodeMsgHeader(hdr);
  if (head.byteLength > host.maxHeaderBytes) {
    throw new Error(`header of '${tag}' is ${head.byteLength} bytes (meta too large; maxHeaderBytes ${host.maxHeaderBytes})`);
  }
  link.sendSeq.set(tag, seq + 1);
  const ws = link.ws;
  // Header and payload frames leave in one writev (one wake-up of the peer),
  // right now: corking past this call would hold data back while the caller
  // computes before its next await.
  const tcp = link.tcp;
  tcp?.cork();
  try {
    link.outstanding++;
    ws.send(head, { binary: true }, link.onSent);
    if (bytes !== null && bytes.byteLength > 0) {
      link.outstanding++;
      ws.send(bytes, { binary: true }, link.onSent);
    }
  } finally {
    tcp?.uncork();
  }
  const masked = link.weDial;
  const c = link.counters[cls];
  c.messagesSent++;
  c.frameBytesSent += head.byteLength + wsFramingOverhead(head.byteLength, masked);
  if (bytes !== null && bytes.byteLength > 0) {
    c.payloadBytesSent += bytes.byteLength;
    c.frameBytesSent += bytes.byteLength + wsFramingOverhead(bytes.byteLength, masked);
  }
}

/** Depth of an online message: one past the clock value its content depends on. */
function depthFor(clock: number, basis: number | undefined): number {
  if (basis === undefined) return clock + 1;
  if (!Number.isInteger(basis) || basis < 0 || basis > clock) {
    throw new RangeError(`send basis ${basis} must be an integer in [0, ${clock}] (the round clock)`);
  }
  return basis + 1;
}

/** Resolves once every frame sent so far has been written to its socket; rejects if a link with frames in flight failed. */
export function flushLinks(links: ReadonlyArray<PeerLink | null>): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const link of links) {
    if (!link || link.outstanding === 0) continue;
    if (link.state === 'failed') {
      waits.push(Promise.reject(link.error!));
      continue;
    }
    waits.push(new Promise<void>((resolve, reject) => link.drainWaiters.push({ resolve, reject })));
  }
  return Promise.all(waits).then(() => undefined);
}
