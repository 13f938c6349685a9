/**
 * The inbound side of an authenticated link: what arrives on the peer's
 * socket and how it reaches recv(). Every ws message is checked against the
 * frame rules (frames.ts): a header frame, then its payload frame when it
 * announces one; a complete message goes to the oldest recv() waiting on
 * its tag, or into that tag's queue. Handing a message to recv() (`take`)
 * is what counts it as received and advances the round clock, so a peer
 * running ahead cannot leak its next step into this step's numbers. A
 * broken frame, a socket error or a close without bye fails the link; a
 * bye ends it in order. Kept apart from mesh.ts because this is the path
 * every byte from a peer takes: one place to read for what a peer can do.
 */
import type WebSocket from 'ws';
import { FrameError, alignedPayload, decodeHeader, peerQuoted, peerText, wsFramingOverhead, type MsgHeader } from './frames.js';
import type { Envelope, PeerLink, Waiter } from './links.js';
import { CLOSE_POLICY, MeshError, asBuffer, closeWith, problemOf } from './sockets.js';
import type { Message } from './types.js';

/** What the receive path needs of the mesh node. */
export interface ReceiveHost {
  readonly closing: boolean;
  readonly maxHeaderBytes: number;
  readonly maxPayloadBytes: number;
  readonly recvTimeoutMs: number;
  /** True until connect() has resolved: a peer lost then is named as lost during the start. */
  readonly starting: boolean;
  /** The round clock: raised to the depth of every online message taken. */
  clock: number;
  /** The link is dead: every pending and future recv from it rejects, onFatal fires. */
  failLink(link: PeerLink, err: MeshError, dropQueued: boolean): void;
}

/** Route the socket events of a freshly authenticated link to this file. */
export function listenToLink(host: ReceiveHost, link: PeerLink, ws: WebSocket): void {
  ws.on('message', (data, isBinary) => onFrame(host, link, data, isBinary));
  ws.on('error', (err) => onSocketError(host, link, err));
  ws.on('close', (code, reason) => onSocketClose(host, link, code, reason));
}

/**
 * recv() on a live node: the oldest queued message for the tag, or a wait
 * for the next one (bounded by recvTimeoutMs unless `idle`).
 */
export function receive(host: ReceiveHost, link: PeerLink, tag: string, idle: boolean | undefined): Promise<Message> {
  const box = link.getInbox(tag);
  const env = box.queue.shift();
  if (env) return Promise.resolve(take(host, link, env));
  if (link.state === 'failed') return Promise.reject(link.error!);
  if (link.state === 'bye') return Promise.reject(byeError(link, tag));
  return new Promise<Message>((resolve, reject) => {
    const w: Waiter = {
      resolve,
      reject,
      timer: idle ? undefined : setTimeout(() => {
        const i = box.waiters.indexOf(w);
        if (i >= 0) box.waiters.splice(i, 1);
        reject(new MeshError(`timed out after ${host.recvTimeoutMs} ms waiting for '${tag}' from P${link.id}`, link.id, 'timeout'));
      }, host.recvTimeoutMs),
    };
    box.waiters.push(w);
  });
}

function onFrame(host: ReceiveHost, link: PeerLink, data: WebSocket.RawData, isBinary: boolean): void {
  if (link.state === 'failed' || host.closing) return;
  try {
    if (!isBinary) throw new FrameError('text frame (only binary frames are allowed)');
    const buf = asBuffer(data);
    if (link.state === 'bye') throw new FrameError('frame after bye');
    const h = link.pendingHeader;
    if (h !== null) {
      if (buf.byteLength !== h.n) throw new FrameError(`payload of ${buf.byteLength} bytes but its header announced ${h.n}`);
      link.pendingHeader = null;
      arrived(host, link, h, link.pendingHeaderBytes, alignedPayload(buf));
      return;
    }
    if (buf.byteLength > host.maxHeaderBytes) {
      throw new FrameError(`header frame of ${buf.byteLength} bytes exceeds maxHeaderBytes ${host.maxHeaderBytes} (stray payload?)`);
    }
    const hdr = decodeHeader(buf, host.maxPayloadBytes);
    if (hdr.k === 'bye') {
      peerSaidBye(link);
      return;
    }
    const box = link.getInbox(hdr.t);
    if (hdr.s !== box.nextSeq) {
      throw new FrameError(`seq ${hdr.s} for tag ${peerQuoted(hdr.t)} where ${box.nextSeq} was expected`);
    }
    box.nextSeq++;
    if (hdr.n !== null && hdr.n > 0) {
      link.pendingHeader = hdr;
      link.pendingHeaderBytes = buf.byteLength;
      return;
    }
    arrived(host, link, hdr, buf.byteLength, hdr.n === 0 ? new Uint8Array(0) : null);
  } catch (e) {
    malformed(host, link, problemOf(e));
  }
}

function arrived(host: ReceiveHost, link: PeerLink, h: MsgHeader, headerBytes: number, payload: Uint8Array | null): void {
  const masked = !link.weDial; // the peer dialed us: its frames are masked
  const plen = payload === null ? 0 : payload.byteLength;
  let frameBytes = headerBytes + wsFramingOverhead(headerBytes, masked);
  if (plen > 0) frameBytes += plen + wsFramingOverhead(plen, masked);
  const env: Envelope = { msg: { tag: h.t, seq: h.s, meta: h.m, payload, depth: h.d }, depth: h.d, cls: h.c, frameBytes };
  const box = link.getInbox(h.t);
  const w = box.waiters.shift();
  if (w) {
    clearTimeout(w.timer);
    w.resolve(take(host, link, env));
  } else {
    box.queue.push(env);
  }
}

/**
 * Hand a message to recv(). This is when it advances the round clock and
 * when it is counted as received: a peer running ahead cannot leak its
 * next messages into the traffic this party attributes to the current step.
 */
function take(host: ReceiveHost, link: PeerLink, env: Envelope): Message {
  if (env.cls === 'online' && env.depth > host.clock) host.clock = env.depth;
  const c = link.counters[env.cls];
  c.messagesReceived++;
  c.payloadBytesReceived += env.msg.payload === null ? 0 : env.msg.payload.byteLength;
  c.frameBytesReceived += env.frameBytes;
  return env.msg;
}

function malformed(host: ReceiveHost, link: PeerLink, problem: string): void {
  const err = new MeshError(`malformed frame from P${link.id}: ${problem}`, link.id, 'malformed');
  host.failLink(link, err, true);
  if (link.ws) closeWith(link.ws, CLOSE_POLICY, err.message);
}

function onSocketError(host: ReceiveHost, link: PeerLink, err: Error & { code?: string }): void {
  if (link.state === 'failed' || link.state === 'bye' || host.closing) return;
  // ws's own frame parser errors (bad opcode, over maxPayload, ...) carry WS_ERR_* codes.
  if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
    malformed(host, link, err.message);
    return;
  }
  host.failLink(link, disconnected(host, link, err.message), false);
  link.ws?.terminate();
}

function onSocketClose(host: ReceiveHost, link: PeerLink, code: number, reason: Buffer): void {
  if (link.state === 'failed' || link.state === 'bye' || host.closing) return;
  const r = peerText(reason.toString());
  host.failLink(link, disconnected(host, link, `code ${code}${r ? `: ${r}` : ''}`), false);
}

/** A loss before connect() resolved also ends connect() (mesh.ts): say so, it is no mid-run failure. */
function disconnected(host: ReceiveHost, link: PeerLink, detail: string): MeshError {
  return new MeshError(`P${link.id} disconnected${host.starting ? ' during the start' : ''} (${detail})`, link.id, 'disconnected');
}

function peerSaidBye(link: PeerLink): void {
  link.state = 'bye';
  link.rejectWaiters((tag) => byeError(link, tag));
}

function byeError(link: PeerLink, tag: string): MeshError {
  return new MeshError(`P${link.id} has closed the session; no message '${tag}' will come from it`, link.id, 'closed');
}
