/**
 * The listening side's server: plain HTTP (ws://, loopback benchmarks only)
 * or HTTPS with this party's certificate (wss://), asking every dialer for
 * its certificate. Certificates are checked by the mesh against the
 * session's pins (a chain check would prove nothing: they are self-signed),
 * so TLS lets any certificate through and the handshake names the problem.
 * Every raw socket is tracked so that a closing party drops connections that
 * never finished their upgrade instead of waiting for them.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import type { PartyIdentity } from './identity.js';
import { CLOSE_GRACE_MS, formatAddress } from './sockets.js';

/** Largest HTTP upgrade request accepted (its headers are tiny). */
const MAX_UPGRADE_HEADER_BYTES = 4096;

export interface ServerOptions {
  host: string;
  port: number;
  tls: PartyIdentity | null;
  /** Limit for the TLS handshake and the HTTP upgrade of one connection. */
  handshakeTimeoutMs: number;
  wsMaxPayload: number;
  onConnection: (ws: WebSocket, req: IncomingMessage) => void;
  onRefused: (remote: string, reason: string) => void;
  log: (line: string) => void;
}

export interface PartyServer {
  readonly port: number;
  /** Stop listening and destroy every connection, upgraded or not. */
  close(): Promise<void>;
}

export function startServer(opts: ServerOptions): Promise<PartyServer> {
  const sockets = new Set<Socket>();
  const notWebSocket = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { Connection: 'close', 'Content-Type': 'text/plain' }).end('mpcnet party: WebSocket only\n');
  };
  const server: Server = opts.tls
    ? createHttpsServer({
      key: opts.tls.keyPem, cert: opts.tls.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3',
      handshakeTimeout: opts.handshakeTimeoutMs, maxHeaderSize: MAX_UPGRADE_HEADER_BYTES,
    }, notWebSocket)
    : createHttpServer({ maxHeaderSize: MAX_UPGRADE_HEADER_BYTES }, notWebSocket);
  server.headersTimeout = opts.handshakeTimeoutMs;
  server.requestTimeout = opts.handshakeTimeoutMs;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err: Error, s: TLSSocket) => {
    opts.onRefused(formatAddress(s.remoteAddress, s.remotePort), `TLS handshake failed: ${err.message}`);
    s.destroy();
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: opts.wsMaxPayload, clientTracking: false, skipUTF8Validation: true });
  wss.on('connection', opts.onConnection);
  wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
    opts.onRefused(formatAddress(req.socket.remoteAddress, req.socket.remotePort), `bad WebSocket upgrade: ${err.message}`);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.close();
      reject(new Error(`cannot listen on ${formatAddress(opts.host, opts.port)}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      server.on('error', (err) => opts.log(`server error: ${err.message}`));
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          wss.close();
          server.close(() => done());
          for (const s of sockets) s.destroy();
          sockets.clear();
        }),
      });
    });
  });
}

/** SHA-256 fingerprint of the certificate the other end of a TLS socket presented; null on a plain socket or without one. */
export function peerFingerprint(socket: Socket | null): string | null {
  const tls = socket as (TLSSocket & { getPeerX509Certificate?: () => { fingerprint256: string } | undefined }) | null;
  if (!tls || typeof tls.getPeerX509Certificate !== 'function') return null;
  return tls.getPeerX509Certificate()?.fingerprint256 ?? null;
}

/** ws client options for dialing a peer: TLS with our certificate, the peer's checked after the handshake (pinning). */
export function dialOptions(tls: PartyIdentity | null): WebSocket.ClientOptions {
  return tls ? { key: tls.keyPem, cert: tls.certPem, rejectUnauthorized: false, minVersion: 'TLSv1.3' } : {};
}
