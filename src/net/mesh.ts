/**
 * The party mesh: one authenticated WebSocket per pair of parties.
 *
 * Two phases: `MeshNode.listen()` opens the server (so a launcher can learn
 * the port), `node.connect(peers)` dials every lower id (the higher id always
 * dials the lower one, so each pair has exactly one socket) and waits until
 * every peer is connected and authenticated. This file is the node: its
 * settings, the connect orchestration, link failures, the Mesh API and the
 * order of shutdown. The handshake lives in accept.ts (listener) and dial.ts
 * (dialer), the peer list in peer-list.ts, the server and TLS in
 * transport.ts, per-peer state in links.ts, frames in in receive.ts, frames
 * out in send.ts, the per-link steps of close and abort in shutdown.ts.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { acceptConnection, PendingHandshakes, type AcceptHost } from './accept.js';
import { dialPeer, type DialHost } from './dial.js';
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_PAYLOAD_BYTES, FrameError } from './frames.js';
import { MAX_SESSION_ID_LENGTH } from './handshake.js';
import { checkIdentity, type PartyIdentity } from './identity.js';
import { PeerLink, zeroCounters } from './links.js';
import { applyPeerList } from './peer-list.js';
import { listenToLink, receive, type ReceiveHost } from './receive.js';
import { flushLinks, sendMessage, type SendHost } from './send.js';
import { closeLinks, dropLinks, rejectWaiting, sayBye } from './shutdown.js';
import { MeshError, closeReason, formatAddress, withTimeout } from './sockets.js';
import { startServer, type PartyServer } from './transport.js';
import type { Mesh, MeshOptions, MeshStats, Message, PartyId, PeerAddress, Rejection, SendOptions } from './types.js';

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
  private readonly trafficHost: SendHost & ReceiveHost;
  /** TLS: certificate fingerprint -> party id, known once connect() has the peer list. */
  private readonly pinned: Promise<Map<string, PartyId>> | null;
  private setPins: (pins: Map<string, PartyId>) => void = () => {};
  private connectState: { resolve: (m: Mesh) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private connectCalled = false;
  /** connect() has resolved: every peer was there at once. */
  private connected = false;
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
    this.trafficHost = this.makeTrafficHost();
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

  /** What send.ts and receive.ts need of this node (made once; `closing` and the clock live). */
  private makeTrafficHost(): SendHost & ReceiveHost {
    const node = this;
    return {
      self: this.self, maxPayloadBytes: this.maxPayloadBytes, maxHeaderBytes: this.maxHeaderBytes, recvTimeoutMs: this.recvTimeoutMs,
      get closing(): boolean {
        return node.closing;
      },
      get starting(): boolean {
        return !node.connected;
      },
      get clock(): number {
        return node.clock;
      },
      set clock(depth: number) {
        node.clock = depth;
      },
      failLink: (link, err, dropQueued) => this.failLink(link, err, dropQueued),
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
    let pins: Map<string, PartyId>;
    try {
      pins = applyPeerList(this.links, this.self, this.partyCount, this.tls, peers);
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
        this.failStart(link.error!);
        return;
      }
    }
    if (this.links.every((l) => l === null || l.state === 'open' || l.state === 'bye')) {
      const st = this.connectState;
      this.connectState = null;
      this.connected = true;
      clearTimeout(st.timer);
      st.resolve(this);
    }
  }

  /** Peers not connected yet, each with why (what the last dial attempt met, or that it never dialed us). */
  private missingPeers(): string[] {
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
    return missing;
  }

  /**
   * A connected peer was lost before every peer was there: the mesh can
   * never be complete, so connect() fails now instead of at the timeout.
   * The rejection also names who was still missing; the abort passes on
   * only the cause (close reasons are short).
   */
  private failStart(err: MeshError): void {
    const missing = this.missingPeers();
    const full = missing.length === 0 ? err : new MeshError(`${err.message}; P${this.self} gives up connecting, still missing ${missing.join(', ')}`, err.peer, err.kind);
    this.failConnect(full, err.message);
  }

  private connectTimedOut(): void {
    if (!this.connectState) return;
    const missing = this.missingPeers().join(', ');
    this.failConnect(new MeshError(`P${this.self} could not connect to every peer within ${this.connectTimeoutMs} ms; missing ${missing}`, null, 'connect'));
  }

  private failConnect(err: MeshError, abortReason = err.message): void {
    if (!this.connectState) return;
    const st = this.connectState;
    this.connectState = null;
    clearTimeout(st.timer);
    st.reject(err);
    // Peers must see us go away (a disconnect), not an orderly end.
    this.abort(abortReason);
  }

  // ---------------------------------------------------------------- authenticated link

  private attach(link: PeerLink, ws: WebSocket, tcp: Socket | null): void {
    link.ws = ws;
    link.tcp = tcp;
    tcp?.setNoDelay(true); // ws does this too; small round trips must not wait for Nagle
    link.state = 'open';
    link.dialNote = '';
    listenToLink(this.trafficHost, link, ws);
    this.checkConnected();
  }

  /** The link is dead: every pending and future recv from it rejects, onFatal fires. */
  private failLink(link: PeerLink, err: MeshError, dropQueued: boolean): void {
    if (link.state === 'failed') return;
    this.firstFatal ??= err;
    link.fail(err, dropQueued);
    if (this.fatalListeners.length === 0) this.logger(`fatal: ${err.message}`);
    for (const l of this.fatalListeners) {
      try {
        l(err);
      } catch (e) {
        this.logger(`onFatal listener threw: ${(e as Error).message}`);
      }
    }
    if (this.connectState) this.failStart(err);
  }

  // ---------------------------------------------------------------- Mesh API

  private linkFor(id: PartyId): PeerLink {
    const link = Number.isInteger(id) ? this.links[id] : undefined;
    if (link === undefined) throw new Error(`P${this.self}: no party P${id} (ids are 0..${this.partyCount - 1})`);
    if (link === null) throw new Error(`P${this.self}: cannot talk to itself`);
    return link;
  }

  send(to: PartyId, tag: string, payload: ArrayBufferView | null, opts?: SendOptions): void {
    sendMessage(this.trafficHost, this.linkFor(to), tag, payload, opts);
  }

  recv(from: PartyId, tag: string, opts?: { idle?: boolean }): Promise<Message> {
    let link: PeerLink;
    try {
      link = this.linkFor(from);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closing) return Promise.reject(new MeshError(`P${this.self}: recv '${tag}' from P${from} after close()`, from, 'closed'));
    return receive(this.trafficHost, link, tag, opts?.idle);
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
    return flushLinks(this.links);
  }

  close(): Promise<void> {
    if (!this.closePromise) this.closePromise = this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    // Say bye while sends are still allowed, then stop everything else.
    sayBye(this.links);
    this.closing = true;
    this.stopEverythingPending('closed');
    // Bounded like any wait on a peer: a peer that stops reading is a silent peer.
    await withTimeout(this.flush().catch(() => {}), this.recvTimeoutMs);
    await closeLinks(this.links);
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
    dropLinks(this.links, text);
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
    rejectWaiting(this.links, this.self, how);
  }
}
