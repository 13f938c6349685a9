/**
 * Dialer side of the handshake (handshake.ts has the messages): connect to
 * a lower id, retrying (25 ms doubling to 500 ms) while it is not up; in TLS
 * sessions check that the listener presented the certificate pinned for the
 * id we dialed before saying anything; then hello, check the challenge's
 * MAC, answer, and wait for ok.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { FrameError, peerText } from './frames.js';
import { HANDSHAKE_VERSION, decodeChallenge, decodeOk, encodeHandshake, handshakeMac, macEquals, newNonce, type HandshakeTranscript } from './handshake.js';
import type { PartyIdentity } from './identity.js';
import type { PeerLink } from './links.js';
import { CLOSE_POLICY, MeshError, asBuffer, closeWith, formatAddress, problemOf, zeroMask } from './sockets.js';
import { dialOptions, peerFingerprint } from './transport.js';
import type { PartyId, Rejection } from './types.js';

/** What the dialing side needs from the mesh node. */
export interface DialHost {
  readonly self: PartyId;
  readonly sessionId: string;
  readonly key: Buffer;
  readonly handshakeTimeoutMs: number;
  readonly wsMaxPayload: number;
  readonly tls: PartyIdentity | null;
  /** False once the node closes or connect() has settled: stop dialing. */
  stillDialing(link: PeerLink): boolean;
  /** Sockets and retry timers in flight, for the node to cancel on close. */
  readonly dialing: Set<WebSocket>;
  readonly dialTimers: Set<NodeJS.Timeout>;
  refuse(r: Rejection): void;
  log(line: string): void;
  attach(link: PeerLink, ws: WebSocket, tcp: Socket | null): void;
  failConnect(err: MeshError): void;
}

export function dialPeer(host: DialHost, link: PeerLink, attempt: number): void {
  if (!host.stillDialing(link)) return;
  const addr = link.address!;
  const where = formatAddress(addr.host, addr.port);
  const scheme = host.tls ? 'wss' : 'ws';
  let ws: WebSocket;
  try {
    ws = new WebSocket(`${scheme}://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}/`, {
      perMessageDeflate: false,
      maxPayload: host.wsMaxPayload,
      handshakeTimeout: host.handshakeTimeoutMs,
      generateMask: zeroMask,
      skipUTF8Validation: true,
      followRedirects: false,
      ...dialOptions(host.tls),
    });
  } catch (e) {
    host.failConnect(new MeshError(`P${host.self} cannot dial P${link.id} at ${where}: ${(e as Error).message}`, link.id, 'connect'));
    return;
  }
  let done = false;
  let lastError = '';
  let tcp: Socket | null = null;
  const nonce = newNonce();
  let transcript: HandshakeTranscript | null = null;

  const cleanup = (): void => {
    done = true;
    clearTimeout(timer);
    host.dialing.delete(ws);
    ws.off('open', onOpen);
    ws.off('message', onMessage);
    ws.off('error', onError);
    ws.off('close', onClose);
  };
  const retry = (note: string): void => {
    if (done) return;
    cleanup();
    link.dialNote = note;
    ws.terminate();
    if (!host.stillDialing(link)) return;
    const t = setTimeout(() => {
      host.dialTimers.delete(t);
      dialPeer(host, link, attempt + 1);
    }, Math.min(25 * 2 ** attempt, 500));
    host.dialTimers.add(t);
  };
  const giveUp = (reason: string, rejectedByPeer: boolean): void => {
    if (done) return;
    cleanup();
    if (!rejectedByPeer) {
      host.refuse({ remote: where, reason, side: 'dial', claimedId: link.id });
      closeWith(ws, CLOSE_POLICY, reason);
    } else {
      host.log(`P${link.id} at ${where} refused this party: ${reason}`);
      ws.terminate();
    }
    const what = rejectedByPeer ? `P${link.id} at ${where} refused the connection: ${reason}` : `P${link.id} at ${where} failed authentication: ${reason}`;
    host.failConnect(new MeshError(`P${host.self} cannot connect: ${what}`, link.id, 'connect'));
  };
  const onOpen = (): void => {
    if (host.tls) {
      const got = peerFingerprint(tcp);
      if (got !== link.fingerprint) {
        giveUp(got === null ? 'it presented no certificate' : `it presented certificate ${got.slice(0, 23)}..., not the one pinned for P${link.id}`, false);
        return;
      }
    }
    ws.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: host.sessionId, from: host.self, to: link.id, nonce }));
  };
  const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (done) return;
    try {
      if (!isBinary) throw new FrameError('malformed handshake: text frame');
      const buf = asBuffer(data);
      if (transcript === null) {
        const ch = decodeChallenge(buf);
        if (ch.from !== link.id) throw new FrameError(`expected P${link.id} there but found P${ch.from}`);
        transcript = { sessionId: host.sessionId, clientId: host.self, serverId: link.id, clientNonce: nonce, serverNonce: ch.nonce };
        if (!macEquals(handshakeMac(host.key, transcript, 'server->client'), ch.mac)) throw new FrameError('bad session key');
        ws.send(encodeHandshake({ k: 'auth', mac: handshakeMac(host.key, transcript, 'client->server') }));
      } else {
        decodeOk(buf);
        cleanup();
        if (!host.stillDialing(link)) {
          closeWith(ws, CLOSE_POLICY, 'duplicate connection');
          return;
        }
        host.attach(link, ws, tcp);
      }
    } catch (e) {
      giveUp(problemOf(e), false);
    }
  };
  const onError = (err: Error): void => {
    lastError = err.message;
  };
  const onClose = (code: number, reason: Buffer): void => {
    const r = peerText(reason.toString());
    if (code === CLOSE_POLICY) giveUp(r || `closed with code ${code}`, true);
    else retry(lastError || (r ? `closed (code ${code}: ${r})` : `closed (code ${code})`));
  };
  // ws's handshakeTimeout covers the HTTP upgrade; this covers the key exchange after it.
  const timer = setTimeout(() => retry(`handshake not completed within ${2 * host.handshakeTimeoutMs} ms`), 2 * host.handshakeTimeoutMs);
  host.dialing.add(ws);
  ws.on('error', () => {}); // stays after cleanup: ws must never see an unhandled 'error'
  ws.once('upgrade', (res) => {
    tcp = res.socket;
  });
  ws.on('open', onOpen);
  ws.on('message', onMessage);
  ws.on('error', onError);
  ws.on('close', onClose);
}
