/**
 * The party mesh: one authenticated WebSocket per pair of parties.
 *
 * Two phases: `MeshNode.listen()` opens the server (so a launcher can learn
 * the port), `node.connect(peers)` dials every lower id (the higher id always
 * dials the lower one, so each pair has exactly one socket) and waits until
 * every peer is connected and authenticated. The handshake lives in
 * accept.ts (listener) and dial.ts (dialer), the server and TLS in
 * transport.ts, per-peer state in links.ts; this file is the node: links,
 * frames in and out, flush and shutdown.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { acceptConnection, PendingHandshakes, type AcceptHost } from './accept.js';
import { dialPeer, type DialHost } from './dial.js';
import {
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  FrameError,
  MAX_TAG_LENGTH,
  alignedPayload,
  decodeHeader,
  encodeByeHeader,
  encodeMsgHeader,
  peerQuoted,
  peerText,
  wsFramingOverhead,
  type MsgHeader,
} from './frames.js';
import { MAX_SESSION_ID_LENGTH } from './handshake.js';
import { certFingerprint, checkIdentity, type PartyIdentity } from './identity.js';
import { PeerLink, zeroCounters, type Envelope, type Waiter } from './links.js';
import {
  CLOSE_ABORTED, CLOSE_POLICY, MeshError, asBuffer, closeReason, closeSocket, closeWith, formatAddress, problemOf, withTimeout,
} from './sockets.js';
import { startServer, type PartyServer } from './transport.js';
import type { Mesh, MeshOptions, MeshStats, Message, PartyId, PeerAddress, Rejection, SendOptions, TrafficClass } from './types.js';

export { MeshError, type MeshErrorKind } from './sockets.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const DEFAULT_RECV_TIMEOUT_MS = 120_000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

export class MeshNode implements Mesh {
  readonly self: PartyId;
  readonly partyCount: number;
  readonly sessionId: string;
  readonly host: string;
  readonly connectTimeoutMs: number;
  readonly recvTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly maxHeaderBytes: number;
  /** 'tls' (wss, pinned certificates) or 'plain' (ws, loopback benchmarks). */
  readonly transport: 'tls' | 'plain';
  private readonly key: Buffer;
  private readonly tls: PartyIdentity | null;
  private readonly logger: (line: string) => void;
  private readonly wsMaxPayload: number;
  private readonly links: Array<PeerLink | null>;
  private server: PartyServer | null = null;
  private listenPort = 0;
  private clock = 0;
  private readonly fatalListeners: Array<(err: Error) => void> = [];
  private readonly rejectionListeners: Array<(r: Rejection) => void> = [];
  private readonly pending = new PendingHandshakes();
  private readonly acceptHost: AcceptHost;
  private readonly dialHost: DialHost;
  /** TLS: certificate fingerprint -> party id, known once connect() has the peer list. */
  private readonly pinned: Promise<Map<string, PartyId>> | null;
  private setPins: (pins: Map<string, PartyId>) => void = () => {};
  private connectState: { resolve: (m: Mesh) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private connectCalled = false;
  private closing = false;
  private aborted = false;
  /** First fatal error of any link: the cause an abort() passes on to the other peers. */
  private firstFatal: MeshError | null = null;
  private closePromise: Promise<void> | null = null;
  private readonly dialTimers = new Set<NodeJS.Timeout>();
  /** Outgoing sockets still in the handshake. */
  private readonly dialing = new Set<WebSocket>();

  private constructor(opts: MeshOptions) {
    const { self, partyCount, sessionId, sessionKey } = opts;
    if (!Number.isInteger(partyCount) || partyCount < 2 || partyCount > 255) {
      throw new Error(`partyCount must be an integer in 2..255, got ${partyCount}`);
    }
    if (!Number.isInteger(self) || self < 0 || self >= partyCount) {
      throw new Error(`self must be a party id in 0..${partyCount - 1}, got ${self}`);
    }
    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) {
      throw new Error(`sessionId must be a non-empty string of at most ${MAX_SESSION_ID_LENGTH} characters`);
    }
    if (!(sessionKey instanceof Uint8Array) || sessionKey.byteLength < 16) {
      throw new Error('sessionKey must be a Uint8Array of at least 16 bytes (32 recommended)');
    }
    this.self = self;
    this.partyCount = partyCount;
    this.sessionId = sessionId;
    this.key = Buffer.from(sessionKey);
    this.tls = opts.tls ?? null;
    if (this.tls) checkIdentity(this.tls, `P${self}'s TLS identity`);
    this.transport = this.tls ? 'tls' : 'plain';
    this.pinned = this.tls ? new Promise((resolve) => { this.setPins = resolve; }) : null;
    this.host = opts.host ?? '127.0.0.1';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.recvTimeoutMs = opts.recvTimeoutMs ?? DEFAULT_RECV_TIMEOUT_MS;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    for (const [name, v] of [
      ['connectTimeoutMs', this.connectTimeoutMs],
      ['recvTimeoutMs', this.recvTimeoutMs],
      ['handshakeTimeoutMs', this.handshakeTimeoutMs],
      ['maxPayloadBytes', this.maxPayloadBytes],
      ['maxHeaderBytes', this.maxHeaderBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
    }
    // One ws limit covers both header and payload frames; each is then checked on its own.
    this.wsMaxPayload = Math.max(this.maxPayloadBytes, this.maxHeaderBytes);
    const logger = opts.log ?? ((line: string) => void process.stderr.write(line + '\n'));
    this.logger = (line) => {
      try {
        logger(`[P${this.self}] ${line}`);
      } catch {
        /* a logger must not break the mesh */
      }
    };
    this.links = [];
    for (let id = 0; id < partyCount; id++) this.links.push(id === self ? null : new PeerLink(id, self > id));
    this.acceptHost = this.makeAcceptHost();
    this.dialHost = this.makeDialHost();
  }

  /** Open the server. `node.port` is then the port peers must dial. */
  static async listen(opts: MeshOptions): Promise<MeshNode> {
    const node = new MeshNode(opts);
    try {
      node.server = await startServer({
        host: node.host, port: opts.port ?? 0, tls: node.tls, handshakeTimeoutMs: node.handshakeTimeoutMs, wsMaxPayload: node.wsMaxPayload,
        onConnection: (ws, req) => acceptConnection(node.acceptHost, node.pending, ws, req),
        onRefused: (remote, reason) => node.refuse({ remote, reason, side: 'accept' }),
        log: node.logger,
      });
    } catch (e) {
      throw new Error(`P${node.self} ${(e as Error).message}`);
    }
    node.listenPort = node.server.port;
    return node;
  }

  /** Port the server listens on. */
  get port(): number {
    return this.listenPort;
  }

  get rounds(): number {
    return this.clock;
  }

  /** Called for every refused connection attempt (also logged through the logger). */
  onRejected(listener: (r: Rejection) => void): void {
    this.rejectionListeners.push(listener);
  }

  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
  }

  private refuse(r: Rejection): void {
    const who = r.claimedId !== undefined ? ` (claims P${r.claimedId})` : '';
    if (r.side === 'accept') this.logger(`rejected connection from ${r.remote}${who}: ${r.reason}`);
    else this.logger(`could not authenticate P${r.claimedId ?? '?'} at ${r.remote}: ${r.reason}`);
    for (const l of this.rejectionListeners) {
      try {
        l(r);
      } catch (e) {
        this.logger(`onRejected listener threw: ${(e as Error).message}`);
      }
    }
  }

  /** What accept.ts needs of this node (made once; `closing` read live). */
  private makeAcceptHost(): AcceptHost {
    const node = this;
    return {
      self: this.self, partyCount: this.partyCount, sessionId: this.sessionId, key: this.key, handshakeTimeoutMs: this.handshakeTimeoutMs,
      get closing(): boolean {
        return node.closing;
      },
      pins: () => this.pinned,
      refuse: (r) => this.refuse(r),
      claim: (id) => {
        const link = this.links[id]!;
        if (link.state === 'failed') throw new FrameError(`P${id} already failed in this session; it cannot rejoin`);
        if (link.state !== 'pending') throw new FrameError(`duplicate connection: P${id} is already connected`);
        if (this.closing) throw new FrameError('this party is shutting down');
        return link;
      },
      attach: (link, ws, tcp) => this.attach(link, ws, tcp),
    };
  }

  /** What dial.ts needs of this node (made once). */
  private makeDialHost(): DialHost {
    return {
      self: this.self, sessionId: this.sessionId, key: this.key, handshakeTimeoutMs: this.handshakeTimeoutMs, wsMaxPayload: this.wsMaxPayload, tls: this.tls,
      stillDialing: (link) => !this.closing && this.connectState !== null && link.state === 'pending',
      dialing: this.dialing, dialTimers: this.dialTimers,
      refuse: (r) => this.refuse(r),
      log: this.logger,
      attach: (link, ws, tcp) => this.attach(link, ws, tcp),
      failConnect: (err) => this.failConnect(err),
    };
  }

  /**
   * Dial every lower id, wait until every peer is connected and authenticated.
   * Rejects after connectTimeoutMs naming the missing peers (and then closes
   * this node), or at once if a peer fails authentication. TLS sessions need
   * every other party's certificate in `peers` (they are pinned).
   */
  connect(peers: PeerAddress[]): Promise<Mesh> {
    if (this.connectCalled) return Promise.reject(new Error('connect() was already called'));
    this.connectCalled = true;
    if (this.closing) return Promise.reject(new MeshError('mesh is closed', null, 'closed'));
    const pins = new Map<string, PartyId>();
    try {
      for (const p of peers) {
        if (!Number.isInteger(p.id) || p.id < 0 || p.id >= this.partyCount) throw new Error(`peer list has party id ${p.id} outside 0..${this.partyCount - 1}`);
        if (p.id === this.self) continue;
        const link = this.links[p.id]!;
        if (this.tls) {
          if (typeof p.cert !== 'string') throw new Error(`peer list has no certificate for P${p.id} (TLS sessions pin every party's certificate)`);
          link.fingerprint = certFingerprint(p.cert, `the certificate of P${p.id} in the peer list`);
          if (pins.has(link.fingerprint)) throw new Error(`P${p.id} has the same certificate as P${pins.get(link.fingerprint)} in the peer list`);
          pins.set(link.fingerprint, p.id);
        }
        if (p.id > this.self) continue; // higher ids dial us
        if (typeof p.host !== 'string' || !Number.isInteger(p.port) || p.port <= 0 || p.port > 65535) {
          throw new Error(`peer list has a bad address for P${p.id}: ${p.host}:${p.port}`);
        }
        link.address = { id: p.id, host: p.host, port: p.port };
      }
      for (let id = 0; id < this.self; id++) if (!this.links[id]!.address) throw new Error(`peer list has no address for P${id}`);
      if (this.tls) {
        for (let id = 0; id < this.partyCount; id++) {
          if (id !== this.self && this.links[id]!.fingerprint === null) throw new Error(`peer list has no certificate for P${id} (TLS sessions pin every party's certificate)`);
        }
        const mine = pins.get(certFingerprint(this.tls.certPem, 'this party\'s certificate'));
        if (mine !== undefined) throw new Error(`P${this.self}: the peer list pins this party's certificate for P${mine}: started with another party's key?`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    this.setPins(pins);
    const promise = new Promise<Mesh>((resolve, reject) => {
      const timer = setTimeout(() => this.connectTimedOut(), this.connectTimeoutMs);
      this.connectState = { resolve, reject, timer };
    });
    for (let id = 0; id < this.self; id++) dialPeer(this.dialHost, this.links[id]!, 0);
    this.checkConnected();
    return promise;
  }

  private checkConnected(): void {
    if (!this.connectState) return;
    for (const link of this.links) {
      if (link && link.state === 'failed') {
        this.failConnect(link.error!);
        return;
      }
    }
    if (this.links.every((l) => l === null || l.state === 'open' || l.state === 'bye')) {
      const st = this.connectState;
      this.connectState = null;
      clearTimeout(st.timer);
      st.resolve(this);
    }
  }

  private connectTimedOut(): void {
    if (!this.connectState) return;
    const missing: string[] = [];
    for (const link of this.links) {
      if (!link || link.state !== 'pending') continue;
      if (link.weDial) {
        const a = link.address!;
        missing.push(`P${link.id} (dialing ${formatAddress(a.host, a.port)}: ${link.dialNote || 'no answer'})`);
      } else {
        missing.push(`P${link.id} (it has not connected to this party)`);
      }
    }
    this.failConnect(
      new MeshError(`P${this.self} could not connect to every peer within ${this.connectTimeoutMs} ms; missing ${missing.join(', ')}`, null, 'connect'),
    );
  }

  private failConnect(err: MeshError): void {
    if (!this.connectState) return;
    const st = this.connectState;
    this.connectState = null;
    clearTimeout(st.timer);
    st.reject(err);
    // Peers must see us go away (a disconnect), not an orderly end.
    this.abort(err.message);
  }

  // ---------------------------------------------------------------- authenticated link

  private attach(link: PeerLink, ws: WebSocket, tcp: Socket | null): void {
    link.ws = ws;
    link.tcp = tcp;
    tcp?.setNoDelay(true); // ws does this too; small round trips must not wait for Nagle
    link.state = 'open';
    link.dialNote = '';
    ws.on('message', (data, isBinary) => this.onFrame(link, data, isBinary));
    ws.on('error', (err) => this.onSocketError(link, err));
    ws.on('close', (code, reason) => this.onSocketClose(link, code, reason));
    this.checkConnected();
  }

  private onFrame(link: PeerLink, data: WebSocket.RawData, isBinary: boolean): void {
    if (link.state === 'failed' || this.closing) return;
    try {
      if (!isBinary) throw new FrameError('text frame (only binary frames are allowed)');
      const buf = asBuffer(data);
      if (link.state === 'bye') throw new FrameError('frame after bye');
      const h = link.pendingHeader;
      if (h !== null) {
        if (buf.byteLength !== h.n) throw new FrameError(`payload of ${buf.byteLength} bytes but its header announced ${h.n}`);
        link.pendingHeader = null;
        this.arrived(link, h, link.pendingHeaderBytes, alignedPayload(buf));
        return;
      }
      if (buf.byteLength > this.maxHeaderBytes) {
        throw new FrameError(`header frame of ${buf.byteLength} bytes exceeds maxHeaderBytes ${this.maxHeaderBytes} (stray payload?)`);
      }
      const hdr = decodeHeader(buf, this.maxPayloadBytes);
      if (hdr.k === 'bye') {
        this.peerSaidBye(link);
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
      this.arrived(link, hdr, buf.byteLength, hdr.n === 0 ? new Uint8Array(0) : null);
    } catch (e) {
      this.malformed(link, problemOf(e));
    }
  }

  private arrived(link: PeerLink, h: MsgHeader, headerBytes: number, payload: Uint8Array | null): void {
    const masked = !link.weDial; // the peer dialed us: its frames are masked
    const plen = payload === null ? 0 : payload.byteLength;
    let frameBytes = headerBytes + wsFramingOverhead(headerBytes, masked);
    if (plen > 0) frameBytes += plen + wsFramingOverhead(plen, masked);
    const env: Envelope = { msg: { tag: h.t, seq: h.s, meta: h.m, payload, depth: h.d }, depth: h.d, cls: h.c, frameBytes };
    const box = link.getInbox(h.t);
    const w = box.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(this.take(link, env));
    } else {
      box.queue.push(env);
    }
  }

  /**
   * Hand a message to recv(). This is when it advances the round clock and
   * when it is counted as received: a peer running ahead cannot leak its
   * next messages into the traffic this party attributes to the current step.
   */
  private take(link: PeerLink, env: Envelope): Message {
    if (env.cls === 'online' && env.depth > this.clock) this.clock = env.depth;
    const c = link.counters[env.cls];
    c.messagesReceived++;
    c.payloadBytesReceived += env.msg.payload === null ? 0 : env.msg.payload.byteLength;
    c.frameBytesReceived += env.frameBytes;
    return env.msg;
  }

  private malformed(link: PeerLink, problem: string): void {
    const err = new MeshError(`malformed frame from P${link.id}: ${problem}`, link.id, 'malformed');
    this.failLink(link, err, true);
    if (link.ws) closeWith(link.ws, CLOSE_POLICY, err.message);
  }

  private onSocketError(link: PeerLink, err: Error & { code?: string }): void {
    if (link.state === 'failed' || link.state === 'bye' || this.closing) return;
    // ws's own frame parser errors (bad opcode, over maxPayload, ...) carry WS_ERR_* codes.
    if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
      this.malformed(link, err.message);
      return;
    }
    this.failLink(link, new MeshError(`P${link.id} disconnected (${err.message})`, link.id, 'disconnected'), false);
    link.ws?.terminate();
  }

  private onSocketClose(link: PeerLink, code: number, reason: Buffer): void {
    if (link.state === 'failed' || link.state === 'bye' || this.closing) return;
    const r = peerText(reason.toString());
    this.failLink(link, new MeshError(`P${link.id} disconnected (code ${code}${r ? `: ${r}` : ''})`, link.id, 'disconnected'), false);
  }

  private peerSaidBye(link: PeerLink): void {
    link.state = 'bye';
    for (const [tag, box] of link.inbox) {
      const waiters = box.waiters;
      box.waiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(this.byeError(link, tag));
      }
    }
  }

  private byeError(link: PeerLink, tag: string): MeshError {
    return new MeshError(`P${link.id} has closed the session; no message '${tag}' will come from it`, link.id, 'closed');
  }

  /** The link is dead: every pending and future recv from it rejects, onFatal fires. */
  private failLink(link: PeerLink, err: MeshError, dropQueued: boolean): void {
    if (link.state === 'failed') return;
    link.state = 'failed';
    link.error = err;
    this.firstFatal ??= err;
    link.pendingHeader = null;
    for (const box of link.inbox.values()) {
      if (dropQueued) box.queue.length = 0;
      const waiters = box.waiters;
      box.waiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    const drains = link.drainWaiters;
    link.drainWaiters = [];
    for (const d of drains) d.reject(err);
    if (this.fatalListeners.length === 0) this.logger(`fatal: ${err.message}`);
    for (const l of this.fatalListeners) {
      try {
        l(err);
      } catch (e) {
        this.logger(`onFatal listener threw: ${(e as Error).message}`);
      }
    }
    if (this.connectState) this.failConnect(err);
  }

  // ---------------------------------------------------------------- Mesh API

  private linkFor(id: PartyId): PeerLink {
    const link = Number.isInteger(id) ? this.links[id] : undefined;
    if (link === undefined) throw new Error(`P${this.self}: no party P${id} (ids are 0..${this.partyCount - 1})`);
    if (link === null) throw new Error(`P${this.self}: cannot talk to itself`);
    return link;
  }

  /** Depth of an online message: one past the clock value its content depends on. */
  private depthFor(basis: number | undefined): number {
    if (basis === undefined) return this.clock + 1;
    if (!Number.isInteger(basis) || basis < 0 || basis > this.clock) {
      throw new RangeError(`send basis ${basis} must be an integer in [0, ${this.clock}] (the round clock)`);
    }
    return basis + 1;
  }

  send(to: PartyId, tag: string, payload: ArrayBufferView | null, opts?: SendOptions): void {
    const link = this.linkFor(to);
    if (this.closing) throw new MeshError(`P${this.self}: send '${tag}' to P${to} after close()`, to, 'closed');
    if (link.state === 'failed') throw link.error!;
    if (link.state === 'bye') throw new MeshError(`P${to} has closed the session; cannot send '${tag}'`, to, 'closed');
    if (link.state !== 'open' || !link.ws) throw new MeshError(`P${this.self} is not connected to P${to}`, to, 'connect');
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
      if (bytes.byteLength > this.maxPayloadBytes) {
        throw new Error(`payload of ${bytes.byteLength} bytes exceeds maxPayloadBytes ${this.maxPayloadBytes}`);
      }
    }
    const seq = link.sendSeq.get(tag) ?? 0;
    const hdr: MsgHeader = { k: 'msg', t: tag, s: seq, n: bytes === null ? null : bytes.byteLength, c: cls, d: cls === 'online' ? this.depthFor(opts?.basis) : 0 };
    if (opts?.meta !== undefined) hdr.m = opts.meta;
    const head = encodeMsgHeader(hdr);
    if (head.byteLength > this.maxHeaderBytes) {
      throw new Error(`header of '${tag}' is ${head.byteLength} bytes (meta too large; maxHeaderBytes ${this.maxHeaderBytes})`);
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

  recv(from: PartyId, tag: string, opts?: { idle?: boolean }): Promise<Message> {
    let link: PeerLink;
    try {
      link = this.linkFor(from);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closing) return Promise.reject(new MeshError(`P${this.self}: recv '${tag}' from P${from} after close()`, from, 'closed'));
    const box = link.getInbox(tag);
    const env = box.queue.shift();
    if (env) return Promise.resolve(this.take(link, env));
    if (link.state === 'failed') return Promise.reject(link.error!);
    if (link.state === 'bye') return Promise.reject(this.byeError(link, tag));
    return new Promise<Message>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: opts?.idle ? undefined : setTimeout(() => {
          const i = box.waiters.indexOf(w);
          if (i >= 0) box.waiters.splice(i, 1);
          reject(new MeshError(`timed out after ${this.recvTimeoutMs} ms waiting for '${tag}' from P${from}`, from, 'timeout'));
        }, this.recvTimeoutMs),
      };
      box.waiters.push(w);
    });
  }

  release(peer: PartyId, tag: string): void {
    const link = this.linkFor(peer);
    link.sendSeq.delete(tag);
    const box = link.inbox.get(tag);
    if (!box) return;
    if (box.queue.length > 0 || box.waiters.length > 0) {
      throw new Error(`P${this.self}: channel '${tag}' with P${peer} released with ${box.queue.length} unread message(s) and ${box.waiters.length} waiting recv(s)`);
    }
    link.inbox.delete(tag);
  }

  get openTags(): number {
    let n = 0;
    for (const link of this.links) if (link) n += link.inbox.size + link.sendSeq.size;
    return n;
  }

  stats(): MeshStats {
    const peers = [];
    for (const link of this.links) {
      if (!link) continue;
      peers.push({ peer: link.id, online: { ...link.counters.online }, dealer: { ...link.counters.dealer } });
    }
    return { self: this.self, rounds: this.clock, peers };
  }

  resetStats(): void {
    for (const link of this.links) {
      if (link) link.counters = { online: zeroCounters(), dealer: zeroCounters() };
    }
  }

  flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const link of this.links) {
      if (!link || link.outstanding === 0) continue;
      if (link.state === 'failed') {
        waits.push(Promise.reject(link.error!));
        continue;
      }
      waits.push(new Promise<void>((resolve, reject) => link.drainWaiters.push({ resolve, reject })));
    }
    return Promise.all(waits).then(() => undefined);
  }

  close(): Promise<void> {
    if (!this.closePromise) this.closePromise = this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    // Say bye while sends are still allowed, then stop everything else.
    const bye = encodeByeHeader();
    for (const link of this.links) {
      if (link && link.ws && (link.state === 'open' || link.state === 'bye') && link.ws.readyState === WebSocket.OPEN) {
        link.outstanding++;
        link.ws.send(bye, { binary: true }, link.onSent);
      }
    }
    this.closing = true;
    this.stopEverythingPending('closed');
    // Bounded like any wait on a peer: a peer that stops reading is a silent peer.
    await withTimeout(this.flush().catch(() => {}), this.recvTimeoutMs);
    const closing: Promise<void>[] = [];
    for (const link of this.links) {
      if (link?.ws) closing.push(closeSocket(link.ws));
    }
    await Promise.all(closing);
    const server = this.server;
    this.server = null;
    if (server) await withTimeout(server.close(), 2_000);
  }

  /**
   * Drop every connection at once, without a bye: peers see this party
   * disconnect. For a party that failed and must not look like a clean end.
   */
  abort(reason?: string): void {
    if (this.aborted) return;
    this.aborted = true;
    this.closing = true;
    this.stopEverythingPending('aborted');
    // Best effort: a close frame carrying the cause goes to the kernel before
    // the socket is destroyed, so that in a cascade (P1 dies, P2 gives up)
    // P0 learns the root cause: "P2 disconnected (code 4000: P2 aborted: P1 disconnected ...)".
    const cause = reason ?? this.firstFatal?.message;
    const text = closeReason(cause ? `P${this.self} aborted: ${cause}` : `P${this.self} aborted`);
    for (const link of this.links) {
      const ws = link?.ws;
      if (!ws) continue;
      try {
        if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_ABORTED, text);
      } catch {
        /* the socket goes anyway */
      }
      ws.terminate();
    }
    const server = this.server;
    this.server = null;
    if (server) void server.close();
    this.closePromise ??= Promise.resolve();
  }

  /** Stop dialing, refuse half-open connections, reject connect() and every waiting recv(). */
  private stopEverythingPending(how: 'closed' | 'aborted'): void {
    for (const t of this.dialTimers) clearTimeout(t);
    this.dialTimers.clear();
    for (const ws of this.dialing) ws.terminate();
    this.dialing.clear();
    this.pending.terminateAll();
    if (this.connectState) {
      const st = this.connectState;
      this.connectState = null;
      clearTimeout(st.timer);
      st.reject(new MeshError(`P${this.self}: mesh ${how} before every peer connected`, null, 'closed'));
    }
    for (const link of this.links) {
      if (!link) continue;
      for (const [tag, box] of link.inbox) {
        const waiters = box.waiters;
        box.waiters = [];
        for (const w of waiters) {
          clearTimeout(w.timer);
          w.reject(new MeshError(`P${this.self}: mesh ${how} while waiting for '${tag}' from P${link.id}`, link.id, 'closed'));
        }
      }
    }
  }
}
