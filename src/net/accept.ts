/**
 * Listener side of the handshake (handshake.ts has the messages): checks the
 * hello, proves the session key, checks the dialer's answer and, in TLS
 * sessions, that the certificate it presented is the one pinned for the id
 * it claims. Until then a connection is bounded: a few KiB in total
 * (destroyed at once past that, so nothing big is ever buffered), the
 * handshake timeout, and a fixed number of slots where a new connection
 * evicts the oldest unauthenticated one, so silent sockets cannot keep an
 * honest party out (it completes its handshake in milliseconds).
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { FrameError, peerText } from './frames.js';
import {
  MAX_HANDSHAKE_BYTES, decodeAuth, decodeHello, encodeHandshake, handshakeMac, macEquals, newNonce, type HandshakeTranscript,
} from './handshake.js';
import type { PeerLink } from './links.js';
import { CLOSE_POLICY, CLOSE_TRY_LATER, asBuffer, closeWith, formatAddress, problemOf } from './sockets.js';
import { peerFingerprint } from './transport.js';
import type { PartyId, Rejection } from './types.js';

/** Unauthenticated connections held at once; one more evicts the oldest. */
export const MAX_PENDING_HANDSHAKES = 16;
/** A refused dialer gets this long to read the close reason before its socket is destroyed. */
const REFUSE_GRACE_MS = 500;

/** What the listener side needs from the mesh node. */
export interface AcceptHost {
  readonly self: PartyId;
  readonly partyCount: number;
  readonly sessionId: string;
  readonly key: Buffer;
  readonly handshakeTimeoutMs: number;
  readonly closing: boolean;
  /** TLS sessions: fingerprint -> party id, once the peers' certificates are known; null for plain ws. */
  pins(): Promise<Map<string, PartyId>> | null;
  refuse(r: Rejection): void;
  /** The link for a newly authenticated id; throws a FrameError if the id may not connect now. */
  claim(id: PartyId): PeerLink;
  attach(link: PeerLink, ws: WebSocket, tcp: IncomingMessage['socket']): void;
}

/** Connections in the handshake, oldest first. */
export class PendingHandshakes {
  private readonly order = new Map<WebSocket, () => void>();

  /** Track ws; `evict` ends it if it becomes the oldest of too many. */
  add(ws: WebSocket, evict: () => void): void {
    this.order.set(ws, evict);
    if (this.order.size > MAX_PENDING_HANDSHAKES) {
      const [oldest, end] = this.order.entries().next().value as [WebSocket, () => void];
      this.order.delete(oldest);
      end();
    }
  }

  delete(ws: WebSocket): void {
    this.order.delete(ws);
  }

  terminateAll(): void {
    for (const ws of this.order.keys()) ws.terminate();
    this.order.clear();
  }
}

export function acceptConnection(host: AcceptHost, pending: PendingHandshakes, ws: WebSocket, req: IncomingMessage): void {
  const sock = req.socket;
  const remote = formatAddress(sock.remoteAddress, sock.remotePort);
  ws.on('error', () => {}); // never let a socket error escape; real handling below
  if (host.closing) {
    ws.terminate();
    return;
  }
  let done = false;
  let claimed: number | undefined;
  let transcript: HandshakeTranscript | null = null;
  let unauthBytes = 0;
  const presented = peerFingerprint(sock);

  const cleanup = (): void => {
    done = true;
    clearTimeout(timer);
    sock.off('data', onData);
    ws.off('message', onMessage);
    ws.off('error', onError);
    ws.off('close', onClose);
    pending.delete(ws);
  };
  const fail = (reason: string, code = CLOSE_POLICY, now = false): void => {
    if (done) return;
    cleanup();
    host.refuse({ remote, reason, side: 'accept', ...(claimed !== undefined ? { claimedId: claimed } : {}) });
    if (now) ws.terminate();
    else closeWith(ws, code, reason, REFUSE_GRACE_MS);
  };
  const onData = (chunk: Buffer): void => {
    unauthBytes += chunk.length;
    // Destroyed at once: a graceful close would keep reading what it announced.
    if (unauthBytes > MAX_HANDSHAKE_BYTES) fail(`more than ${MAX_HANDSHAKE_BYTES} bytes before completing the handshake`, CLOSE_POLICY, true);
  };
  /** The hello's own checks, at once (so its problem is the one reported), then the certificate once the pins are known. */
  const checkHello = (buf: Buffer): Promise<void> | null => {
    const hello = decodeHello(buf);
    claimed = hello.from;
    if (hello.sid !== host.sessionId) throw new FrameError('wrong session id');
    if (hello.from < 0 || hello.from >= host.partyCount) throw new FrameError(`party id ${hello.from} out of range 0..${host.partyCount - 1}`);
    if (hello.from === host.self) throw new FrameError(`party id ${hello.from} is this party's own id`);
    if (hello.to !== host.self) throw new FrameError(`it dialed P${hello.to} but this is P${host.self}`);
    if (hello.from < host.self) throw new FrameError(`P${hello.from} must not dial P${host.self} (the higher id dials the lower)`);
    const challenge = (): void => {
      // Duplicates are refused only after the key check, so that a wrong
      // key is reported as such even for an id that is already taken.
      transcript = { sessionId: host.sessionId, clientId: hello.from, serverId: host.self, clientNonce: hello.nonce, serverNonce: newNonce() };
      ws.send(encodeHandshake({ k: 'challenge', from: host.self, nonce: transcript.serverNonce, mac: handshakeMac(host.key, transcript, 'server->client') }));
    };
    const pins = host.pins();
    if (!pins) {
      challenge();
      return null;
    }
    return pins.then((byFingerprint) => {
      if (done) return;
      if (presented === null) throw new FrameError('no client certificate (this session pins every party\'s certificate)');
      const owner = byFingerprint.get(presented);
      if (owner === undefined) throw new FrameError(`unknown certificate ${presented.slice(0, 23)}...: not pinned in this session`);
      if (owner !== hello.from) throw new FrameError(`it presents P${owner}'s certificate but claims to be P${hello.from}`);
      challenge();
    });
  };
  let helloSeen = false;
  const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (done) return;
    try {
      if (!isBinary) throw new FrameError('malformed handshake: text frame');
      const buf = asBuffer(data);
      if (!helloSeen) {
        helloSeen = true;
        checkHello(buf)?.catch((e: unknown) => fail(problemOf(e)));
        return;
      }
      if (transcript === null) throw new FrameError('malformed handshake: a second message before the challenge');
      const auth = decodeAuth(buf);
      if (!macEquals(handshakeMac(host.key, transcript, 'client->server'), auth.mac)) throw new FrameError('bad session key');
      const link = host.claim(transcript.clientId);
      link.fingerprint = presented;
      cleanup();
      ws.send(encodeHandshake({ k: 'ok' }));
      host.attach(link, ws, sock);
    } catch (e) {
      fail(problemOf(e));
    }
  };
  const onError = (err: Error): void => fail(`socket error: ${err.message}`);
  const onClose = (code: number, reason: Buffer): void => {
    const r = peerText(reason.toString());
    fail(code === CLOSE_POLICY && r ? `the dialer aborted the handshake: ${r}` : `connection closed during the handshake (code ${code})`);
  };
  const timer = setTimeout(() => fail(`handshake not completed within ${host.handshakeTimeoutMs} ms`, CLOSE_TRY_LATER), host.handshakeTimeoutMs);

  sock.on('data', onData);
  ws.on('message', onMessage);
  ws.on('error', onError);
  ws.on('close', onClose);
  pending.add(ws, () => fail(`evicted: more than ${MAX_PENDING_HANDSHAKES} connections in the handshake at once`, CLOSE_TRY_LATER, true));
}
