/**
 * Session-key handshake between two parties (mutual challenge-response).
 *
 *   dialer (client, id c)                         listener (server, id s)
 *   hello     {k, v, sid, from: c, to: s, nonce: Nc}  ->
 *                                             <-  challenge {k, from: s, nonce: Ns, mac: MAC_s}
 *   auth      {k, mac: MAC_c}                     ->
 *                                             <-  ok {k}
 *
 *   MAC_x = HMAC-SHA256(sessionKey, label || dir_x || len(sid) || sid || c || s || Nc || Ns)
 *
 * dir_x is 'server->client' for MAC_s and 'client->server' for MAC_c, so a MAC
 * can never be reflected back; fresh 32-byte nonces from both sides make every
 * transcript unique, so a recorded handshake cannot be replayed. The server
 * proves the key first, the client only answers after checking it; nothing
 * else is accepted on the socket until 'ok'.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FrameError, packValue, unpackValue } from './frames.js';

export const HANDSHAKE_VERSION = 1;
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
export const MAX_SESSION_ID_LENGTH = 256;
/** No handshake message is anywhere near this big; more unauthenticated bytes are refused. */
export const MAX_HANDSHAKE_BYTES = 4096;

const LABEL = 'mpcnet/handshake/v1';
export type MacDirection = 'server->client' | 'client->server';

export interface HandshakeTranscript {
  sessionId: string;
  clientId: number;
  serverId: number;
  clientNonce: Uint8Array;
  serverNonce: Uint8Array;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** HMAC-SHA256 over an unambiguous encoding of the transcript and direction. */
export function handshakeMac(key: Uint8Array, t: HandshakeTranscript, dir: MacDirection): Buffer {
  const sid = Buffer.from(t.sessionId, 'utf8');
  const fixed = Buffer.alloc(4 + 4 + 4);
  fixed.writeUInt32BE(sid.length, 0);
  fixed.writeUInt32BE(t.clientId >>> 0, 4);
  fixed.writeUInt32BE(t.serverId >>> 0, 8);
  const h = createHmac('sha256', key);
  h.update(LABEL);
  h.update(Buffer.from([0]));
  h.update(dir);
  h.update(fixed.subarray(0, 4));
  h.update(sid);
  h.update(fixed.subarray(4));
  h.update(t.clientNonce);
  h.update(t.serverNonce);
  return h.digest();
}

export function macEquals(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.byteLength === got.byteLength && timingSafeEqual(expected, got);
}

export interface Hello {
  k: 'hello';
  v: number;
  sid: string;
  from: number;
  to: number;
  nonce: Uint8Array;
}
export interface Challenge {
  k: 'challenge';
  from: number;
  nonce: Uint8Array;
  mac: Uint8Array;
}
export interface Auth {
  k: 'auth';
  mac: Uint8Array;
}
export interface Ok {
  k: 'ok';
}

export function encodeHandshake(m: Hello | Challenge | Auth | Ok): Buffer {
  return packValue(m);
}

function asObject(bytes: Uint8Array, expected: string): Record<string, unknown> {
  const v = unpackValue(bytes, `malformed handshake: ${expected} message`);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new FrameError(`malformed handshake: ${expected} is not a map`);
  }
  const o = v as Record<string, unknown>;
  if (o.k !== expected) {
    throw new FrameError(`malformed handshake: expected '${expected}', got ${typeof o.k === 'string' ? JSON.stringify(o.k.slice(0, 32)) : typeof o.k}`);
  }
  return o;
}

function bytesField(o: Record<string, unknown>, key: string, len: number, what: string): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || v.byteLength !== len) {
    throw new FrameError(`malformed handshake: ${what} ${key} is not ${len} bytes`);
  }
  return v;
}

function intField(o: Record<string, unknown>, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FrameError(`malformed handshake: ${what} ${key} is not an integer`);
  return v;
}

export function decodeHello(bytes: Uint8Array): Hello {
  const o = asObject(bytes, 'hello');
  const v = intField(o, 'v', 'hello');
  if (typeof o.sid !== 'string' || o.sid.length > MAX_SESSION_ID_LENGTH) {
    throw new FrameError('malformed handshake: hello sid is not a string of at most 256 characters');
  }
  return {
    k: 'hello',
    v,
    sid: o.sid,
    from: intField(o, 'from', 'hello'),
    to: intField(o, 'to', 'hello'),
    nonce: bytesField(o, 'nonce', NONCE_BYTES, 'hello'),
  };
}

export function decodeChallenge(bytes: Uint8Array): Challenge {
  const o = asObject(bytes, 'challenge');
  return {
    k: 'challenge',
    from: intField(o, 'from', 'challenge'),
    nonce: bytesField(o, 'nonce', NONCE_BYTES, 'challenge'),
    mac: bytesField(o, 'mac', MAC_BYTES, 'challenge'),
  };
}

export function decodeAuth(bytes: Uint8Array): Auth {
  const o = asObject(bytes, 'auth');
  return { k: 'auth', mac: bytesField(o, 'mac', MAC_BYTES, 'auth') };
}

export function decodeOk(bytes: Uint8Array): Ok {
  asObject(bytes, 'ok');
  return { k: 'ok' };
}
