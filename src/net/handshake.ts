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
import { FrameError, packValue, peerQuoted, unpackMap } from './frames.js';

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

/** The fields each handshake message has, no more and no fewer. */
const FIELDS = {
  hello: ['k', 'v', 'sid', 'from', 'to', 'nonce'],
  challenge: ['k', 'from', 'nonce', 'mac'],
  auth: ['k', 'mac'],
  ok: ['k'],
} as const;
type Kind = keyof typeof FIELDS;

/**
 * Decode one handshake message of the expected kind: a msgpack map whose `k`
 * is that kind. Unknown fields are refused (naming the first one): nothing a
 * peer adds before authentication is silently carried along.
 */
function asObject(bytes: Uint8Array, expected: Kind): Record<string, unknown> {
  const o = unpackMap(bytes, `malformed handshake: ${expected} message`, `malformed handshake: ${expected}`);
  if (o.k !== expected) {
    throw new FrameError(`malformed handshake: expected '${expected}', got ${peerQuoted(o.k)}`);
  }
  if (expected === 'hello') {
    // The version first: a later version may well have other fields, and
    // "unsupported version" says more than "unexpected field".
    const v = intField(o, 'v', 'hello');
    if (v !== HANDSHAKE_VERSION) throw new FrameError(`unsupported handshake version ${v}`);
  }
  const allowed: readonly string[] = FIELDS[expected];
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new FrameError(`malformed handshake: ${expected} has unexpected field ${peerQuoted(key)}`);
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
    throw new FrameError(`malformed handshake: hello sid is not a string of at most ${MAX_SESSION_ID_LENGTH} characters`);
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
