/**
 * Wire format of the party mesh after the handshake.
 *
 * Every message is a header frame (a small msgpack map) optionally followed by
 * exactly one binary WebSocket message holding the raw payload bytes. Bulk
 * data never goes through msgpack: encoding would copy it and decoding would
 * hand back unaligned views.
 *
 * Header maps on the wire:
 *   { k: 'msg', t: tag, s: seq, n: payloadLength | null, c: 'online' | 'dealer', d: depth, m?: meta }
 *   { k: 'bye' }
 * n = null means "no payload" (delivered as payload null); n = 0 means an empty
 * payload, delivered as an empty Uint8Array without a payload frame.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { TrafficClass } from './types.js';

export const MAX_TAG_LENGTH = 256;
export const DEFAULT_MAX_HEADER_BYTES = 1 << 20;
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 30;
const MAX_DEPTH = 2 ** 31;

// Plain msgpack maps both ways (no record extension, no shared structures):
// a stateless codec, safe for untrusted input.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false });

export interface MsgHeader {
  k: 'msg';
  t: string;
  s: number;
  n: number | null;
  c: TrafficClass;
  d: number;
  m?: unknown;
}

export interface ByeHeader {
  k: 'bye';
}

export type Header = MsgHeader | ByeHeader;

/** Thrown by the decoders; `problem` completes "malformed frame from Pn: ...". */
export class FrameError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'FrameError';
  }
}

/** msgpack-encode a value (header or handshake message). */
export function packValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** msgpack-decode exactly one value spanning the whole buffer, or throw FrameError. */
export function unpackValue(bytes: Uint8Array, what: string): unknown {
  if (bytes.byteLength === 0) throw new FrameError(`${what} is empty`);
  try {
    return unpackr.unpack(bytes);
  } catch {
    throw new FrameError(`${what} is not msgpack`);
  }
}

export function encodeMsgHeader(h: MsgHeader): Buffer {
  const wire: Record<string, unknown> = { k: 'msg', t: h.t, s: h.s, n: h.n, c: h.c, d: h.d };
  if (h.m !== undefined) wire.m = h.m;
  return packValue(wire);
}

export function encodeByeHeader(): Buffer {
  return packValue({ k: 'bye' });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isCount(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
}

const MSG_KEYS = new Set(['k', 't', 's', 'n', 'c', 'd', 'm']);

/** Decode and schema-check one header frame. Throws FrameError naming the problem. */
export function decodeHeader(bytes: Uint8Array, maxPayloadBytes: number): Header {
  const v = unpackValue(bytes, 'header');
  if (!isPlainObject(v)) throw new FrameError('header is not a map');
  const kind = v.k;
  if (kind === 'bye') {
    if (Object.keys(v).length !== 1) throw new FrameError('bye header has extra fields');
    return { k: 'bye' };
  }
  if (kind !== 'msg') throw new FrameError(`header has unknown kind ${describe(kind)}`);
  for (const key of Object.keys(v)) {
    if (!MSG_KEYS.has(key)) throw new FrameError(`header has unknown field ${JSON.stringify(key.slice(0, 32))}`);
  }
  const { t, s, n, c, d } = v;
  if (typeof t !== 'string') throw new FrameError('header tag is not a string');
  if (t.length === 0 || t.length > MAX_TAG_LENGTH) throw new FrameError(`header tag length ${t.length} is outside 1..${MAX_TAG_LENGTH}`);
  if (!isCount(s, Number.MAX_SAFE_INTEGER)) throw new FrameError('header seq is not a non-negative integer');
  if (n !== null && n !== undefined) {
    if (!isCount(n, Number.MAX_SAFE_INTEGER)) throw new FrameError('header payload length is not a non-negative integer');
    if (n > maxPayloadBytes) throw new FrameError(`announced payload of ${n} bytes exceeds maxPayloadBytes ${maxPayloadBytes}`);
  }
  if (c !== 'online' && c !== 'dealer') throw new FrameError(`header traffic class ${describe(c)} is not 'online' or 'dealer'`);
  if (!isCount(d, MAX_DEPTH)) throw new FrameError('header round depth is not a non-negative integer');
  const h: MsgHeader = { k: 'msg', t, s, n: n === undefined ? null : (n as number | null), c, d };
  if (Object.prototype.hasOwnProperty.call(v, 'm')) h.m = v.m;
  return h;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 32));
  if (v === null) return 'null';
  return typeof v;
}

/**
 * Bytes a WebSocket frame adds around a payload of `len` bytes: 2 bytes base,
 * +2 for a 16-bit length (len >= 126), +6 more for a 64-bit length
 * (len >= 65536), +4 for the mask key on client-to-server frames.
 */
export function wsFramingOverhead(len: number, masked: boolean): number {
  let n = 2;
  if (len >= 65536) n += 8;
  else if (len >= 126) n += 2;
  if (masked) n += 4;
  return n;
}

/**
 * View the received bytes as a Uint8Array whose byteOffset is a multiple of
 * 8 (so BigUint64Array / Float64Array views work); copies only if needed.
 */
export function alignedPayload(buf: Uint8Array): Uint8Array {
  if (buf.byteOffset % 8 === 0) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return copy;
}
