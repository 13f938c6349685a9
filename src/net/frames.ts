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

/**
 * Entries a msgpack map announces in its first bytes (fixmap, map 16, map 32),
 * or null when the buffer does not start with a map. Only a real msgpack map
 * is a header or handshake message: msgpackr also builds plain objects from
 * record definitions and from its error extension, which are not part of the
 * wire format.
 */
function announcedMapEntries(bytes: Uint8Array): number | null {
  const b = bytes[0]!;
  if (b >= 0x80 && b <= 0x8f) return b & 0x0f;
  if (b === 0xde && bytes.byteLength >= 3) return (bytes[1]! << 8) | bytes[2]!;
  if (b === 0xdf && bytes.byteLength >= 5) return ((bytes[1]! << 24) >>> 0) + ((bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!);
  return null;
}

/**
 * Decode a frame that must be one msgpack map with string keys, each key once.
 * `what` names the bytes, `subject` the map in errors ("header", "header";
 * "malformed handshake: hello message", "malformed handshake: hello"). A
 * repeated key would otherwise silently keep its last value.
 */
export function unpackMap(bytes: Uint8Array, what: string, subject: string): Record<string, unknown> {
  const v = unpackValue(bytes, what);
  const entries = announcedMapEntries(bytes);
  if (entries === null || !isPlainObject(v)) throw new FrameError(`${subject} is not a map`);
  const fields = Object.keys(v).length;
  if (fields !== entries) throw new FrameError(`${subject} repeats a field name (${entries} entries, ${fields} distinct names)`);
  return v;
}

/**
 * Text a peer sent (a tag, a field name, a close reason, a claimed id) made
 * safe to embed in a log line or an error message: backslash, C0 and C1
 * control characters (newline, CR, ESC, ...), DEL, U+2028/U+2029, bidi
 * controls and lone surrogates are escaped JSON-style (\n, \u001b, ...), so
 * the peer cannot start a forged log line, move the cursor or reorder the
 * line on a terminal. At most `maxChars` characters of `s` are kept; a cut is
 * marked with '…'. Not quoted; see peerQuoted for a quoted form. Anything that
 * is not a string is shown as its type.
 */
export function peerText(s: unknown, maxChars = 80): string {
  if (typeof s !== 'string') return s === null ? 'null' : typeof s;
  let end = Math.min(s.length, Math.max(0, Math.floor(maxChars)));
  // never cut a surrogate pair in half
  if (end > 0 && end < s.length && isHighSurrogate(s.charCodeAt(end - 1)) && isLowSurrogate(s.charCodeAt(end))) end--;
  let out = '';
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += s[i]! + s[i + 1]!;
      i++;
      continue;
    }
    out += escapeUnit(c) ?? s[i]!;
  }
  return end < s.length ? out + '…' : out;
}

/** peerText in double quotes, with '"' escaped too: `"evil"`. */
export function peerQuoted(s: unknown, maxChars = 32): string {
  if (typeof s !== 'string') return peerText(s);
  return `"${peerText(s, maxChars).replace(/"/g, '\\"')}"`;
}

const SHORT_ESCAPES: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x5c: '\\\\' };

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The escape for one UTF-16 unit, or undefined when it is shown as it is. */
function escapeUnit(c: number): string | undefined {
  const short = SHORT_ESCAPES[c];
  if (short !== undefined) return short;
  const escaped =
    c < 0x20 || // C0 controls
    (c >= 0x7f && c <= 0x9f) || // DEL, C1 controls (U+0085 NEL is a line break to some readers)
    c === 0x2028 || // line separator
    c === 0x2029 || // paragraph separator
    c === 0x061c || // Arabic letter mark
    c === 0x200e || // left-to-right / right-to-left marks
    c === 0x200f ||
    (c >= 0x202a && c <= 0x202e) || // bidi embeddings and overrides
    (c >= 0x2066 && c <= 0x2069) || // bidi isolates
    c === 0xfeff || // byte order mark / zero-width no-break space
    (c >= 0xd800 && c <= 0xdfff); // a lone surrogate (pairs are handled by the caller)
  return escaped ? `\\u${c.toString(16).padStart(4, '0')}` : undefined;
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
  const v = unpackMap(bytes, 'header', 'header');
  const kind = v.k;
  if (kind === 'bye') {
    for (const key of Object.keys(v)) {
      if (key !== 'k') throw new FrameError(`bye header has unknown field ${peerQuoted(key)}`);
    }
    return { k: 'bye' };
  }
  if (kind !== 'msg') throw new FrameError(`header has unknown kind ${peerQuoted(kind)}`);
  for (const key of Object.keys(v)) {
    if (!MSG_KEYS.has(key)) throw new FrameError(`header has unknown field ${peerQuoted(key)}`);
  }
  const { t, s, n, c, d } = v;
  if (typeof t !== 'string') throw new FrameError('header tag is not a string');
  if (t.length === 0 || t.length > MAX_TAG_LENGTH) throw new FrameError(`header tag length ${t.length} is outside 1..${MAX_TAG_LENGTH}`);
  if (!isCount(s, Number.MAX_SAFE_INTEGER)) throw new FrameError('header seq is not a non-negative integer');
  if (n !== null && n !== undefined) {
    if (!isCount(n, Number.MAX_SAFE_INTEGER)) throw new FrameError('header payload length is not a non-negative integer');
    if (n > maxPayloadBytes) throw new FrameError(`announced payload of ${n} bytes exceeds maxPayloadBytes ${maxPayloadBytes}`);
  }
  if (c !== 'online' && c !== 'dealer') throw new FrameError(`header traffic class ${peerQuoted(c)} is not 'online' or 'dealer'`);
  if (!isCount(d, MAX_DEPTH)) throw new FrameError('header round depth is not a non-negative integer');
  const h: MsgHeader = { k: 'msg', t, s, n: n === undefined ? null : (n as number | null), c, d };
  if (Object.prototype.hasOwnProperty.call(v, 'm')) h.m = v.m;
  return h;
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
